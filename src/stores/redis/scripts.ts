import { createHash } from 'node:crypto';

/**
 * Compare-and-set of one record: writes ARGV[2] (with a PX of ARGV[3] ms; 0 = no expiry,
 * negative = already expired, so the key is deleted) only when the key still holds ARGV[1].
 * Returns 1 when written, 0 when deleted, else the current value (nil when the key is gone:
 * a destroyed or expired session is never recreated). One key, so it runs on a cluster.
 */
export const COMPARE_AND_SET = script(`
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then return current end
local ttl = tonumber(ARGV[3])
if ttl < 0 then
  redis.call('DEL', KEYS[1])
  return 0
elseif ttl == 0 then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`);

/**
 * Files session ARGV[1] under a user's set KEYS[1], and makes the set live at least ARGV[2] ms
 * (0 = forever), never shortening it: a user's other sessions may live longer than this one.
 */
export const FILE_UNDER_USER = script(`
local before = redis.call('PTTL', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl == 0 then
  redis.call('PERSIST', KEYS[1])
elseif before == -2 or (before >= 0 and before < ttl) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`);

export interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}


export function isNoScript(err: unknown): boolean {
  return String((err as Error | null)?.message).startsWith('NOSCRIPT');
}
