import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ZAlertQuery,
  ZAlertRule,
  ZPutAlertRulesRequest,
  ZSloQuery,
  type Role,
  type TAlertRule,
} from '@modelyard/contracts';
import { testPrincipal } from '../auth/principal.test-support.js';
import { recordedEvents } from '../events/events.test-support.js';
import { AppError } from '../platform/errors.js';
import type { RegistryRepository } from '../registry/registry.repository.js';
import type { RollupsRepository } from '../serving/rollups.repository.js';
import { ROLLUP_BUCKETS_MS } from '../serving/rollups.service.js';
import type { AlertsRepository } from './alerts.repository.js';
import { AlertsService, DEFAULT_LATENCY_SLO_MS, ruleId, storedRules } from './alerts.service.js';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const person = (role: Role, over: { modelAllowList?: string[] } = {}) =>
  testPrincipal({ id: `${role}-1`, name: role, role, ...over });
const put = (body: unknown) => ZPutAlertRulesRequest.parse(body);
const SHARE = { kind: 'drift_share', above: 0.3 };
const ERRORS = { kind: 'error_rate', above: 0.05, windowMinutes: 10 };
const UPDATED = new Date(Date.UTC(2030, 0, 1));

/** Two models, their rule sets, their alerts and their rollup rows, in memory. */
function fakes() {
  const models: Record<string, string> = { iris: 'm1', wine: 'm2' };
  const sets = new Map<string, { latencySloMs: number; rules: unknown; updatedByName: string | null }>();
  const alerts: Record<string, unknown>[] = [];
  const rollups: { model: string; version?: number; role: string; count: number; errors: number; buckets: number[] }[] =
    [];
  const ranges: unknown[][] = [];
  const repo = {
    findRules: async (modelId: string) => (sets.has(modelId) ? { ...sets.get(modelId)!, updatedAt: UPDATED } : null),
    putRules: async (modelId: string, data: { latencySloMs: number; rules: unknown; updatedByName: string | null }) => {
      sets.set(modelId, structuredClone(data));
      return { ...data, updatedAt: UPDATED };
    },
    list: async (q: { model?: string; state?: string; limit: number }) =>
      alerts
        .filter((a) => (!q.model || a.modelName === q.model) && (!q.state || a.state === q.state))
        .slice(0, q.limit),
  } as unknown as AlertsRepository;
  const registry = {
    findModel: async (name: string) => (models[name] ? { id: models[name], name } : null),
  } as unknown as RegistryRepository;
  const rollupsRepo = {
    range: async (model: string, from: Date, to: Date, version?: number) => {
      ranges.push([model, from, to, version]);
      return rollups.filter((r) => r.model === model && (version === undefined || r.version === version));
    },
  } as unknown as RollupsRepository;
  return { sets, alerts, rollups, ranges, repo, registry, rollupsRepo };
}

const alertRow = (id: string, modelName: string, over: Record<string, unknown> = {}) => ({
  id,
  modelName,
  version: 1,
  ruleId: 'r1',
  kind: 'error_rate',
  state: 'firing',
  silent: false,
  message: 'Errors above 5 %',
  value: 0.1,
  threshold: 0.05,
  details: null,
  firedAt: UPDATED,
  resolvedAt: null,
  ...over,
});

