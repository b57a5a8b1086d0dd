import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { TPutDeploymentRequest } from '@modelyard/contracts';
import type { Principal } from '../auth/principal.js';
import { recordedEvents } from '../events/events.test-support.js';
import type { JobContext } from '../queue/job-handler.js';
import type { RollupsRepository } from '../serving/rollups.repository.js';
import { ROLLUP_BUCKETS_MS } from '../serving/rollups.service.js';
import { DeploymentGuardService } from './deployment-guard.service.js';
import type { PerformanceService } from '../feedback/performance.service.js';
import type { DeploymentsRepository } from './deployments.repository.js';
import type { DeploymentsService } from './deployments.service.js';

const CTX: JobContext = { jobId: 'q', attempt: 1, maxAttempts: 1, updateProgress: async () => {} };
const GROUP = '11111111-1111-4111-8111-111111111111';
/** A histogram with every request in the bucket (500, 1000] ms, or in the first one (<= 0.5 ms). */
const buckets = (n: number, slow: boolean) =>
  [...ROLLUP_BUCKETS_MS, Infinity].map((_, i) => (i === (slow ? 13 : 0) ? n : 0));
const row = (version: number, role: string, count: number, errors: number, slow = false) => ({
  version,
  role,
  count,
  errors,
  buckets: buckets(count, slow),
});

type Row = ReturnType<typeof row>;

/** Current deployments, the rollup rows by model, the revisions the guard wrote and the log's warnings. */
function fakes() {
  const current: { model: string; modelId: string; revision: { config: unknown } }[] = [];
  const rollups: Record<string, Row[]> = {};
  const ranges: { model: string; from: Date; to: Date; version?: number }[] = [];
  const puts: { actor: Principal; model: string; body: TPutDeploymentRequest }[] = [];
  const warnings: unknown[] = [];
  /** The latest Production approval request's status by pilot version (models that require approval). */
  const approvals = new Map<number, string>();
  const repo = {
    allCurrent: async () => current,
    lastProductionApproval: async (_modelId: string, version: number) =>
      approvals.has(version) ? { status: approvals.get(version) } : null,
  } as unknown as DeploymentsRepository;
  const promotions: { actor: Principal; model: string; body: { version: number; comment: string } }[] = [];
  const deployments = {
    put: async (actor: Principal, model: string, body: TPutDeploymentRequest) => {
      puts.push({ actor, model, body });
      return { revision: puts.length + 1 };
    },
    promotePilot: async (actor: Principal, model: string, body: { version: number; comment: string }) => {
      promotions.push({ actor, model, body });
      return { transition: { outcome: 'transitioned' }, revision: { revision: 7 } };
    },
  } as unknown as DeploymentsService;
  /** The verdict PerformanceService.comparison gives per pilot version. */
  const verdicts = new Map<number, 'better' | 'worse' | 'undecided'>();
  const compared: unknown[][] = [];
  const performance = {
    comparison: async (...args: unknown[]) => {
      compared.push(args);
      const v = verdicts.get(args[2] as number) ?? 'undecided';
      return { verdict: v, summary: `pilot v${String(args[2])} accuracy: ${v}` };
    },
  } as unknown as PerformanceService;
  const rollupsRepo = {
    range: async (model: string, from: Date, to: Date, version?: number) => {
      ranges.push({ model, from, to, version });
      return (rollups[model] ?? []).filter((r) => r.version === version);
    },
  } as unknown as RollupsRepository;
  const log = Object.assign(pino({ level: 'silent' }), { warn: (o: unknown) => void warnings.push(o) });
  const deploy = (model: string, pilots: Record<string, unknown>[]) =>
    current.push({
      model,
      modelId: `${model}-id`,
      revision: { config: { production: { mode: 'stage' }, pilots, silent: [] } },
    });
  return {
    approvals,
    rollups,
    ranges,
    puts,
    promotions,
    verdicts,
    compared,
    performance,
    warnings,
    repo,
    deployments,
    rollupsRepo,
    log,
    deploy,
  };
}

