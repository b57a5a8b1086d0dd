import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import {
  ZAlertRule,
  type TAlert,
  type TAlertRule,
  type TAlertRules,
  type TSloReport,
  type ZAlertQuery,
  type ZPutAlertRulesRequest,
  type ZSloQuery,
} from '@modelyard/contracts';
import { authorize, authorizeModel, type Principal } from '../auth/principal.js';
import { keyFor, modelNameOf } from '../tenancy/model-key.js';
import { DomainEvents } from '../events/domain-events.js';
import { AppError } from '../platform/errors.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { AlertsRepository } from './alerts.repository.js';
import { RollupsRepository } from '../serving/rollups.repository.js';
import { timeRange } from '../serving/rollups.service.js';
import { sloReport } from './slo.js';

export const DEFAULT_LATENCY_SLO_MS = 300;

/**
 * A rule's id: the caller's, else derived from what the rule says, so re-sending the same rules keeps their ids
 * (and their firing alerts) while a changed threshold is a new rule whose old alert resolves.
 */
export function ruleId(rule: TAlertRule): string {
  if (rule.id) return rule.id;
  const { id: _id, description: _d, ...what } = rule;
  const canonical = JSON.stringify(what, Object.keys(what).sort());
  return `${rule.kind}-${createHash('sha256').update(canonical).digest('hex').slice(0, 10)}`;
}

/** Stored rules, parsed again (a rule the current schema refuses is dropped rather than breaking every read). */
export function storedRules(json: unknown): (TAlertRule & { id: string })[] {
  const list = Array.isArray(json) ? json : [];
  return list.flatMap((r) => {
    const p = ZAlertRule.safeParse(r);
    return p.success ? [{ ...p.data, id: ruleId(p.data) }] : [];
  });
}

type AlertRow = NonNullable<Awaited<ReturnType<AlertsRepository['open']>>>;
export function toAlert(a: AlertRow): TAlert {
  return {
    id: a.id,
    model: modelNameOf(a.modelName),
    version: a.version,
    ruleId: a.ruleId,
    kind: a.kind as TAlert['kind'],
    state: a.state as TAlert['state'],
    silent: a.silent,
    message: a.message,
    value: a.value,
    threshold: a.threshold,
    details: (a.details ?? {}) as Record<string, unknown>,
    firedAt: a.firedAt.toISOString(),
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
  };
}

/** Alert rules per model and the alerts they raised (evaluation runs in the worker: AlertEvaluatorService). */
@Injectable()
export class AlertsService {
  constructor(
    private readonly repo: AlertsRepository,
    private readonly registry: RegistryRepository,
    private readonly events: DomainEvents,
    private readonly rollups: RollupsRepository,
  ) {}

  /** The model's latency SLO and error budget over a range (production and pilot traffic; silent copies excluded). */
  async slo(actor: Principal, name: string, q: z.output<typeof ZSloQuery>): Promise<TSloReport> {
    authorize(actor, 'metrics.read');
    name = keyFor(actor, name);
    authorizeModel(actor, name);
    const m = await this.model(name);
    const set = await this.repo.findRules(m.id);
    const { from, to } = timeRange(q);
    const rows = (await this.rollups.range(name, from, to, q.version)).filter((r) => r.role !== 'silent');
    return {
      model: modelNameOf(name),
      from: from.toISOString(),
      to: to.toISOString(),
      ...sloReport(rows, set?.latencySloMs ?? DEFAULT_LATENCY_SLO_MS, q.objective),
    };
  }

  private async model(name: string) {
    const m = await this.registry.findModel(name);
    if (!m) throw new AppError('NOT_FOUND', `Model "${name}" not found`);
    return m;
  }

  async getRules(actor: Principal, name: string): Promise<TAlertRules> {
    authorize(actor, 'drift.read');
    name = keyFor(actor, name);
    authorizeModel(actor, name);
    const m = await this.model(name);
    const set = await this.repo.findRules(m.id);
    return {
      model: modelNameOf(name),
      latencySloMs: set?.latencySloMs ?? DEFAULT_LATENCY_SLO_MS,
      rules: storedRules(set?.rules),
      updatedBy: set?.updatedByName ?? null,
      updatedAt: set?.updatedAt.toISOString() ?? null,
    };
  }

  async putRules(actor: Principal, name: string, body: z.output<typeof ZPutAlertRulesRequest>): Promise<TAlertRules> {
    authorize(actor, 'drift.write');
    name = keyFor(actor, name);
    authorizeModel(actor, name);
    const m = await this.model(name);
    const rules = body.rules.map((r) => ({ ...r, id: ruleId(r) }));
    const dup = rules.findIndex((r, i) => rules.findIndex((o) => o.id === r.id) !== i);
    if (dup >= 0) {
      const first = rules.findIndex((o) => o.id === rules[dup]!.id);
      const message = `the same id "${rules[dup]!.id}" as rule ${first + 1}: the same rule twice, or one id given twice`;
      // The path names the second rule, so a form can show the message beside it (the dashboard does).
      throw new AppError('VALIDATION_FAILED', `Rule ${dup + 1} has ${message}`, {
        issues: [{ path: `rules.${dup}`, message: `Has ${message}.` }],
      });
    }
    const set = await this.events.change(
      actor,
      () => this.repo.putRules(m.id, { latencySloMs: body.latencySloMs, rules, updatedByName: actor.name }),
      () => ({
        type: 'alerts.rules_changed',
        objectId: m.id,
        data: { model: name, latencySloMs: body.latencySloMs, rules: rules.map((r) => r.id) },
      }),
    );
    return {
      model: modelNameOf(name),
      latencySloMs: set.latencySloMs,
      rules,
      updatedBy: set.updatedByName,
      updatedAt: set.updatedAt.toISOString(),
    };
  }

  async list(actor: Principal, q: z.output<typeof ZAlertQuery>): Promise<TAlert[]> {
    authorize(actor, 'drift.read');
    if (q.model) authorizeModel(actor, q.model);
    const rows = await this.repo.list({ ...q, model: q.model && keyFor(actor, q.model) }, actor.project?.id);
    // A key limited to some models sees only their alerts.
    return rows
      .filter((a) => !actor.modelAllowList.length || actor.modelAllowList.includes(modelNameOf(a.modelName)))
      .map(toAlert);
  }
}
