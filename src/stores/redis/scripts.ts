import { createHash } from 'node:crypto';

/**
 * Compare-and-set of one record: writes ARGV[2] (with a PX of ARGV[3] ms; 0 = no expiry,
 * negative = already expired, so the key is deleted) only when the key still holds ARGV[1].
 * Returns 1 when written, 0 when deleted, else the current value (nil when the key is gone:
 * a destroyed or expired session is never recreated). One key, so it runs on a cluster.
 */
export const COMPARE_AND_SET = script(compareAndSet(''));

/** The Lua of COMPARE_AND_SET, with `written` run after a write (where `ttl` is ARGV[3] as a number). */
function compareAndSet(written: string): string {
  return `
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
${written}
return 1
`;
}

/**
 * Lua that files session `sid` under the user's set `key` and makes the set outlive it: `ttl` ms
 * (0 = forever), never shortening the set (a user's other sessions may live longer than this
 * one). When the set would die first, it is given half as long again as needed, so the touches of
 * a user's sessions over the next ttl/2 find it long-lived enough and only read its expiry: the
 * check runs in every filing, in Redis, so no process can miss a session it must outlive.
 */
const FILE = `
local function file(key, sid, ttl)
  local left = redis.call('PTTL', key)
  redis.call('SADD', key, sid)
  if ttl == 0 then
    redis.call('PERSIST', key)
  elseif left == -2 or (left >= 0 and left < ttl) then
    redis.call('PEXPIRE', key, string.format('%d', ttl + math.floor(ttl / 2)))
  end
end
`;

/** Files session ARGV[1] under a user's set KEYS[1], living at least ARGV[2] ms (0 = forever). For a cluster, where the set lives in another slot than the session. */
export const FILE_UNDER_USER = script(`${FILE}
file(KEYS[1], ARGV[1], tonumber(ARGV[2]))
return 1
`);

/**
 * SET of session KEYS[1] to ARGV[1] (with a PX of ARGV[2] ms above 0; 0 = no expiry), and its
 * filing as ARGV[3] under the user's set KEYS[2], where both keys share a server: the save of a
 * store with `disableTTL`, or on a server whose PEXPIRE has no NX/GT (before Redis 7.0); else
 * the store sends plain commands, which cost Redis less.
 */
export const SET_AND_FILE = script(`${FILE}
local ttl = tonumber(ARGV[2])
if ttl == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
file(KEYS[2], ARGV[3], ttl)
return 1
`);

/** COMPARE_AND_SET of KEYS[1] with its arguments, filing ARGV[4] under the user's set KEYS[2] when written. */
export const COMPARE_SET_AND_FILE = script(FILE + compareAndSet('file(KEYS[2], ARGV[4], ttl)'));

/**
 * Lua of a login under `maxSessionsPerUser`, in two parts. `PLANNED` returns 3 unless the user's
 * set KEYS[ukey] still holds exactly the IDs a plan was made from (ARGV[at + 1] is their count,
 * the IDs follow, then the count of entries to drop and those), and then drops them; the caller
 * ends the sessions to evict. A set of IDs compared as such, so any filing, drop or eviction by
 * another process since the plan was read makes this one read and plan again.
 */
const PLANNED = `
local function planned(key, at)
  local n = tonumber(ARGV[at + 1])
  if redis.call('SCARD', key) ~= n then return false end
  for i = 1, n do
    if redis.call('SISMEMBER', key, ARGV[at + 1 + i]) == 0 then return false end
  end
  at = at + 2 + n
  for i = 1, tonumber(ARGV[at]) do redis.call('SREM', key, ARGV[at + i]) end
  return true
end
`;

/**
 * A write of a session filed under a user with `maxSessionsPerUser`, in one script where the
 * session and the user's set share a server. KEYS[1] the session, KEYS[2] the user's set,
 * KEYS[3...] the sessions to evict. ARGV[1] '1' for a compare-and-set of version ARGV[2] (then a
 * mismatch returns the current value, nil when gone), ARGV[3] the text, ARGV[4] the expiry in
 * ms (0 = none), ARGV[5] the session ID, ARGV[6] '1' when a plan follows (ARGV[7]..., see
 * PLANNED). A session already filed under the user is written and refiled (a re-save never
 * counts); one that is not returns 2 without a plan (a login: the caller reads the user's
 * sessions and plans), 3 when the plan is out of date, and is otherwise written after the drops
 * and the evictions. Returns 1 when written.
 */
export const LIMITED_SET = script(`${FILE}${PLANNED}
if ARGV[1] == '1' then
  local current = redis.call('GET', KEYS[1])
  if current ~= ARGV[2] then return current end
end
if redis.call('SISMEMBER', KEYS[2], ARGV[5]) == 0 then
  if ARGV[6] ~= '1' then return 2 end
  if not planned(KEYS[2], 6) then return 3 end
  for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
end
local ttl = tonumber(ARGV[4])
if ttl == 0 then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
file(KEYS[2], ARGV[5], ttl)
return 1
`);

/**
 * The filing half of LIMITED_SET, for a cluster (where the user's set lives in another slot than
 * the session): KEYS[1] the user's set, ARGV[1] the session ID, ARGV[2] its expiry (ms, 0 =
 * none), ARGV[3] '1' when a plan follows (ARGV[4]..., see PLANNED). Returns 1 when filed (the
 * caller then evicts and writes), 2 for a login without a plan, 3 for a plan out of date.
 */
export const LIMITED_FILE = script(`${FILE}${PLANNED}
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  if ARGV[3] ~= '1' then return 2 end
  if not planned(KEYS[1], 3) then return 3 end
end
file(KEYS[1], ARGV[1], tonumber(ARGV[2]))
return 1
`);

/**
 * A touch where PEXPIRE has no GT option (before Redis 7.0): PEXPIRE of session KEYS[1] by
 * ARGV[1] ms (above 0) and, when it exists and is filed as ARGV[2] in the user's set KEYS[2],
 * the set's expiry follows it. A touch files no session: only a write does (within the limit).
 */
export const TOUCH_AND_REFILE = script(`${FILE}
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 1 and redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then
  file(KEYS[2], ARGV[2], tonumber(ARGV[1]))
end
return 1
`);

/** The set's half of TOUCH_AND_REFILE, for a cluster: KEYS[1] the set, ARGV[1] the session, ARGV[2] its expiry. */
export const REFILE_UNDER_USER = script(`${FILE}
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  file(KEYS[1], ARGV[1], tonumber(ARGV[2]))
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
