import { MemoryStore } from '../../src/index.js';
import { runConformance } from '../stores/conformance.js';

runConformance({
  name: 'MemoryStore',
  userIndex: true,
  create: async (options) => new MemoryStore({ ...options }),
});
