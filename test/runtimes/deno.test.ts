import { describeRuntime } from './scenarios.js';

describeRuntime('deno');
