import type { SessionRecord } from './store.js';

/**
 * Change tracking without proxies: each top-level key's JSON text, taken when a session is
 * loaded or saved, compared with the same text at the end of the request. A change deep
 * inside a nested object shows as a change of its top-level key.
 */
export type Snapshot = Map<string, string>;

/** Keys that are never copied into or out of a record: they could reach a prototype. */
export function isSafeKey(key: string): boolean {
  return key !== '__proto__' && key !== 'constructor' && key !== 'prototype';
}

/** The JSON text of each data key (everything but `cookie`), as JSON.stringify would write it. */
export function snapshot(data: object): Snapshot {
  const out: Snapshot = new Map();
  const obj = data as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (key === 'cookie') continue;
    const text = JSON.stringify(obj[key]);
    if (text !== undefined) out.set(key, text);
  }
  return out;
}

export function sameSnapshot(a: Snapshot | undefined, b: Snapshot): boolean {
  if (!a || a.size !== b.size) return false;
  for (const [key, text] of b) {
    if (a.get(key) !== text) return false;
  }
  return true;
}

/** The keys a request added or replaced, and the keys it deleted, since `base`. */
export interface Delta {
  set: string[];
  unset: string[];
}

export function diff(base: Snapshot, current: Snapshot): Delta {
  const set: string[] = [];
  const unset: string[] = [];
  for (const [key, text] of current) {
    if (base.get(key) !== text) set.push(key);
  }
  for (const key of base.keys()) {
    if (!current.has(key)) unset.push(key);
  }
  return { set, unset };
}

/**
 * The record to write when the stored record changed since it was loaded: the stored one,
 * with this request's changed keys and its cookie on top. Same-key changes: the last save wins.
 */
export function merge(stored: SessionRecord, live: object, delta: Delta): SessionRecord {
  const session = live as Record<string, unknown>;
  const merged: Record<string, unknown> = { cookie: session.cookie };
  for (const key of Object.keys(stored)) {
    if (key !== 'cookie' && isSafeKey(key)) merged[key] = stored[key];
  }
  for (const key of delta.set) merged[key] = session[key];
  for (const key of delta.unset) delete merged[key];
  return merged as SessionRecord;
}

/**
 * Brings the live session in line with a merged record after a save, so later changes in the
 * same request are measured against what the store now holds.
 */
export function adopt(live: object, merged: SessionRecord): void {
  const session = live as Record<string, unknown>;
  for (const key of Object.keys(session)) {
    if (key !== 'cookie' && !(key in merged)) delete session[key];
  }
  for (const key of Object.keys(merged)) {
    if (key === 'cookie' || !isSafeKey(key) || session[key] === merged[key]) continue;
    // Hidden and inherited names (id, req, the methods) stay as they are, as on load.
    if (key in session && !Object.prototype.propertyIsEnumerable.call(session, key)) continue;
    session[key] = merged[key];
  }
}

/**
 * Brings the live session in line with what the store now holds after a save that carried
 * other requests' changes too: only the keys whose stored text differs from `own` (the
 * session's data when it was saved) are replaced, each with a copy parsed from its text, so
 * the objects the handler holds stay its own and no two requests share one.
 */
export function adoptStored(live: object, own: Snapshot, stored: Snapshot): void {
  const session = live as Record<string, unknown>;
  for (const key of own.keys()) {
    if (!stored.has(key)) delete session[key];
  }
  for (const [key, text] of stored) {
    if (own.get(key) === text || !isSafeKey(key)) continue;
    // Hidden and inherited names (id, req, the methods) stay as they are, as on load.
    if (key in session && !Object.prototype.propertyIsEnumerable.call(session, key)) continue;
    session[key] = JSON.parse(text);
  }
}
