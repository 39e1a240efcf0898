// Types of settings.js, for the tests written in TypeScript; the demo itself runs as plain JavaScript.
import type { DemoLimits } from './stores.js';

export declare const defaultAbsoluteTimeout: number;
export declare const defaultLimits: DemoLimits;
export declare function parseDuration(name: string, text: string): number;
export declare function settingsFrom(env?: Record<string, string | undefined>): DemoLimits & { absoluteTimeout: number };
