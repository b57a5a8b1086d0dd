import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { JobContext } from '../queue/job-handler.js';
import { DriftFoldService, windowStart } from './drift-fold.service.js';
import type { DriftReport } from './drift-metrics.js';
import { buildReferenceProfile, rowsToBatch, type DriftSchema } from './drift-profile.js';
import type { DriftWindow } from './drift-window.js';
import type { DriftRepository } from './drift.repository.js';

const CTX: JobContext = { jobId: 'q', attempt: 1, maxAttempts: 1, updateProgress: async () => {} };
const SCHEMA: DriftSchema = {
  features: [
    { name: 'x', kind: 'numeric' },
    { name: 'colour', kind: 'categorical' },
  ],
  outputs: [],
};
const COLOURS = ['red', 'green', 'blue'];
const refRow = (i: number, shift = 0) => ({ x: (i % 100) + shift, colour: COLOURS[i % 3] });
const PROFILE = JSON.parse(
  JSON.stringify(
    buildReferenceProfile(
      SCHEMA,
      rowsToBatch(
        SCHEMA,
        Array.from({ length: 300 }, (_, i) => ({ features: refRow(i) })),
      ),
    ),
  ),
) as unknown;
const HOUR = 3_600_000;
const T0 = new Date(Date.UTC(2030, 0, 1, 0, 0)); // midnight: the start of an hour window and a day window alike

type Entry = {
  seq: bigint;
  model: string;
  version: number;
  silent: boolean;
  at: Date;
  features: unknown;
  outputs: unknown;
};
type WindowRow = Record<string, any> & { versionId: string; start: Date };

/** The prediction log, profiles, windows and the fold cursor in memory; a transaction is a token checked on use. */
function fakes() {
  const log: Entry[] = [];
  const profiles = [{ versionId: 'v1', model: 'iris', number: 1, profile: PROFILE }];
  const windows = new Map<string, WindowRow>();
  const state = { cursor: 0n, committed: null as bigint | null, locked: false, transactions: 0 };
  const TX = { tx: true };
  const inTx = (tx: unknown) => assert.equal(tx, TX, 'fold reads and writes inside the locked transaction');
  const key = (w: { versionId: string; start: Date }) => `${w.versionId}@${w.start.toISOString()}`;
  const repo = {
    committedSeq: async () => state.committed ?? (log.length ? log[log.length - 1]!.seq : 0n),
    withFoldLock: async <T>(fn: (tx: unknown) => Promise<T>) => {
      if (state.locked) return null;
      state.transactions++;
      return fn(TX);
    },
    cursor: async (tx: unknown) => (inTx(tx), state.cursor),
    setCursor: async (tx: unknown, seq: bigint) => (inTx(tx), void (state.cursor = seq)),
    logPage: async (tx: unknown, after: bigint, upTo: bigint, take: number) => (
      inTx(tx),
      log.filter((e) => e.seq > after && e.seq <= upTo).slice(0, take)
    ),
    readyProfiles: async (keys: { model: string; number: number }[], tx: unknown) => (
      inTx(tx),
      profiles.filter((p) => keys.some((k) => k.model === p.model && k.number === p.number))
    ),
    windowsAt: async (tx: unknown, keys: { versionId: string; start: Date }[]) => (
      inTx(tx),
      keys.flatMap((k) => (windows.has(key(k)) ? [structuredClone(windows.get(key(k))!)] : []))
    ),
    upsertWindow: async (tx: unknown, w: WindowRow) => (inTx(tx), void windows.set(key(w), structuredClone(w))),
  } as unknown as DriftRepository;
  /** One logged request of `rows` rows at `at`, shifted by `shift` from the reference. */
  const logRequest = (at: Date, rows: number, over: Partial<Entry> = {}, shift = 0) =>
    log.push({
      seq: BigInt(log.length + 1),
      model: 'iris',
      version: 1,
      silent: false,
      at,
      features: Array.from({ length: rows }, (_, i) => refRow(i * 7, shift)),
      outputs: [],
      ...over,
    });
  return { log, profiles, windows, state, repo, logRequest };
}

