/**
 * The one-time production warning for an unbounded MemoryStore. Its own file: the warning
 * is once per process, and vitest gives each file its own.
 */
import { afterAll, expect, it, vi } from 'vitest';
import session, { MemoryStore } from '../../src/index.js';

const previous = process.env.NODE_ENV;
afterAll(() => {
  process.env.NODE_ENV = previous;
});

it('warns once when a MemoryStore without max runs with NODE_ENV=production', () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  try {
    const options = { secret: 's', resave: false, saveUninitialized: false };
    process.env.NODE_ENV = 'development';
    session(options);
    expect(warn).not.toHaveBeenCalled();

    process.env.NODE_ENV = 'production';
    const bounded = new MemoryStore({ max: 10_000, checkPeriod: 0 });
    session({ ...options, store: bounded });
    expect(warn).not.toHaveBeenCalled();

    session(options);
    const unbounded = new MemoryStore({ checkPeriod: 0 });
    session({ ...options, store: unbounded });
    session(options);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/MemoryStore without a `max`.*NODE_ENV=production/s);
    expect(String(warn.mock.calls[0]![0])).toMatch(/new MemoryStore\(\{ max \}\)/);
    bounded.close();
    unbounded.close();
  } finally {
    warn.mockRestore();
  }
});
