import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { RedisService } from '../platform/redis.service.js';
import type { JobContext } from '../queue/job-handler.js';
import { PredictionIngestService } from './prediction-ingest.service.js';
import type { PredictionLogEntry } from './prediction-log.js';
import type { PredictionLogRepository } from './prediction-log.repository.js';

const CTX: JobContext = { jobId: 'q', attempt: 1, maxAttempts: 1, updateProgress: async () => {} };
const PID = '0b0e3f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const AT = '2030-01-01T00:00:00.000Z';
const entry = (n: number, over: Partial<PredictionLogEntry> = {}): PredictionLogEntry => ({
  model: 'iris',
  version: 2,
  role: 'production',
  silent: false,
  at: AT,
  features: [{ x: n }],
  outputs: [{ label: n % 3 }],
  latencyMs: 1.5,
  ...over,
});

/** The Redis list the api appends to (under the install prefix), the rows inserted, and the log's infos. */
function fakes() {
  const lists = new Map<string, string[]>();
  const pops: number[] = [];
  const inserts: Record<string, unknown>[][] = [];
  const infos: unknown[] = [];
  const redis = {
    key: (...parts: string[]) => ['my', ...parts].join(':'),
    client: {
      lpop: async (key: string, count: number) => {
        pops.push(count);
        const list = lists.get(key) ?? [];
        return list.length ? list.splice(0, count) : null;
      },
    },
  } as unknown as RedisService;
  const repo = {
    insertMany: async (rows: Record<string, unknown>[]) => void inserts.push(rows),
  } as unknown as PredictionLogRepository;
  const log = Object.assign(pino({ level: 'silent' }), { info: (o: unknown) => void infos.push(o) });
  const push = (...items: string[]) =>
    lists.set('my:prediction-log', [...(lists.get('my:prediction-log') ?? []), ...items]);
  return { lists, pops, inserts, infos, redis, repo, log, push };
}

describe(PredictionIngestService.name, () => {
  let f: ReturnType<typeof fakes>;
  let sut: PredictionIngestService;
  beforeEach(() => {
    f = fakes();
    sut = new PredictionIngestService(f.redis, f.repo, f.log);
  });

  it('moves logged predictions from the Redis list into Postgres rows, timestamps as dates, with their trace', async () => {
    const trace = { predictionId: PID, entityIds: ['order-7'], callerGroups: ['beta'] };
    f.push(JSON.stringify(entry(1)), JSON.stringify(entry(2, { role: 'silent', silent: true, version: 3, ...trace })));
    assert.deepEqual(await sut.handle({}, CTX), { stored: 2, skipped: 0 });
    assert.deepEqual(f.inserts, [
      [
        {
          model: 'iris',
          version: 2,
          role: 'production',
          silent: false,
          at: new Date(AT),
          features: [{ x: 1 }],
          outputs: [{ label: 1 }],
          latencyMs: 1.5,
          predictionId: null,
          entityIds: [],
          callerGroups: [],
        },
        {
          model: 'iris',
          version: 3,
          role: 'silent',
          silent: true,
          at: new Date(AT),
          features: [{ x: 2 }],
          outputs: [{ label: 2 }],
          latencyMs: 1.5,
          ...trace,
        },
      ],
    ]);
    assert.deepEqual(f.lists.get('my:prediction-log'), []);
    assert.deepEqual(f.infos, [{ stored: 2, skipped: 0 }]);
  });

  it('keeps a malformed trace out of the row instead of failing the chunk', async () => {
    const hostile = { predictionId: 'x; DROP', entityIds: [1, 'e'], callerGroups: 'g' };
    f.push(JSON.stringify(entry(1, hostile as unknown as Partial<PredictionLogEntry>)));
    assert.deepEqual(await sut.handle({}, CTX), { stored: 1, skipped: 0 });
    const r = f.inserts[0]![0]!;
    assert.deepEqual([r.predictionId, r.entityIds, r.callerGroups], [null, ['e'], []]);
  });

  it('skips an entry that is not JSON and stores the rest of its chunk', async () => {
    f.push(JSON.stringify(entry(1)), '{not json', JSON.stringify(entry(3)));
    assert.deepEqual(await sut.handle({}, CTX), { stored: 2, skipped: 1 });
    assert.deepEqual(
      f.inserts[0]!.map((r) => r.features),
      [[{ x: 1 }], [{ x: 3 }]],
    );
  });

  it('drains in chunks of 2000 and at most 50,000 entries a run, leaving the rest for the next', async () => {
    f.push(...Array.from({ length: 50_005 }, (_, i) => JSON.stringify(entry(i))));
    assert.deepEqual(await sut.handle({}, CTX), { stored: 50_000, skipped: 0 });
    assert.deepEqual([f.inserts.length, f.inserts[0]!.length, new Set(f.pops).size, f.pops[0]], [25, 2000, 1, 2000]);
    assert.equal(f.lists.get('my:prediction-log')!.length, 5);
    assert.deepEqual(await sut.handle({}, CTX), { stored: 5, skipped: 0 });
  });

  it('does nothing and logs nothing when the list is empty', async () => {
    assert.deepEqual(await sut.handle({}, CTX), { stored: 0, skipped: 0 });
    assert.deepEqual([f.inserts.length, f.infos.length], [0, 0]);
  });
});
