import { describeRuntime } from './scenarios.js';

describeRuntime('bun');
