import { before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CommonConfig } from '@modelyard/config';
import type { Scope } from '@modelyard/contracts';
import type { Principal } from '../auth/principal.js';
import { testPrincipal } from '../auth/principal.test-support.js';
import {
  createSession,
  feedsFromRecords,
  Tensor,
  type Feeds,
  type Outputs,
  type ServedVersion,
  type Session,
} from '../engine/index.js';
import { sharedModel } from '../onnx/onnx.test-support.js';
import { AppError } from '../platform/errors.js';
import type { PredictionLogShipper } from '../predictions/prediction-log.js';
import { irisSignature, served, values } from './formats/formats.test-support.js';
import { PredictionService, type PredictOptions } from './prediction.service.js';
import type { RateLimit, RateLimiter } from './rate-limiter.js';
import type { ModelState } from './served-version.js';
import { ServingMetrics } from './serving-metrics.js';
import type { ServingService } from './serving.service.js';
import type { ShadowService } from './shadow.service.js';

const iris = sharedModel('iris_logreg');
const ROWS = iris.samples.records!.slice(0, 3);
const GROUP = '6f0c7d1e-0000-4000-8000-000000000001';
const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
/** `select` throws or rejects alike (it answers without a promise when it can): one rejection either way. */
const settle = (f: () => unknown) => Promise.resolve().then(f);

const viewer = (over: Partial<Principal> = {}) => testPrincipal({ role: 'viewer', ...over });
const scientist = () => testPrincipal({ id: 'u2', role: 'scientist' });
const apiKey = (scopes: Scope[], over: Partial<Principal> = {}) =>
  testPrincipal({ kind: 'serviceAccount', id: 'sa1', via: 'apiKey', apiKeyId: 'k1', scopes, ...over });

/** iris: Production 2, Staging 3, alias champion -> 1; version 4 is ready but nothing deploys it. */
const irisState = (over: Partial<ModelState> = {}): ModelState => ({
  model: 'iris',
  production: 2,
  staged: new Set([2, 3]),
  aliases: new Map([['champion', 1]]),
  pilots: [],
  silent: [],
  microBatch: null,
  fingerprint: 'f',
  ...over,
});

/** What ServingService knows, in memory: states by model, and the versions this process has loaded. */
function fakeServing(session: Session) {
  const registry = new Map<string, ModelState>([['iris', irisState()]]);
  const states = new Map<string, ModelState>();
  const loaded = new Set<string>();
  const calls = { refresh: [] as string[], resolve: [] as [string, number | undefined][] };
  const sv = (model: string, version: number) => served(irisSignature(), { model, version, session });
  const serving = {
    state: (m: string) => states.get(m),
    refresh: async (m: string) => {
      calls.refresh.push(m);
      const s = registry.get(m);
      if (!s) throw new AppError('NOT_FOUND', `Model ${m} not found`);
      states.set(m, s);
      return s;
    },
    loaded: (m: string, n: number) => (loaded.has(`${m}:${n}`) ? sv(m, n) : undefined),
    resolve: async (m: string, sel: { version?: number }) => {
      calls.resolve.push([m, sel.version]);
      return sv(m, sel.version!);
    },
  } as unknown as ServingService;
  return { serving, registry, states, loaded, calls };
}

/** A session that answers like iris but only when `release()` is called: a slow model. */
function heldSession(real: Session) {
  const waiting: (() => void)[] = [];
  let runs = 0;
  const session = {
    inputNames: real.inputNames,
    outputNames: real.outputNames,
    run: async (feeds: Feeds, outputs: readonly string[]) => {
      runs++;
      await new Promise<void>((r) => waiting.push(r));
      return real.run(feeds, outputs);
    },
    release: async () => {},
  } as unknown as Session;
  return { session, release: () => waiting.splice(0).forEach((r) => r()), runs: () => runs };
}

