import { MemoryStore } from '../../src/index.js';
import { lifecycleCases } from './lifecycle-cases.js';

lifecycleCases({ name: 'MemoryStore', create: async () => new MemoryStore() });