describe(DeploymentGuardService.name, () => {
  let f: ReturnType<typeof fakes>;
  let events: ReturnType<typeof recordedEvents>;
  let sut: DeploymentGuardService;
  beforeEach(() => {
    f = fakes();
    events = recordedEvents();
    sut = new DeploymentGuardService(f.repo, f.deployments, f.rollupsRepo, events, f.performance, f.log);
  });

  it('switches off a pilot over its error-rate limit with a new revision and deployment.rolled_back', async () => {
    f.deploy('iris', [
      { version: 2, percentage: 10, autoRollback: { maxErrorRate: 0.05, minRequests: 20 } },
      { version: 3, groups: [GROUP] },
    ]);
    f.rollups.iris = [row(2, 'pilot', 40, 4)];
    const reason = 'error rate 10.0% > 5.0% over the last 5 min (40 requests)';
    assert.deepEqual(await sut.handle({}, CTX), { rolledBack: [{ model: 'iris', version: 2, reason }], promoted: [] });
    assert.equal(f.puts.length, 1);
    const { actor, model, body } = f.puts[0]!;
    assert.deepEqual([actor.kind, model], ['system', 'iris']);
    assert.deepEqual(
      body.config.pilots.map((p) => p.version),
      [3],
    );
    assert.deepEqual(body.config.production, { mode: 'stage' });
    assert.equal(body.comment, `auto-rollback of pilot v2: ${reason}`);
    assert.deepEqual(events.recorded, [
      {
        type: 'deployment.rolled_back',
        objectId: 'iris-id',
        data: { model: 'iris', version: 2, reason, revision: 2 },
      },
    ]);
    assert.deepEqual(f.warnings, [{ model: 'iris', version: 2, reason }]);
  });

  it('rolls back on p99 latency too, naming both reasons when both limits are passed', async () => {
    f.deploy('iris', [{ version: 2, percentage: 10, autoRollback: { maxP99Ms: 300, windowMinutes: 10 } }]);
    f.deploy('wine', [
      { version: 5, percentage: 10, autoRollback: { maxErrorRate: 0.1, maxP99Ms: 300, minRequests: 5 } },
    ]);
    f.rollups.iris = [row(2, 'pilot', 25, 0, true)];
    f.rollups.wine = [row(5, 'pilot', 10, 5, true)];
    const { rolledBack } = await sut.handle({}, CTX);
    assert.deepEqual(
      rolledBack.map((r) => r.reason),
      [
        'p99 995 ms > 300 ms over the last 10 min (25 requests)',
        'error rate 50.0% > 10.0% and p99 995 ms > 300 ms over the last 5 min (10 requests)',
      ],
    );
    assert.deepEqual(
      f.puts.map((p) => [p.model, p.body.config.pilots.length]),
      [
        ['iris', 0],
        ['wine', 0],
      ],
    );
  });

  it('leaves a pilot alone within its limits, below minRequests, or without a rule', async () => {
    f.deploy('iris', [
      { version: 2, percentage: 10, autoRollback: { maxErrorRate: 0.05, maxP99Ms: 300 } },
      { version: 3, percentage: 10, autoRollback: { maxErrorRate: 0.05, minRequests: 50 } },
      { version: 4, percentage: 10 },
    ]);
    f.rollups.iris = [row(2, 'pilot', 100, 5), row(3, 'pilot', 49, 49, true), row(4, 'pilot', 100, 100, true)];
    assert.deepEqual(await sut.handle({}, CTX), { rolledBack: [], promoted: [] });
    assert.deepEqual([f.puts.length, events.recorded.length, f.warnings.length], [0, 0, 0]);
    // The pilot without a rule is not even read.
    assert.deepEqual(
      f.ranges.map((r) => r.version),
      [2, 3],
    );
  });

  it('counts only the pilot traffic of the pilot version, not production answers of the same version', async () => {
    f.deploy('iris', [{ version: 2, percentage: 10, autoRollback: { maxErrorRate: 0.05 } }]);
    f.rollups.iris = [row(2, 'pilot', 30, 0), row(2, 'production', 500, 500)];
    assert.deepEqual(await sut.handle({}, CTX), { rolledBack: [], promoted: [] });
  });

  // Each rollback used to rebuild the config from the revision read at the start of the run, so a second pilot
  // rolled back in the same run put the first one back.
  it('rolls back two failing pilots of one model in one run and leaves neither on', async () => {
    f.deploy('iris', [
      { version: 2, percentage: 10, autoRollback: { maxErrorRate: 0.05 } },
      { version: 3, percentage: 10, autoRollback: { maxErrorRate: 0.05 } },
    ]);
    f.rollups.iris = [row(2, 'pilot', 40, 40), row(3, 'pilot', 40, 40)];
    const { rolledBack } = await sut.handle({}, CTX);
    assert.deepEqual(
      rolledBack.map((r) => r.version),
      [2, 3],
    );
    assert.deepEqual(f.puts.at(-1)!.body.config.pilots, []);
  });

  it('reads a window aligned to whole minutes, so requests late in its first minute count', async () => {
    f.deploy('iris', [{ version: 2, percentage: 10, autoRollback: { maxErrorRate: 0.05, windowMinutes: 3 } }]);
    const before = Date.now();
    await sut.handle({}, CTX);
    const { model, from, to, version } = f.ranges[0]!;
    assert.deepEqual([model, version], ['iris', 2]);
    assert.equal(from.getTime() % 60_000, 0);
    assert.ok(to.getTime() >= before);
    const span = to.getTime() - from.getTime();
    assert.ok(span >= 3 * 60_000 && span < 4 * 60_000, `window of ${span} ms`);
  });

  it('promotes a pilot its judge rule finds better, with the evidence as comment and deployment.promoted', async () => {
    const judge = { metric: 'accuracy', minLabels: 50, confidence: 0.95, windowMinutes: 60 };
    f.deploy('iris', [{ version: 2, groups: [GROUP], judge }]);
    f.verdicts.set(2, 'better');
    const r = await sut.handle({}, CTX);
    assert.deepEqual(r.promoted, [{ model: 'iris', version: 2, reason: 'pilot v2 accuracy: better' }]);
    const [modelId, model, version, metric, from, to, confidence, minLabels] = f.compared[0] as [
      string,
      string,
      number,
      string,
      Date,
      Date,
      number,
      number,
    ];
    assert.deepEqual(
      [modelId, model, version, metric, confidence, minLabels],
      ['iris-id', 'iris', 2, 'accuracy', 0.95, 50],
    );
    assert.equal(to.getTime() - from.getTime(), 60 * 60_000);
    assert.equal(f.promotions.length, 1);
    assert.equal(f.promotions[0]!.actor.kind, 'system');
    assert.deepEqual(f.promotions[0]!.body, { version: 2, comment: 'promoted by its rule: pilot v2 accuracy: better' });
    assert.deepEqual(events.recorded, [
      {
        type: 'deployment.promoted',
        objectId: 'iris-id',
        data: { model: 'iris', version: 2, reason: 'pilot v2 accuracy: better', revision: 7 },
      },
    ]);
    assert.equal(f.puts.length, 0);
  });

  it('asks for approval of a better pilot once: not again while it is pending, nor after it was rejected', async () => {
    const judge = { metric: 'accuracy', minLabels: 50 };
    f.deploy('iris', [
      { version: 2, groups: [GROUP], judge },
      { version: 3, percentage: 5, judge },
    ]);
    f.verdicts.set(2, 'better');
    f.verdicts.set(3, 'better');
    f.approvals.set(2, 'pending');
    f.approvals.set(3, 'rejected');
    assert.deepEqual(await sut.handle({}, CTX), { rolledBack: [], promoted: [] });
    assert.deepEqual([f.promotions.length, events.recorded.length], [0, 0]);
    // Approved (and so no longer in the way) or never asked: the rule acts.
    f.approvals.set(2, 'approved');
    assert.equal((await sut.handle({}, CTX)).promoted.length, 1);
  });

  it('rolls back a pilot its judge rule finds worse, and leaves an undecided one or a rule that may not act', async () => {
    const judge = { metric: 'f1', minLabels: 50 };
    f.deploy('iris', [
      { version: 2, groups: [GROUP], judge },
      { version: 3, percentage: 5, judge },
      { version: 4, percentage: 5, judge: { ...judge, rollback: false } },
    ]);
    f.verdicts.set(2, 'worse');
    f.verdicts.set(4, 'worse');
    const r = await sut.handle({}, CTX);
    const reason = 'judged worse than production: pilot v2 accuracy: worse';
    assert.deepEqual(r, { rolledBack: [{ model: 'iris', version: 2, reason }], promoted: [] });
    assert.equal(f.puts[0]!.body.comment, `auto-rollback of pilot v2: ${reason}`);
    assert.deepEqual(
      f.puts[0]!.body.config.pilots.map((p) => p.version),
      [3, 4],
    );
    assert.equal(f.promotions.length, 0);
  });
});
