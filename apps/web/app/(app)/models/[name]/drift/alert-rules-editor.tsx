'use client';
import { useState } from 'react';
import {
  ALERT_KINDS,
  PERFORMANCE_METRICS,
  ZAlertRule,
  type PerformanceMetric,
  type TAlertRule,
  type TAlertRules,
  type TPutAlertRulesRequest,
} from '@modelyard/contracts';
import { ApiField, ApiForm, useFieldError, type Invalid } from '@/components/api-form';
import { RULE_KIND_LABELS } from './drift-text';

type Kind = TAlertRule['kind'];

/** One rule as the form holds it: every input's text, whatever the kind, so switching kinds loses nothing. */
interface Draft {
  key: number;
  kind: Kind;
  id?: string;
  description: string;
  /** drift_share and error_rate, as a percentage. */
  abovePercent: string;
  features: string[];
  minRows: string;
  aboveMs: string;
  windowMinutes: string;
  minRequests: string;
  /** performance rules. */
  metric: PerformanceMetric;
  threshold: string;
  minLabels: string;
}

/**
 * Ids the API derived from a rule's content (`<kind>-<10 hex>`) are not sent back: the API derives the same id
 * again for an unchanged rule (so its firing alert stays open) and a new one for a changed rule (so the alert of
 * the old threshold resolves), which is what an edit means. Ids a caller chose are kept as they are.
 */
const DERIVED_ID = /^(drift_share|feature_drift|latency_p99|error_rate|performance)-[0-9a-f]{10}$/;

const percentText = (share: number) => String(Number((share * 100).toPrecision(6)));

/** `key` keeps React's identity of a row (and its input ids) stable while rows are added and removed. */
function draftOf(rule: TAlertRule | null, key: number): Draft {
  const d: Draft = {
    key,
    kind: rule?.kind ?? 'drift_share',
    description: rule?.description ?? '',
    abovePercent: '50',
    features: [],
    minRows: '50',
    aboveMs: '',
    windowMinutes: '5',
    minRequests: '20',
    metric: 'accuracy',
    threshold: '0.9',
    minLabels: '50',
  };
  if (!rule) return d;
  if (rule.id && !DERIVED_ID.test(rule.id)) d.id = rule.id;
  switch (rule.kind) {
    case 'drift_share':
      return { ...d, abovePercent: percentText(rule.above), minRows: String(rule.minRows) };
    case 'feature_drift':
      return { ...d, features: rule.features, minRows: String(rule.minRows) };
    case 'latency_p99':
      return {
        ...d,
        aboveMs: rule.aboveMs === undefined ? '' : String(rule.aboveMs),
        windowMinutes: String(rule.windowMinutes),
        minRequests: String(rule.minRequests),
      };
    case 'error_rate':
      return {
        ...d,
        abovePercent: percentText(rule.above),
        windowMinutes: String(rule.windowMinutes),
        minRequests: String(rule.minRequests),
      };
    case 'performance':
      return {
        ...d,
        metric: rule.metric,
        threshold: String(rule.threshold),
        windowMinutes: String(rule.windowMinutes),
        minLabels: String(rule.minLabels),
      };
  }
}

/** The rule the API takes, or undefined-valued numbers that ZAlertRule will name. */
function ruleOf(d: Draft): unknown {
  const num = (s: string) => (s.trim() === '' ? undefined : Number(s));
  const base = {
    ...(d.id ? { id: d.id } : {}),
    ...(d.description.trim() ? { description: d.description.trim() } : {}),
  };
  switch (d.kind) {
    case 'drift_share':
      return {
        ...base,
        kind: d.kind,
        above: num(d.abovePercent) === undefined ? undefined : num(d.abovePercent)! / 100,
        minRows: num(d.minRows),
      };
    case 'feature_drift':
      return { ...base, kind: d.kind, features: d.features, minRows: num(d.minRows) };
    case 'latency_p99':
      return {
        ...base,
        kind: d.kind,
        aboveMs: num(d.aboveMs),
        windowMinutes: num(d.windowMinutes),
        minRequests: num(d.minRequests),
      };
    case 'error_rate':
      return {
        ...base,
        kind: d.kind,
        above: num(d.abovePercent) === undefined ? undefined : num(d.abovePercent)! / 100,
        windowMinutes: num(d.windowMinutes),
        minRequests: num(d.minRequests),
      };
    case 'performance':
      return {
        ...base,
        kind: d.kind,
        metric: d.metric,
        threshold: num(d.threshold),
        windowMinutes: num(d.windowMinutes),
        minLabels: num(d.minLabels),
      };
  }
}

