import { MemoryStore } from '../../src/index.js';
import { runConformance } from '../stores/conformance.js';

runConformance({
  name: 'MemoryStore',
  create: async (options) => new MemoryStore({ ...options }),
});