describe(AlertsService.name, () => {
  let f: ReturnType<typeof fakes>;
  let events: ReturnType<typeof recordedEvents>;
  let sut: AlertsService;
  beforeEach(() => {
    f = fakes();
    events = recordedEvents();
    sut = new AlertsService(f.repo, f.registry, events, f.rollupsRepo);
  });

  describe('rule ids', () => {
    it('keeps the caller id, and derives one from what the rule says otherwise', () => {
      assert.equal(ruleId(ZAlertRule.parse({ ...SHARE, id: 'mine' })), 'mine');
      const derived = ruleId(ZAlertRule.parse(SHARE));
      assert.match(derived, /^drift_share-[0-9a-f]{10}$/);
      // The same rule, re-sent with another description or key order, keeps its id; another threshold does not.
      assert.equal(ruleId(ZAlertRule.parse({ above: 0.3, description: 'why', kind: 'drift_share' })), derived);
      assert.notEqual(ruleId(ZAlertRule.parse({ ...SHARE, above: 0.4 })), derived);
      // Key order never matters, parsed or not.
      const written: TAlertRule = { minRows: 50, above: 0.3, kind: 'drift_share' };
      assert.equal(ruleId(written), derived);
    });

    it('reads stored rules again, dropping one the schema now refuses and filling defaults', () => {
      const rules = storedRules([SHARE, { kind: 'gone' }, { ...ERRORS, id: 'e' }]);
      assert.deepEqual(rules, [
        { ...SHARE, minRows: 50, id: ruleId(ZAlertRule.parse(SHARE)) },
        { ...ERRORS, minRequests: 20, id: 'e' },
      ]);
      assert.deepEqual(storedRules(null), []);
    });
  });

  describe('rules', () => {
    it('answers the default SLO and no rules for a model nobody configured', async () => {
      assert.deepEqual(await sut.getRules(person('viewer'), 'iris'), {
        model: 'iris',
        latencySloMs: DEFAULT_LATENCY_SLO_MS,
        rules: [],
        updatedBy: null,
        updatedAt: null,
      });
    });

    it('stores rules with their ids, records alerts.rules_changed and reads them back', async () => {
      const out = await sut.putRules(person('scientist'), 'iris', put({ latencySloMs: 250, rules: [SHARE, ERRORS] }));
      const ids = out.rules.map((r) => r.id);
      assert.deepEqual(ids, [ruleId(ZAlertRule.parse(SHARE)), ruleId(ZAlertRule.parse(ERRORS))]);
      assert.deepEqual([out.latencySloMs, out.updatedBy, out.updatedAt], [250, 'scientist', UPDATED.toISOString()]);
      assert.deepEqual(
        events.recorded.map((e) => [e.type, e.objectId, e.data]),
        [['alerts.rules_changed', 'm1', { model: 'iris', latencySloMs: 250, rules: ids }]],
      );
      assert.deepEqual(await sut.getRules(person('viewer'), 'iris'), out);
    });

    it('refuses the same rule twice with a message and a path naming the second one, and stores nothing', async () => {
      await assert.rejects(sut.putRules(person('scientist'), 'iris', put({ rules: [ERRORS, SHARE, SHARE] })), (e) => {
        assert.ok(code('VALIDATION_FAILED')(e));
        const id = ruleId(ZAlertRule.parse(SHARE));
        assert.equal(
          (e as Error).message,
          `Rule 3 has the same id "${id}" as rule 2: the same rule twice, or one id given twice`,
        );
        assert.deepEqual((e as AppError).details, {
          issues: [
            {
              path: 'rules.2',
              message: `Has the same id "${id}" as rule 2: the same rule twice, or one id given twice.`,
            },
          ],
        });
        return true;
      });
      await assert.rejects(
        sut.putRules(
          person('scientist'),
          'iris',
          put({
            rules: [
              { ...SHARE, id: 'x' },
              { ...ERRORS, id: 'x' },
            ],
          }),
        ),
        code('VALIDATION_FAILED'),
      );
      assert.equal(f.sets.size, 0);
      assert.deepEqual(events.recorded, []);
    });

    it('lets a viewer read but not change rules, keeps keys to their models, and answers 404 for no model', async () => {
      await assert.rejects(sut.putRules(person('viewer'), 'iris', put({ rules: [SHARE] })), code('FORBIDDEN'));
      const limited = person('admin', { modelAllowList: ['wine'] });
      await assert.rejects(sut.getRules(limited, 'iris'), code('FORBIDDEN'));
      await assert.rejects(sut.putRules(limited, 'iris', put({ rules: [SHARE] })), code('FORBIDDEN'));
      await assert.rejects(sut.getRules(person('viewer'), 'nope'), code('NOT_FOUND'));
      await assert.rejects(sut.putRules(person('admin'), 'nope', put({ rules: [] })), code('NOT_FOUND'));
      assert.equal(f.sets.size, 0);
    });
  });

  describe('list', () => {
    it('answers alerts as the API shows them, only those of its models to a limited key', async () => {
      f.alerts.push(
        alertRow('a1', 'iris'),
        alertRow('a2', 'wine', { state: 'resolved', resolvedAt: UPDATED, details: { n: 1 } }),
      );
      const all = await sut.list(person('viewer'), ZAlertQuery.parse({}));
      assert.deepEqual(all[1], {
        id: 'a2',
        model: 'wine',
        version: 1,
        ruleId: 'r1',
        kind: 'error_rate',
        state: 'resolved',
        silent: false,
        message: 'Errors above 5 %',
        value: 0.1,
        threshold: 0.05,
        details: { n: 1 },
        firedAt: UPDATED.toISOString(),
        resolvedAt: UPDATED.toISOString(),
      });
      assert.deepEqual(all[0]!.details, {});
      const limited = person('viewer', { modelAllowList: ['wine'] });
      assert.deepEqual(
        (await sut.list(limited, ZAlertQuery.parse({}))).map((a) => a.id),
        ['a2'],
      );
      await assert.rejects(sut.list(limited, ZAlertQuery.parse({ model: 'iris' })), code('FORBIDDEN'));
    });
  });

  describe('slo', () => {
    const fast = (n: number) => ROLLUP_BUCKETS_MS.map((_, i) => (i === 0 ? n : 0)).concat(0);
    const slow = (n: number) => ROLLUP_BUCKETS_MS.map(() => 0).concat(n);
    it('reports the SLO over production and pilot traffic, leaving silent copies out', async () => {
      await sut.putRules(person('scientist'), 'iris', put({ latencySloMs: 200, rules: [] }));
      f.rollups.push(
        { model: 'iris', role: 'production', count: 90, errors: 1, buckets: fast(90) },
        { model: 'iris', role: 'pilot', count: 10, errors: 0, buckets: slow(10) },
        { model: 'iris', role: 'silent', count: 1000, errors: 1000, buckets: slow(1000) },
      );
      const q = ZSloQuery.parse({ from: '2030-01-01T00:00:00Z', to: '2030-01-01T01:00:00Z', objective: 0.9 });
      const r = await sut.slo(person('viewer'), 'iris', q);
      assert.deepEqual(
        [r.model, r.from, r.to, r.latencySloMs, r.objective, r.requests, r.errors, r.slowRequests, r.goodRatio],
        ['iris', '2030-01-01T00:00:00.000Z', '2030-01-01T01:00:00.000Z', 200, 0.9, 100, 1, 10, 0.89],
      );
    });

    it('uses the default SLO without rules and refuses a range backwards', async () => {
      const r = await sut.slo(person('viewer'), 'wine', ZSloQuery.parse({}));
      assert.deepEqual([r.latencySloMs, r.requests, r.goodRatio], [DEFAULT_LATENCY_SLO_MS, 0, null]);
      const backwards = ZSloQuery.parse({ from: '2030-01-02T00:00:00Z', to: '2030-01-01T00:00:00Z' });
      await assert.rejects(sut.slo(person('viewer'), 'wine', backwards), code('VALIDATION_FAILED'));
      await assert.rejects(sut.slo(person('viewer'), 'nope', ZSloQuery.parse({})), code('NOT_FOUND'));
    });
  });
});