const FIELD_NAMES: Record<string, string> = {
  above: 'the limit',
  minRows: 'minimum rows',
  features: 'features',
  aboveMs: 'the latency limit',
  windowMinutes: 'the window',
  minRequests: 'minimum requests',
  threshold: 'the threshold',
  minLabels: 'minimum labels',
};

/** Paths of a rule's inputs, as the API names them in a VALIDATION_FAILED (`rules.<i>.<field>`). */
const rulePath = (index: number, field?: string) => (field ? `rules.${index}.${field}` : `rules.${index}`);

/** The body to PUT, or why the drafts are not one yet (with the field each message is about). */
function requestOf(drafts: Draft[], slo: string): { body: TPutAlertRulesRequest } | { invalid: Invalid } {
  const rules: TAlertRule[] = [];
  for (const [i, d] of drafts.entries()) {
    const parsed = ZAlertRule.safeParse(ruleOf(d));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const key = String(issue?.path[0] ?? '');
      const field = FIELD_NAMES[key];
      const message =
        d.kind === 'feature_drift' && key === 'features'
          ? 'pick at least one feature'
          : `${field ? `${field}: ` : ''}${issue?.message ?? 'invalid'}`;
      return {
        invalid: { message: `Rule ${i + 1}: ${message}.`, fields: { [rulePath(i, key || undefined)]: message } },
      };
    }
    rules.push(parsed.data);
  }
  const latencySloMs = Number(slo);
  if (!Number.isInteger(latencySloMs) || latencySloMs < 1) {
    const message = 'The latency SLO is a whole number of milliseconds, at least 1.';
    return { invalid: { message, fields: { latencySloMs: message } } };
  }
  return { body: { latencySloMs, rules } };
}

/**
 * The model's alert rules as a form (scientists and up; drift.write), on ApiForm: saving replaces the whole set,
 * like PUT does, and the form then holds what the API kept (derived ids, defaults). A refusal shows under the
 * form and, when the API names a rule or a field (`rules.1`, `rules.0.minRows`), beside it.
 */
