import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import { testPrincipal } from '../auth/principal.test-support.js';
import type { Feeds, Outputs, ServedVersion, Session } from '../engine/index.js';
import { AppError } from '../platform/errors.js';
import type { PredictionLogShipper } from '../predictions/prediction-log.js';
import type { ComparisonDelta, ComparisonsRepository } from './comparisons.repository.js';
import { irisSignature, served, tensor } from './formats/formats.test-support.js';
import type { RollupsRepository } from './rollups.repository.js';
import { ROLLUP_BUCKETS_MS, type RollupsService } from './rollups.service.js';
import type { ModelState } from './served-version.js';
import type { ServingService } from './serving.service.js';
import { ShadowService } from './shadow.service.js';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const FEEDS: Feeds = { float_input: tensor('float32', new Float32Array(12), [3, 4]) };

/** Three rows of a classifier's answer: labels and [3, 3] probabilities. */
const answer = (labels: number[], probs: number[][]): Outputs => ({
  label: tensor('int64', BigInt64Array.from(labels.map(BigInt)), [3]),
  probabilities: tensor('float32', Float32Array.from(probs.flat()), [3, 3]),
});
const PROD_OUT = answer(
  [0, 1, 2],
  [
    [0.8, 0.1, 0.1],
    [0.1, 0.8, 0.1],
    [0.1, 0.1, 0.8],
  ],
);
// Agrees on two rows of three; the third row's probabilities are 0.8 apart in all, 0.8 / 3 on average.
const SILENT_OUT = answer(
  [0, 1, 1],
  [
    [0.8, 0.1, 0.1],
    [0.1, 0.8, 0.1],
    [0.1, 0.5, 0.4],
  ],
);

/** A session answering `out`, after `ms` of wall time; `fail` makes it throw like onnxruntime. */
function session(out: Outputs, opts: { ms?: number; runs?: { n: number } } = {}): Session {
  return {
    run: async () => {
      if (opts.runs) opts.runs.n++;
      if (opts.ms) await new Promise((r) => setTimeout(r, opts.ms));
      return out;
    },
  } as unknown as Session;
}

