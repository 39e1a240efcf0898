export * from './store.js';
export { RedisTimeoutError } from '../../errors.js';
