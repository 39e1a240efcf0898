import { isSafeKey, snapshot, type Snapshot } from '../core/changes.js';
import { debug } from '../core/debug.js';
import type { AtomicStore, SessionRecord } from '../core/store.js';
import { SessionConflictError } from '../errors.js';

/**
 * How many times a conditional write merges and retries before it reports a conflict error.
 * Saves of one session in this process go out together (see `commit`), so only writers in other
 * processes compete here, and a short random pause after each lost round spreads them out.
 */
const MAX_MERGE_ATTEMPTS = 64;

/** One request's save of a loaded session, as the group write needs it. */
export interface GroupSave {
  /** The live session: the cookie of the last save in a group is the one written. */
  readonly session: object;
  /** The session's data when it was saved. */
  readonly now: Snapshot;
  /** The stored text the request knows (loaded or last written): the version its write expects. */
  readonly text: () => string;
  /** The data the store held as far as the request knows: its changes are measured from it. */
  readonly base: () => Snapshot | undefined;
  /** The write that carried this save landed as `version`, the store now holding `data`. */
  landed(version: string, data: Snapshot): void;
  /** The record was gone (destroyed or expired): nothing was written. */
  gone(): void;
}

interface Queued {
  save: GroupSave;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The saves of one session in this process: the write under way, the saves waiting for it, what it stored. */
interface Turns {
  writing: boolean;
  queue: Queued[];
  /** What the last write of this process stored: the base of the next write, so it needs no round trip to learn it. */
  known: { version: string; data: Snapshot } | undefined;
}

const turnsByStore = new WeakMap<object, Map<string, Turns>>();

/**
 * Saves a session with a conditional write. While a write of the same session (same store, same
 * ID) is under way in this process, saves wait for it, then all that waited go out as one write
 * that carries the changes of each, in the order they were saved (same key: the last save wins).
 * A busy session then costs one write per round trip, not one per request, and thirty
 * overlapping requests still keep thirty changes. Each save is answered when the write that
 * carried it landed; when it fails, every save it carried fails with it.
 */
export function commit(atomic: AtomicStore, id: string, save: GroupSave): Promise<void> {
  let sessions = turnsByStore.get(atomic);
  if (!sessions) turnsByStore.set(atomic, (sessions = new Map()));
  let turns = sessions.get(id);
  if (!turns) sessions.set(id, (turns = { writing: false, queue: [], known: undefined }));
  const waiting = turns;
  const done = new Promise<void>((resolve, reject) => waiting.queue.push({ save, resolve, reject }));
  if (!waiting.writing) void drain(atomic, id, waiting, sessions);
  return done;
}

async function drain(atomic: AtomicStore, id: string, turns: Turns, sessions: Map<string, Turns>): Promise<void> {
  turns.writing = true;
  while (turns.queue.length > 0) {
    const group = turns.queue;
    turns.queue = [];
    try {
      await write(atomic, id, turns, group.map((queued) => queued.save));
      for (const queued of group) queued.resolve();
    } catch (err) {
      turns.known = undefined;
      for (const queued of group) queued.reject(err);
    }
  }
  turns.writing = false;
  if (sessions.get(id) === turns) sessions.delete(id);
}

/**
 * One conditional write for a group of saves. A lone save whose version is current writes its
 * session whole (one round trip when nobody else wrote); otherwise each save's changes are laid
 * over what the store holds, as far as this process knows, and on a conflict over what the store
 * answered with. A record that is gone stays gone.
 */
async function write(atomic: AtomicStore, id: string, turns: Turns, group: GroupSave[]): Promise<void> {
  const first = group[0]!;
  const last = group[group.length - 1]!;
  const { known } = turns;
  let version: string;
  let stored: Snapshot | undefined;
  if (group.length === 1 && (!known || known.version === first.text())) {
    version = first.text();
    stored = undefined;
  } else if (known) {
    version = known.version;
    stored = known.data;
  } else {
    version = first.text();
    stored = first.base() ?? new Map();
  }
  for (let attempt = 0; attempt < MAX_MERGE_ATTEMPTS; attempt++) {
    const data = stored ? laid(stored, group) : last.now;
    const record = stored ? recordOf(last.session, data) : (last.session as SessionRecord);
    const result = await atomic.setIfVersion(id, version, record);
    if (result.written) {
      turns.known = { version: result.version, data };
      for (const save of group) save.landed(result.version, data);
      return;
    }
    if (!result.current) {
      debug('session %s: gone from the store while this request ran; not written back', id);
      turns.known = undefined;
      for (const save of group) save.gone();
      return;
    }
    debug('session %s: changed in the store since it was loaded; merging (attempt %d)', id, attempt + 1);
    version = result.current.version;
    stored = snapshot(result.current.record);
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));
  }
  throw new SessionConflictError(id, MAX_MERGE_ATTEMPTS);
}

/** The stored data with each save's changes (the keys it set or deleted since its base) on top, in order. */
function laid(stored: Snapshot, group: GroupSave[]): Snapshot {
  const data: Snapshot = new Map(stored);
  for (const save of group) {
    const base = save.base() ?? new Map<string, string>();
    for (const [key, text] of save.now) {
      if (base.get(key) !== text) data.set(key, text);
    }
    for (const key of base.keys()) {
      if (!save.now.has(key)) data.delete(key);
    }
  }
  return data;
}

/** A record of `data` with the session's cookie; each value parsed from its text, so no request's live objects are shared. */
function recordOf(session: object, data: Snapshot): SessionRecord {
  const record: Record<string, unknown> = { cookie: (session as SessionRecord).cookie };
  for (const [key, text] of data) {
    if (isSafeKey(key)) record[key] = JSON.parse(text);
  }
  return record as SessionRecord;
}
