// Saves of one busy session that queue behind a write under way go out as one conditional write
// (a group commit): each change kept, each request answered once the write that carried it landed,
// a failed write failing each request it carried, a destroyed session staying gone.
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session, { MemoryStore } from '../../src/index.js';
import type { SessionRecord } from '../../src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A MemoryStore whose conditional writes wait for the test to let them through, as writes to a
 * remote store wait for their round trip; it counts them and can fail one.
 */
class GatedStore extends MemoryStore {
  writes = 0;
  /** Requests whose handler has answered (their save is queued from then on). */
  answered = 0;
  /** The 1-based write that fails instead of reaching the store. */
  failing = 0;
  /** The keys of each record written, in the order the writes landed. */
  landed: string[][] = [];
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open();
  }

  override async setIfVersion(sid: string, version: string, record: SessionRecord) {
    const write = ++this.writes;
    await this.gate;
    if (write === this.failing) throw new Error('the store is unreachable');
    const result = await super.setIfVersion(sid, version, record);
    if (result.written) this.landed.push(Object.keys(record).filter((key) => key !== 'cookie'));
    return result;
  }
}

function app(store: GatedStore) {
  const a = express();
  a.use(session({ secret: 'group commit', store, resave: false, saveUninitialized: false }));
  a.get('/set/:key', (req, res) => {
    (req.session as unknown as Record<string, string>)[req.params.key] = req.params.key;
    res.send('ok');
    store.answered++;
  });
  a.get('/logout', (req, res) => req.session.destroy(() => res.send('out')));
  a.get('/data', (req, res) => res.json(req.session));
  return a;
}

/** Sends a request now and resolves with its response, answered by the time `landed` is read. */
function send(agent: ReturnType<typeof request.agent>, path: string, store: GatedStore) {
  return agent.get(path).then((res) => ({ status: res.status, text: res.text, landed: store.landed.flat() }));
}

/** A session in the store, with one key set, and the agent that carries its cookie. */
async function started(store: GatedStore) {
  const agent = request.agent(app(store));
  await agent.get('/set/start').expect(200);
  store.writes = 0;
  store.answered = 0;
  store.landed = [];
  return agent;
}

describe('group commit: saves of one session queued behind a write go out as one write', () => {
  it('keeps 30 overlapping changes with two writes, each request answered once its change landed', async () => {
    const store = new GatedStore();
    const agent = await started(store);
    store.hold();
    const first = send(agent, '/set/k0', store);
    while (store.writes < 1) await sleep(5);
    const rest = Array.from({ length: 29 }, (_, i) => send(agent, `/set/k${i + 1}`, store));
    // Let the 29 requests load, change and queue their saves behind the write under way: each
    // queues when its handler answers, however long a loaded machine takes to get there.
    while (store.answered < 30) await sleep(5);
    await sleep(20);
    expect(store.writes).toBe(1);
    store.release();
    const answers = await Promise.all([first, ...rest]);
    expect(store.writes).toBe(2);
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expect(answer.landed).toContain(`k${i}`);
    });
    const { body } = await agent.get('/data');
    for (let i = 0; i < 30; i++) expect(body[`k${i}`]).toBe(`k${i}`);
    expect(body.start).toBe('start');
  });

  it('fails each request a failed group write carried, and only those', async () => {
    const store = new GatedStore();
    const agent = await started(store);
    store.hold();
    store.failing = 2;
    const first = send(agent, '/set/a', store);
    while (store.writes < 1) await sleep(5);
    const group = ['b', 'c', 'd', 'e'].map((key) => send(agent, `/set/${key}`, store));
    while (store.answered < 5) await sleep(5);
    await sleep(20);
    store.release();
    expect((await first).status).toBe(200);
    for (const answer of await Promise.all(group)) expect(answer.status).toBe(500);
    expect(store.writes).toBe(2);
    const { body } = await agent.get('/data');
    expect(body.a).toBe('a');
    for (const key of ['b', 'c', 'd', 'e']) expect(body[key]).toBeUndefined();
  });

  it('does not bring back a session destroyed while saves of it were queued', async () => {
    const store = new GatedStore();
    const agent = await started(store);
    const { body: before } = await agent.get('/data');
    expect(before.start).toBe('start');
    store.hold();
    const first = send(agent, '/set/a', store);
    while (store.writes < 1) await sleep(5);
    const group = ['b', 'c', 'd'].map((key) => send(agent, `/set/${key}`, store));
    while (store.answered < 4) await sleep(5);
    await sleep(20);
    await agent.get('/logout').expect('out');
    store.release();
    for (const answer of await Promise.all([first, ...group])) expect(answer.status).toBe(200);
    expect(store.landed).toEqual([]);
    expect(await store.length()).toBe(0);
  });

  it('writes a later group over what the last write stored, with no conflict round trip', async () => {
    const store = new GatedStore();
    const agent = await started(store);
    store.hold();
    const first = send(agent, '/set/a', store);
    while (store.writes < 1) await sleep(5);
    const second = ['b', 'c'].map((key) => send(agent, `/set/${key}`, store));
    while (store.answered < 3) await sleep(5);
    await sleep(20);
    store.release();
    await Promise.all([first, ...second]);
    // Each of b and c loaded the record before a landed; the group write still went out once.
    expect(store.writes).toBe(2);
    expect(store.landed).toEqual([['start', 'a'], ['start', 'a', 'b', 'c']]);
  });
});
