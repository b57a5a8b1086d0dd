import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { PrismaService } from '../db/prisma.service.js';
import type { RedisService } from '../platform/redis.service.js';
import { HealthService } from './health.service.js';

const down = (message: string) => async () => {
  throw new Error(message);
};

/** Postgres and Redis that answer or fail as told, and the log's warnings and infos. */
function fakes() {
  const state = {
    db: async (): Promise<unknown> => [{ '?column?': 1 }],
    redis: async (): Promise<void> => {},
    queries: [] as string[],
  };
  const logged: [string, unknown][] = [];
  const db = {
    client: {
      $queryRaw: (sql: TemplateStringsArray) => {
        state.queries.push(sql.join('?'));
        return state.db();
      },
    },
  } as unknown as PrismaService;
  const redis = { ping: () => state.redis() } as unknown as RedisService;
  const log = Object.assign(pino({ level: 'silent' }), {
    warn: (o: unknown) => void logged.push(['warn', o]),
    info: (o: unknown) => void logged.push(['info', o]),
  });
  return { state, logged, db, redis, log };
}

describe(HealthService.name, () => {
  let f: ReturnType<typeof fakes>;
  let sut: HealthService;
  beforeEach(() => {
    f = fakes();
    sut = new HealthService(f.db, f.redis, f.log);
  });
  afterEach(() => mock.timers.reset());

  it('is ready with every check passing, and reports each', async () => {
    sut.register('models-warm', async () => {});
    assert.deepEqual(await sut.readiness(), {
      ready: true,
      checks: { database: { ok: true }, redis: { ok: true }, 'models-warm': { ok: true } },
    });
    assert.deepEqual(f.state.queries, ['SELECT 1']);
    assert.deepEqual(f.logged, []);
  });

  it('stays ready through a Postgres or Redis outage, reporting it, so warm replicas keep answering', async () => {
    f.state.db = down('connection refused');
    f.state.redis = down('Connection is closed.');
    assert.deepEqual(await sut.readiness(), {
      ready: true,
      checks: { database: { ok: false }, redis: { ok: false } },
    });
  });

  it('is not ready while a registered check fails', async () => {
    sut.register('models-warm', down('iris v3 is still loading'));
    const r = await sut.readiness();
    assert.equal(r.ready, false);
    assert.deepEqual(r.checks['models-warm'], { ok: false });
  });

  it('fails a check that does not answer within 2 s', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    sut.register('models-warm', () => new Promise<void>(() => {}));
    const pending = sut.readiness();
    mock.timers.tick(1999);
    const early = await Promise.race([
      pending.then(() => 'answered'),
      new Promise((resolve) => setImmediate(() => resolve('waiting'))),
    ]);
    assert.equal(early, 'waiting');
    mock.timers.tick(1);
    const r = await pending;
    assert.deepEqual([r.ready, r.checks['models-warm']], [false, { ok: false }]);
    assert.match(String((f.logged[0]![1] as { err: Error }).err.message), /timed out after 2000 ms/);
  });

  it('logs a failing check once per reason and its recovery once, not on every probe', async () => {
    f.state.redis = down('Connection is closed.');
    await sut.readiness();
    await sut.readiness();
    f.state.redis = down('READONLY');
    await sut.readiness();
    f.state.redis = async () => {};
    await sut.readiness();
    await sut.readiness();
    assert.deepEqual(
      f.logged.map(([level, o]) => [level, (o as { check: string }).check]),
      [
        ['warn', 'redis'],
        ['warn', 'redis'],
        ['info', 'redis'],
      ],
    );
  });
});