describe(DriftFoldService.name, () => {
  let f: ReturnType<typeof fakes>;
  const make = (drift?: Record<string, unknown>) =>
    new DriftFoldService(f.repo, { worker: { drift } } as unknown as CommonConfig, pino({ level: 'silent' }));
  beforeEach(() => {
    f = fakes();
  });
  const win = (start: Date, versionId = 'v1') => f.windows.get(`${versionId}@${start.toISOString()}`);

  it('folds logged rows into windows aligned to DRIFT_WINDOW_MINUTES, reports each and moves the cursor', async () => {
    f.logRequest(new Date(T0.getTime() + 5 * 60_000), 30);
    f.logRequest(new Date(T0.getTime() + 59 * 60_000), 20);
    f.logRequest(new Date(T0.getTime() + HOUR + 1), 10);
    const r = await make({ windowMinutes: 60 }).handle({}, CTX);
    assert.deepEqual(r, { entries: 3, rows: 60, skipped: 0, windows: 2 });
    assert.equal(f.state.cursor, 3n);
    const first = win(T0)!;
    assert.deepEqual(
      [first.model, first.number, first.minutes, first.rows, first.silentRows, first.status],
      ['iris', 1, 60, 50, 0, 'ok'],
    );
    assert.equal((first.window as DriftWindow).rows, 50);
    assert.equal((first.report as DriftReport).rows, 50);
    assert.equal(win(new Date(T0.getTime() + HOUR))!.rows, 10);
    // Nothing new: a second run reads nothing and writes nothing.
    assert.deepEqual(await make({ windowMinutes: 60 }).handle({}, CTX), {
      entries: 0,
      rows: 0,
      skipped: 0,
      windows: 0,
    });
  });

  it('marks a window whose rows moved away from the reference as drifting, with the configured thresholds', async () => {
    f.logRequest(T0, 200, {}, 1000);
    await make({ windowMinutes: 60, thresholds: { driftShare: 0.4 } }).handle({}, CTX);
    const w = win(T0)!;
    assert.equal(w.status, 'drift');
    assert.equal(w.driftShare, 0.5);
    assert.equal((w.report as DriftReport).thresholds.driftShare, 0.4);
  });

  it('adds a later run to the window already stored, keeping its length and counting silent rows', async () => {
    f.logRequest(T0, 30);
    f.logRequest(T0, 5, { silent: true });
    await make({ windowMinutes: 60 }).handle({}, CTX);
    f.logRequest(new Date(T0.getTime() + 60_000), 12, { silent: true });
    // The window keeps the length it was created with, even after DRIFT_WINDOW_MINUTES changes.
    const r = await make({ windowMinutes: 1440 }).handle({}, CTX);
    assert.deepEqual(r, { entries: 1, rows: 12, skipped: 0, windows: 1 });
    const w = win(T0)!;
    assert.deepEqual([w.rows, w.silentRows, w.minutes], [47, 17, 60]);
    assert.equal((w.window as DriftWindow).rows, 47);
  });

  it('passes over, for good, the rows of versions without a ready profile', async () => {
    f.logRequest(T0, 5, { version: 2 });
    f.logRequest(T0, 4);
    f.logRequest(T0, 3, { model: 'wine' });
    const r = await make({ windowMinutes: 60 }).handle({}, CTX);
    assert.deepEqual(r, { entries: 3, rows: 4, skipped: 8, windows: 1 });
    assert.deepEqual(
      [...f.windows.values()].map((w) => [w.versionId, w.rows]),
      [['v1', 4]],
    );
    assert.equal(f.state.cursor, 3n);
  });

  it('reads only rows committed when the run began', async () => {
    f.logRequest(T0, 5);
    f.logRequest(T0, 6);
    f.state.committed = 1n;
    const r = await make({ windowMinutes: 60 }).handle({}, CTX);
    assert.deepEqual([r.entries, r.rows, f.state.cursor], [1, 5, 1n]);
  });

  it('answers busy and writes nothing while another worker holds the fold lock', async () => {
    f.logRequest(T0, 5);
    f.state.locked = true;
    const r = await make({ windowMinutes: 60 }).handle({}, CTX);
    assert.deepEqual(r, { entries: 0, rows: 0, skipped: 0, windows: 0, busy: true });
    assert.deepEqual([f.windows.size, f.state.cursor], [0, 0n]);
  });

  it('works a backlog off in pages of 2000 requests, at most 50,000 per run', async () => {
    for (let i = 0; i < 50_003; i++) f.logRequest(T0, 0, { version: 9 });
    const r = await make({ windowMinutes: 60 }).handle({}, CTX);
    assert.deepEqual([r.entries, f.state.transactions, f.state.cursor], [50_000, 25, 50_000n]);
    const rest = await make({ windowMinutes: 60 }).handle({}, CTX);
    assert.deepEqual([rest.entries, f.state.transactions, f.state.cursor], [3, 26, 50_003n]);
  });

  it('defaults to hour-long windows', () => {
    assert.equal(make().windowMinutes, 60);
    assert.deepEqual(windowStart(new Date(T0.getTime() + 90 * 60_000), 60), new Date(T0.getTime() + HOUR));
  });
});