describe(PredictionService.name, () => {
  let session: Session;
  before(async () => {
    session = await createSession(iris.bytes);
  });

  let s: ReturnType<typeof fakeServing>;
  let metrics: ServingMetrics;
  let logged: { rate: number; version: number; role: string; silent: boolean }[];
  let shadowed: { kind: 'mirror' | 'pilot'; version: number }[];
  let limiter: { takeNow: boolean; taken: string[]; refuse: AppError | null };
  const sut = (maxInflightRuns = 4) => {
    const rate = {
      takeNow: (caller: string) => {
        limiter.taken.push(`now ${caller}`);
        return limiter.takeNow;
      },
      take: async (caller: string) => {
        limiter.taken.push(`wait ${caller}`);
        if (limiter.refuse) throw limiter.refuse;
      },
    } as unknown as RateLimiter;
    const log = {
      maybeLog: (rate: number, sv: ServedVersion, role: string, silent: boolean) =>
        void logged.push({ rate, version: sv.version, role, silent }),
    } as unknown as PredictionLogShipper;
    const shadow = {
      mirror: (sv: ServedVersion) => void shadowed.push({ kind: 'mirror', version: sv.version }),
      comparePilot: (sv: ServedVersion) => void shadowed.push({ kind: 'pilot', version: sv.version }),
    } as unknown as ShadowService;
    const cfg = { serving: { maxInflightRuns } } as unknown as CommonConfig;
    return new PredictionService(s.serving, metrics, rate, log, shadow, cfg);
  };
  beforeEach(() => {
    s = fakeServing(session);
    metrics = new ServingMetrics();
    logged = [];
    shadowed = [];
    limiter = { takeNow: true, taken: [], refuse: null };
  });

  describe('select', () => {
    it('answers with the loaded Production version at once, without a promise, on the hot path', async () => {
      s.states.set('iris', irisState());
      s.loaded.add('iris:2');
      const r = sut().select(viewer(), 'iris', {});
      assert.ok(!(r instanceof Promise));
      assert.deepEqual([r.served.version, r.role], [2, 'production']);
      assert.deepEqual(s.calls, { refresh: [], resolve: [] });
    });

    it('reads the state and loads the version first when this process has neither yet', async () => {
      const r = await sut().select(viewer(), 'iris', {});
      assert.deepEqual([r.served.version, r.role], [2, 'production']);
      assert.deepEqual(s.calls, { refresh: ['iris'], resolve: [['iris', 2]] });
      await assert.rejects(
        settle(() => sut().select(viewer(), 'nope', {})),
        code('NOT_FOUND'),
      );
    });

    it('marks a version named by number or alias as explicit, unless it is the Production one', async () => {
      const p = sut();
      const role = async (sel: { version?: number; alias?: string }) => {
        const r = await p.select(viewer(), 'iris', sel);
        return [r.served.version, r.role];
      };
      assert.deepEqual(await role({ version: 3 }), [3, 'explicit']);
      assert.deepEqual(await role({ alias: 'champion' }), [1, 'explicit']);
      assert.deepEqual(await role({ version: 2 }), [2, 'production']);
      await assert.rejects(role({ alias: 'nope' }), code('NOT_FOUND'));
    });

    it('sends pilot group members to the pilot, others to Production, and no one who names a version', async () => {
      s.registry.set(
        'iris',
        irisState({ pilots: [{ version: 3, groups: [GROUP], percentage: 0, startsAt: null, endsAt: null }] }),
      );
      const p = sut();
      const member = viewer({ groups: [{ id: GROUP, name: 'beta' }] });
      const pick = async (actor: Principal, sel = {}) => {
        const r = await p.select(actor, 'iris', sel);
        return [r.served.version, r.role];
      };
      assert.deepEqual(await pick(member), [3, 'pilot']);
      assert.deepEqual(await pick(viewer()), [2, 'production']);
      assert.deepEqual(await pick(member, { version: 2 }), [2, 'production']);
    });

    it('refuses an undeployed version to a caller without predict:any-version (403), allows it above', async () => {
      const p = sut();
      await assert.rejects(
        settle(() => p.select(viewer(), 'iris', { version: 4 })),
        (e: unknown) => {
          assert.ok(code('FORBIDDEN')(e));
          assert.match((e as Error).message, /needs the predict:any-version scope/);
          return true;
        },
      );
      await assert.rejects(
        settle(() => p.select(apiKey(['predict']), 'iris', { version: 4 })),
        code('FORBIDDEN'),
      );
      assert.deepEqual(s.calls.resolve, []);
      assert.equal((await p.select(scientist(), 'iris', { version: 4 })).served.version, 4);
      assert.equal(
        (await p.select(apiKey(['predict', 'predict:any-version'], { role: 'scientist' }), 'iris', { version: 4 }))
          .role,
        'explicit',
      );
      // An aliased version is deployed: anyone may name it by number.
      assert.equal((await p.select(viewer(), 'iris', { version: 1 })).served.version, 1);
    });

    it('refuses a key without predict scope or with an allow-list without the model (403), first', () => {
      const p = sut();
      assert.throws(() => p.select(apiKey(['models:read']), 'iris', {}), code('FORBIDDEN'));
      assert.throws(() => p.select(apiKey(['predict'], { modelAllowList: ['other'] }), 'iris', {}), code('FORBIDDEN'));
      assert.deepEqual([s.calls, limiter.taken], [{ refresh: [], resolve: [] }, []]);
    });

    it('rate-limits a key under the key and a session under its user; waits when no lease is left', async () => {
      s.states.set('iris', irisState());
      s.loaded.add('iris:2');
      const limit: RateLimit = { rps: 10, burst: 10, perModelRps: 0 };
      const p = sut();
      assert.ok(!(p.select(apiKey(['predict']), 'iris', {}, limit) instanceof Promise));
      limiter.takeNow = false;
      const r = p.select(viewer({ id: 'ada' }), 'iris', {}, limit);
      assert.ok(r instanceof Promise);
      assert.equal((await r).served.version, 2);
      assert.deepEqual(limiter.taken, ['now key:k1', 'now user:ada', 'wait user:ada']);
      limiter.refuse = new AppError('RATE_LIMITED', 'slow down');
      await assert.rejects(
        settle(() => p.select(viewer(), 'iris', {}, limit)),
        code('RATE_LIMITED'),
      );
    });
  });

  describe('run', () => {
    const feeds = () => feedsFromRecords(irisSignature(), ROWS, { maxRows: 100 });
    const opts = (over: Partial<PredictOptions> = {}): PredictOptions => ({ timeoutMs: 5000, ...over });
    const sv = (version = 2, sess: Session = session) =>
      served(irisSignature(), { model: 'iris', version, session: sess });
    const count = async (c: { get(): Promise<{ values: { value: number }[] }> }) =>
      (await c.get()).values.reduce((n, v) => n + v.value, 0);

    it('answers the outputs, logs the sample share and mirrors Production traffic to silent versions', async () => {
      const out = await sut().run(sv(), feeds(), opts({ logSampleRate: 0.5 }));
      assert.deepEqual(Object.keys(out).sort(), ['label', 'probabilities']);
      assert.deepEqual(values(out.label).map(Number), iris.samples.expected.label!.slice(0, 3).map(Number));
      assert.deepEqual(logged, [{ rate: 0.5, version: 2, role: 'production', silent: false }]);
      assert.deepEqual(shadowed, [{ kind: 'mirror', version: 2 }]);
    });

    it('compares a pilot’s answers instead of mirroring them; mirrors nothing for a filtered request', async () => {
      const p = sut();
      await p.run(sv(3), feeds(), opts({ role: 'pilot' }));
      const filtered = await p.run(sv(), feeds(), opts({ outputs: ['label'] }));
      await p.run(sv(4), feeds(), opts({ role: 'explicit' }));
      assert.deepEqual(Object.keys(filtered), ['label']);
      assert.deepEqual(shadowed, [{ kind: 'pilot', version: 3 }]);
      assert.deepEqual(
        logged.map((l) => l.role),
        ['pilot', 'production', 'explicit'],
      );
    });

    it('refuses outputs the model does not have (400), naming them, without running', async () => {
      const held = heldSession(session);
      await assert.rejects(
        sut().run(sv(2, held.session), feeds(), opts({ outputs: ['label', 'nope'] })),
        (e: unknown) => {
          assert.ok(code('BAD_REQUEST')(e));
          assert.match((e as Error).message, /Unknown output\(s\) nope \(the model returns label, probabilities\)/);
          return true;
        },
      );
      assert.equal(held.runs(), 0);
    });

    it('turns what onnxruntime refuses in an input into a 400, not a 500', async () => {
      const bad: Feeds = { float_input: new Tensor('float32', new Float32Array(3), [1, 3]) };
      await assert.rejects(sut().run(sv(), bad, opts()), (e: unknown) => {
        assert.ok(code('BAD_REQUEST')(e));
        assert.match((e as Error).message, /^The model could not run on this input: /);
        return true;
      });
      assert.deepEqual([logged, shadowed], [[], []]);
    });

    it('answers 503 once the budget has passed, and gives the run’s slot back when it finishes', async () => {
      const held = heldSession(session);
      const p = sut(1);
      await assert.rejects(p.run(sv(2, held.session), feeds(), opts({ timeoutMs: 20 })), (e: unknown) => {
        assert.ok(code('NOT_READY')(e));
        assert.deepEqual((e as AppError).details, { timeout: true });
        return true;
      });
      assert.equal(await count(metrics.timeouts), 1);
      held.release();
      // With one slot per process, the next run only starts if the late one gave its slot back.
      const next = await p.run(sv(), feeds(), opts({ timeoutMs: 2000 }));
      assert.ok(next.label);
    });

    it('drops a run that waited for a slot past its budget (503) without starting it', async () => {
      const held = heldSession(session);
      const p = sut(1);
      const first = p.run(sv(2, held.session), feeds(), opts({ timeoutMs: 5000 }));
      await assert.rejects(p.run(sv(2, held.session), feeds(), opts({ timeoutMs: 20 })), code('NOT_READY'));
      // The slot frees after the budget: the waiting run is dropped then, never started. Node's timers run on the
      // loop's clock, which a busy iteration leaves behind performance.now(), so the 503 may come a little before
      // the deadline the gate checks: free the slot once that deadline has surely passed.
      await new Promise((r) => setTimeout(r, 10));
      held.release();
      await first;
      assert.equal(held.runs(), 1);
      assert.equal(await count(metrics.runsDropped), 1);
    });

    it('merges concurrent requests of a micro-batching model into one run, each with its own rows', async () => {
      s.states.set('iris', irisState({ microBatch: { maxBatchRows: 64, maxWaitUs: 2000 } }));
      let runs = 0;
      const counting = {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        run: (f: Feeds, o: readonly string[]): Promise<Outputs> => {
          runs++;
          return session.run(f, o);
        },
      } as unknown as Session;
      const p = sut();
      // One loaded version (the pool hands every request the same object): its requests share a queue.
      const v2 = sv(2, counting);
      const one = (i: number) => p.run(v2, feedsFromRecords(irisSignature(), [ROWS[i]!], { maxRows: 1 }), opts());
      const outs = await Promise.all([one(0), one(1), one(2)]);
      assert.equal(runs, 1);
      assert.deepEqual(
        outs.map((o) => Number(values(o.label)[0])),
        iris.samples.expected.label!.slice(0, 3).map(Number),
      );
    });
  });
});
