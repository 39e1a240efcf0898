// Types of build.js, for the tests written in TypeScript; the demo itself runs as plain JavaScript.
export declare const packageRoot: string;
export declare function buildNeeded(root?: string): string | null;
export declare function buildIfNeeded(root?: string): boolean;