async function eventually(check: () => boolean, ms = 5000) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe(ShadowService.name, () => {
  let state: Pick<ModelState, 'production' | 'silent'>;
  let versions: Map<number, ServedVersion>;
  let observed: { version: number; role: string; failed: boolean }[];
  let logged: { rate: number; version: number; role: string; silent: boolean }[];
  let written: ComparisonDelta[][];
  let failWrites: boolean;
  let prod: ServedVersion;
  const sv = (version: number, s: Session) => served(irisSignature(), { model: 'iris', version, session: s });

  const build = (silentCpuShare = 0.05) => {
    const serving = {
      state: (m: string) => (m === 'iris' ? state : undefined),
      resolve: async (_m: string, sel: { version?: number }) => {
        const v = versions.get(sel.version!);
        if (!v) throw new AppError('NOT_FOUND', `no version ${sel.version}`);
        return v;
      },
    } as unknown as ServingService;
    const rollups = {
      observe: (_m: string, version: number, role: string, _ms: number, failed: boolean) =>
        void observed.push({ version, role, failed }),
    } as unknown as RollupsService;
    const log = {
      maybeLog: (rate: number, v: ServedVersion, role: string, silent: boolean) =>
        void logged.push({ rate, version: v.version, role, silent }),
    } as unknown as PredictionLogShipper;
    const comparisons = {
      add: async (d: ComparisonDelta[]) => {
        if (failWrites) throw new Error('connection reset');
        written.push(d);
      },
      range: async () => [],
    } as unknown as ComparisonsRepository;
    const cfg = { serving: { silentCpuShare }, rollups: { flushSeconds: 3600 } } as unknown as CommonConfig;
    return new ShadowService(
      serving,
      rollups,
      log,
      comparisons,
      {} as RollupsRepository,
      cfg,
      pino({ level: 'silent' }),
    );
  };
  /** What the next flush writes, by version, without the minute. */
  const flushed = async (sut: ShadowService) => {
    await sut.flush();
    return (written.at(-1) ?? []).map(({ minute: _, ...d }) => d);
  };
  const zero = { count: 0, rows: 0, labelAgree: 0, probAbsDiffSum: 0, valueAbsDiffSum: 0, errors: 0, dropped: 0 };

  beforeEach(() => {
    state = { production: 2, silent: [] };
    prod = sv(2, session(PROD_OUT));
    versions = new Map([
      [2, prod],
      [3, sv(3, session(SILENT_OUT))],
    ]);
    observed = [];
    logged = [];
    written = [];
    failWrites = false;
  });

  describe('mirror', () => {
    it('runs sampled silent versions on a copy after production answered, and writes how they compare', async () => {
      const runs = { n: 0 };
      versions.set(3, sv(3, session(SILENT_OUT, { runs })));
      state.silent = [
        { version: 3, sampleRate: 1 },
        { version: 4, sampleRate: 0 },
        { version: 2, sampleRate: 1 },
      ];
      const sut = build();
      sut.mirror(prod, FEEDS, PROD_OUT, 2, 0.25);
      assert.equal(runs.n, 0, 'the copy runs after the request has its answer, not within it');
      await eventually(() => observed.length === 1);
      assert.deepEqual(observed, [{ version: 3, role: 'silent', failed: false }]);
      assert.deepEqual(logged, [{ rate: 0.25, version: 3, role: 'silent', silent: true }]);
      const [d, ...rest] = await flushed(sut);
      assert.deepEqual(rest, []);
      assert.ok(Math.abs(d!.probAbsDiffSum - 0.8 / 3) < 1e-6, String(d!.probAbsDiffSum));
      assert.deepEqual(
        { ...d, probAbsDiffSum: 0 },
        { ...zero, model: 'iris', version: 3, count: 1, rows: 3, labelAgree: 2 },
      );
      // Written once: the next flush has nothing new.
      await sut.flush();
      assert.equal(written.length, 1);
    });

    it('drops copies over the concurrency cap, counting them, and never queues them', async () => {
      state.silent = [{ version: 3, sampleRate: 1 }];
      const sut = build();
      sut.mirror(prod, FEEDS, PROD_OUT, 1, 0);
      sut.mirror(prod, FEEDS, PROD_OUT, 1, 0);
      await eventually(() => observed.length === 1);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(observed.length, 1);
      const [d] = await flushed(sut);
      assert.deepEqual([d!.count, d!.dropped], [1, 1]);
    });

    it('drops copies once a slow silent version has spent its share of the CPU', async () => {
      versions.set(3, sv(3, session(SILENT_OUT, { ms: 80 })));
      state.silent = [{ version: 3, sampleRate: 1 }];
      // 5 % of a core: 50 ms of silent inference at most, refilled at 0.05 ms per ms.
      const sut = build(0.05);
      sut.mirror(prod, FEEDS, PROD_OUT, 4, 0);
      await eventually(() => observed.length === 1);
      sut.mirror(prod, FEEDS, PROD_OUT, 4, 0);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(observed.length, 1);
      const [d] = await flushed(sut);
      assert.deepEqual([d!.count, d!.dropped], [1, 1]);
    });

    it('counts a silent version that fails as an error, observed as failed, without touching the caller', async () => {
      versions.delete(3);
      state.silent = [{ version: 3, sampleRate: 1 }];
      const sut = build();
      sut.mirror(prod, FEEDS, PROD_OUT, 2, 1);
      await eventually(() => observed.length === 1);
      assert.deepEqual([observed[0]!.failed, logged], [true, []]);
      const [d] = await flushed(sut);
      assert.deepEqual([d!.count, d!.errors], [0, 1]);
    });
  });

  describe('comparePilot', () => {
    it('runs Production on the pilot’s rows, counting agreement under the pilot, not in rollups or log', async () => {
      const runs = { n: 0 };
      versions.set(2, sv(2, session(PROD_OUT, { runs })));
      const sut = build();
      sut.comparePilot(sv(3, session(SILENT_OUT)), FEEDS, SILENT_OUT, 2);
      assert.equal(runs.n, 0, 'Production runs after the pilot has answered');
      await eventually(() => runs.n === 1);
      await new Promise((r) => setTimeout(r, 5));
      const [d] = await flushed(sut);
      assert.deepEqual([d!.version, d!.count, d!.rows, d!.labelAgree], [3, 1, 3, 2]);
      assert.deepEqual([observed, logged], [[], []]);
    });

    it('compares nothing without a Production version, or when the pilot is Production', async () => {
      const sut = build();
      sut.comparePilot(prod, FEEDS, PROD_OUT, 2);
      state.production = null;
      sut.comparePilot(sv(3, session(SILENT_OUT)), FEEDS, SILENT_OUT, 2);
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(await flushed(sut), []);
    });
  });

  it('keeps the counts of a flush the database refused and writes them, added to newer ones, with the next', async () => {
    state.silent = [{ version: 3, sampleRate: 1 }];
    const sut = build();
    sut.mirror(prod, FEEDS, PROD_OUT, 2, 0);
    await eventually(() => observed.length === 1);
    failWrites = true;
    await sut.flush(); // does not throw
    assert.equal(written.length, 0);
    failWrites = false;
    sut.mirror(prod, FEEDS, PROD_OUT, 2, 0);
    await eventually(() => observed.length === 2);
    const rows = await flushed(sut);
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0]!.count, rows[0]!.rows, rows[0]!.labelAgree], [2, 6, 4]);
  });

  describe('comparison', () => {
    const minute = new Date(Date.now() - 10 * 60_000);
    const bucketsAt = (ms: number, n: number) => {
      const b = new Array<number>(ROLLUP_BUCKETS_MS.length + 1).fill(0);
      b[ROLLUP_BUCKETS_MS.findIndex((x) => ms <= x)] = n;
      return b;
    };
    const withRows = (cmp: Partial<ComparisonDelta>[], lat: Record<string, unknown>[]) => {
      const sut = build();
      const s = sut as unknown as { comparisons: ComparisonsRepository; latencyRollups: RollupsRepository };
      s.comparisons = { range: async () => cmp.map((c) => ({ ...zero, ...c })) } as unknown as ComparisonsRepository;
      s.latencyRollups = { range: async () => lat } as unknown as RollupsRepository;
      return sut;
    };

    it('sums agreement over the range and puts the candidate’s latency beside Production’s', async () => {
      const sut = withRows(
        [
          { count: 4, rows: 10, labelAgree: 9, probAbsDiffSum: 0.5, errors: 1, dropped: 2 },
          { count: 1, rows: 10, labelAgree: 7, probAbsDiffSum: 1.5 },
        ],
        [
          { version: 2, role: 'production', minute, count: 100, errors: 2, buckets: bucketsAt(0.4, 100) },
          { version: 3, role: 'silent', minute, count: 20, errors: 0, buckets: bucketsAt(60, 20) },
          { version: 4, role: 'silent', minute, count: 5, errors: 5, buckets: bucketsAt(900, 5) },
        ],
      );
      const c = await sut.comparison(testPrincipal(), 'iris', 3, {});
      assert.deepEqual(
        [c.compared, c.rows, c.dropped, c.errors, c.labelAgreement, c.meanProbAbsDiff, c.meanValueAbsDiff],
        [5, 20, 2, 1, 0.8, 0.1, 0],
      );
      assert.deepEqual(
        [c.latency.production.count, c.latency.production.errorRate, c.latency.candidate.count],
        [100, 0.02, 20],
      );
      assert.ok(c.latency.production.p50Ms! <= 0.5, String(c.latency.production.p50Ms));
      assert.ok(
        c.latency.candidate.p99Ms! > 50 && c.latency.candidate.p99Ms! <= 100,
        String(c.latency.candidate.p99Ms),
      );
      assert.ok(Math.abs(Date.parse(c.to) - Date.parse(c.from) - 3600_000) < 1000);
    });

    it('answers null ratios for a range without comparisons, 400 for a range ending before it starts', async () => {
      const c = await withRows([], []).comparison(testPrincipal(), 'iris', 3, {});
      assert.deepEqual(
        [c.labelAgreement, c.meanProbAbsDiff, c.latency.candidate.errorRate, c.latency.candidate.p50Ms],
        [null, null, null, null],
      );
      await assert.rejects(
        withRows([], []).comparison(testPrincipal(), 'iris', 3, {
          from: '2030-01-02T00:00:00Z',
          to: '2030-01-01T00:00:00Z',
        }),
        code('VALIDATION_FAILED'),
      );
      await assert.rejects(
        withRows([], []).comparison(testPrincipal({ modelAllowList: ['wine'] }), 'iris', 3, {}),
        code('FORBIDDEN'),
      );
    });
  });
});