export function AlertRulesEditor(p: { model: string; rules: TAlertRules; features: string[] }) {
  const [drafts, setDrafts] = useState<Draft[]>(() => p.rules.rules.map((r, i) => draftOf(r, i)));
  const [slo, setSlo] = useState(String(p.rules.latencySloMs));
  const [saved, setSaved] = useState<string | null>(null);
  const update = (key: number, patch: Partial<Draft>) => {
    setSaved(null);
    setDrafts((all) => all.map((d) => (d.key === key ? { ...d, ...patch } : d)));
  };
  const nextKey = (all: Draft[]) => Math.max(-1, ...all.map((d) => d.key)) + 1;

  return (
    <ApiForm
      layout="stack"
      className="alert-rules-form"
      label="Alert rules"
      reset={false}
      validate={() => {
        const r = requestOf(drafts, slo);
        return 'invalid' in r ? r.invalid : null;
      }}
      submit={(_data, api) => {
        const r = requestOf(drafts, slo);
        // validate() ran first with the same drafts, so this holds a body.
        if ('invalid' in r) throw new Error('the rules changed while saving');
        return api.putAlertRules(p.model, r.body);
      }}
      onSuccess={(kept) => {
        // New keys: React draws the rules the API kept afresh, and their inputs lose what was typed before.
        setDrafts((all) => kept.rules.map((r, i) => draftOf(r, nextKey(all) + i)));
        setSlo(String(kept.latencySloMs));
        const n = kept.rules.length;
        setSaved(n === 0 ? 'Saved: no rules.' : `Saved: ${n} rule${n === 1 ? '' : 's'}.`);
      }}
      submitLabel="Save rules"
      pendingLabel="Saving…"
      notice={saved}
    >
      <ApiField
        id="rules-slo"
        path="latencySloMs"
        label="Latency SLO (p99, ms)"
        hint="What p99 latency rules without their own limit compare against."
        className="slo-field"
      >
        <input
          type="number"
          min={1}
          max={600000}
          step={1}
          required
          value={slo}
          onChange={(e) => {
            setSaved(null);
            setSlo(e.target.value);
          }}
        />
      </ApiField>
      {drafts.length === 0 ? (
        <p className="muted empty-state">No rules: nothing raises an alert for this model.</p>
      ) : null}
      <ol className="rule-list">
        {drafts.map((d, i) => (
          <li key={d.key}>
            <RuleFields
              draft={d}
              index={i}
              features={p.features}
              onChange={(patch) => update(d.key, patch)}
              onRemove={() => {
                setSaved(null);
                setDrafts((all) => all.filter((x) => x.key !== d.key));
              }}
            />
          </li>
        ))}
      </ol>
      <div>
        <button
          type="button"
          className="btn btn-secondary"
          onClick={() => {
            setSaved(null);
            setDrafts((all) => [...all, draftOf(null, nextKey(all))]);
          }}
        >
          Add a rule
        </button>
      </div>
    </ApiForm>
  );
}

