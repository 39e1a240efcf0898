import { createHash } from 'node:crypto';

/** What the page shows for a session: a short hash, never the session ID that would log one in. */
export function handleOf(id) {
  return createHash('sha256').update(String(id)).digest('base64url').slice(0, 12);
}

/** The session middleware's events the demo records, and how the activity list words them. */
const described = {
  created: () => 'Session started',
  // A plain regenerate is the demo's login: a new session under a new ID, nothing kept.
  regenerated: ({ keepData, rotated }) => (rotated
    ? 'Session ID rotated, the session kept'
    : keepData ? 'New session ID, the session kept' : 'Logged in: a new session under a new ID'),
  destroyed: () => 'Logged out',
  expired: ({ reason }) => (reason === 'idle' ? 'Ended: unused for too long' : 'Ended: its time since login ran out'),
  conflict: () => 'Two requests changed the session at once; both changes kept',
};

/** The event names the demo listens to on its session middleware. */
export const sessionEvents = Object.keys(described);

/**
 * The last events of this process's sessions (at most `size`), for the sessions page and the
 * console: who, what, when, and the session's handle (never its ID). `log` gets one line per
 * event when given (the server prints them).
 */
export class Audit {
  constructor({ size = 200, log } = {}) {
    this.size = size;
    this.log = log;
    this.entries = [];
  }

  /** Records a session middleware event (its payload as the middleware emits it). */
  event(name, payload) {
    const text = described[name]?.(payload) ?? name;
    this.add({ event: name, userId: payload.userId, handle: handleOf(payload.sessionId), text });
  }

  /** Records something the app did to a session: the user, the session's handle, and what. */
  add({ event, userId, handle, text }) {
    const entry = { at: Date.now(), event, userId: userId === undefined || userId === null ? undefined : String(userId), handle, text };
    this.entries.push(entry);
    if (this.entries.length > this.size) this.entries.splice(0, this.entries.length - this.size);
    this.log?.(`session ${event}: ${entry.userId ?? '(anonymous)'} ${handle}: ${text}`);
  }

  /** The user's last `count` entries, newest first. */
  of(userId, count = 10) {
    const user = String(userId);
    const out = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < count; i--) {
      if (this.entries[i].userId === user) out.push(this.entries[i]);
    }
    return out;
  }
}