function RuleFields(p: {
  draft: Draft;
  index: number;
  features: string[];
  onChange: (patch: Partial<Draft>) => void;
  onRemove: () => void;
}) {
  const d = p.draft;
  const id = (field: string) => `rule-${d.key}-${field}`;
  const path = (field: string) => rulePath(p.index, field);
  // What the API says of the rule as a whole (e.g. the same rule twice) and of its features.
  const ruleError = useFieldError(rulePath(p.index));
  const featuresError = useFieldError(path('features'));
  // A rule may name a feature this version no longer has; it stays listed (and checked) so saving keeps it.
  const featureChoices = [...p.features, ...d.features.filter((f) => !p.features.includes(f))];
  return (
    <fieldset
      className="rule-fields form-grid"
      aria-invalid={ruleError ? true : undefined}
      aria-describedby={ruleError ? id('error') : undefined}
    >
      <legend className="field-full">Rule {p.index + 1}</legend>
      {ruleError ? (
        <p className="error-inline field-full" id={id('error')}>
          {ruleError}
        </p>
      ) : null}
      <ApiField id={id('kind')} path={path('kind')} label="Kind">
        <select value={d.kind} onChange={(e) => p.onChange({ kind: e.target.value as Kind })}>
          {ALERT_KINDS.map((k) => (
            <option key={k} value={k}>
              {RULE_KIND_LABELS[k]}
            </option>
          ))}
        </select>
      </ApiField>
      {d.kind === 'drift_share' || d.kind === 'error_rate' ? (
        <ApiField
          id={id('above')}
          path={path('above')}
          label={d.kind === 'drift_share' ? 'Drift share above (%)' : 'Error rate above (%)'}
        >
          <input
            type="number"
            min={0}
            max={100}
            step="any"
            required
            value={d.abovePercent}
            onChange={(e) => p.onChange({ abovePercent: e.target.value })}
          />
        </ApiField>
      ) : null}
      {d.kind === 'latency_p99' ? (
        <ApiField id={id('above-ms')} path={path('aboveMs')} label="p99 above (ms)">
          <input
            type="number"
            min={1}
            step="any"
            placeholder="the SLO"
            value={d.aboveMs}
            onChange={(e) => p.onChange({ aboveMs: e.target.value })}
          />
        </ApiField>
      ) : null}
      {d.kind === 'performance' ? (
        <>
          <ApiField id={id('metric')} path={path('metric')} label="Metric">
            <select value={d.metric} onChange={(e) => p.onChange({ metric: e.target.value as PerformanceMetric })}>
              {PERFORMANCE_METRICS.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </ApiField>
          <ApiField
            id={id('threshold')}
            path={path('threshold')}
            label="Worse than"
            hint="Below it; above it for logLoss, mae and rmse."
          >
            <input
              type="number"
              step="any"
              required
              value={d.threshold}
              onChange={(e) => p.onChange({ threshold: e.target.value })}
            />
          </ApiField>
          <ApiField id={id('window')} path={path('windowMinutes')} label="Over the last (minutes)">
            <input
              type="number"
              min={1}
              max={44640}
              step={1}
              required
              value={d.windowMinutes}
              onChange={(e) => p.onChange({ windowMinutes: e.target.value })}
            />
          </ApiField>
          <ApiField id={id('min-labels')} path={path('minLabels')} label="Minimum labelled predictions">
            <input
              type="number"
              min={1}
              step={1}
              required
              value={d.minLabels}
              onChange={(e) => p.onChange({ minLabels: e.target.value })}
            />
          </ApiField>
        </>
      ) : d.kind === 'drift_share' || d.kind === 'feature_drift' ? (
        <ApiField id={id('min-rows')} path={path('minRows')} label="Minimum rows in the window">
          <input
            type="number"
            min={1}
            step={1}
            required
            value={d.minRows}
            onChange={(e) => p.onChange({ minRows: e.target.value })}
          />
        </ApiField>
      ) : (
        <>
          <ApiField id={id('window')} path={path('windowMinutes')} label="Over the last (minutes)">
            <input
              type="number"
              min={1}
              max={1440}
              step={1}
              required
              value={d.windowMinutes}
              onChange={(e) => p.onChange({ windowMinutes: e.target.value })}
            />
          </ApiField>
          <ApiField id={id('min-requests')} path={path('minRequests')} label="Minimum requests">
            <input
              type="number"
              min={1}
              step={1}
              required
              value={d.minRequests}
              onChange={(e) => p.onChange({ minRequests: e.target.value })}
            />
          </ApiField>
        </>
      )}
      {d.kind === 'feature_drift' ? (
        <fieldset
          className="field-full group-picker"
          aria-invalid={featuresError ? true : undefined}
          aria-describedby={featuresError ? id('features-error') : undefined}
        >
          <legend>Features</legend>
          {featureChoices.length === 0 ? (
            <p className="muted small">This version has no reference profile, so no features to pick yet.</p>
          ) : null}
          {featureChoices.map((f) => (
            <label key={f} className="checkbox">
              <input
                type="checkbox"
                checked={d.features.includes(f)}
                onChange={(e) =>
                  p.onChange({ features: e.target.checked ? [...d.features, f] : d.features.filter((x) => x !== f) })
                }
              />
              <span className="mono">{f}</span>
            </label>
          ))}
          {featuresError ? (
            <p className="error-inline" id={id('features-error')}>
              {featuresError}
            </p>
          ) : null}
        </fieldset>
      ) : null}
      <ApiField id={id('description')} path={path('description')} label="Description (optional)" size="wide">
        <input
          type="text"
          maxLength={500}
          autoComplete="off"
          value={d.description}
          onChange={(e) => p.onChange({ description: e.target.value })}
        />
      </ApiField>
      <div className="form-actions rule-actions">
        <button type="button" className="btn btn-secondary btn-small" onClick={p.onRemove}>
          Remove<span className="visually-hidden"> rule {p.index + 1}</span>
        </button>
      </div>
    </fieldset>
  );
}
