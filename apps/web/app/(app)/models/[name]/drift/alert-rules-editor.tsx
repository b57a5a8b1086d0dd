'use client';
import { useState, type FormEvent } from 'react';
import { ALERT_KINDS, ZAlertRule, type TAlertRule, type TAlertRules } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';
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
}

/**
 * Ids the API derived from a rule's content (`<kind>-<10 hex>`) are not sent back: the API derives the same id
 * again for an unchanged rule (so its firing alert stays open) and a new one for a changed rule (so the alert of
 * the old threshold resolves), which is what an edit means. Ids a caller chose are kept as they are.
 */
const DERIVED_ID = /^(drift_share|feature_drift|latency_p99|error_rate)-[0-9a-f]{10}$/;

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
  }
}

const FIELD_NAMES: Record<string, string> = {
  above: 'the limit',
  minRows: 'minimum rows',
  features: 'features',
  aboveMs: 'the latency limit',
  windowMinutes: 'the window',
  minRequests: 'minimum requests',
};

/**
 * The model's alert rules as a form (scientists and up; drift.write). Saving replaces the whole set, like PUT
 * does; the page re-renders from the API's answer (this component is keyed on the rules' updatedAt).
 */
export function AlertRulesEditor(p: { model: string; rules: TAlertRules; features: string[] }) {
  const { run, pending, error, setError } = useApiAction();
  const [drafts, setDrafts] = useState<Draft[]>(() => p.rules.rules.map((r, i) => draftOf(r, i)));
  const [slo, setSlo] = useState(String(p.rules.latencySloMs));
  const update = (key: number, patch: Partial<Draft>) =>
    setDrafts((all) => all.map((d) => (d.key === key ? { ...d, ...patch } : d)));

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const rules: TAlertRule[] = [];
    for (const [i, d] of drafts.entries()) {
      const parsed = ZAlertRule.safeParse(ruleOf(d));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = FIELD_NAMES[String(issue?.path[0] ?? '')];
        setError(
          d.kind === 'feature_drift' && issue?.path[0] === 'features'
            ? `Rule ${i + 1}: pick at least one feature.`
            : `Rule ${i + 1}: ${field ? `${field}: ` : ''}${issue?.message ?? 'invalid'}.`,
        );
        return;
      }
      rules.push(parsed.data);
    }
    const latencySloMs = Number(slo);
    if (!Number.isInteger(latencySloMs) || latencySloMs < 1) {
      setError('The latency SLO is a whole number of milliseconds, at least 1.');
      return;
    }
    await run((api) => api.putAlertRules(p.model, { latencySloMs, rules }));
  }

  return (
    <form className="stack alert-rules-form" onSubmit={onSubmit} aria-label="Alert rules">
      <div className="field slo-field">
        <label htmlFor="rules-slo">Latency SLO (p99, ms)</label>
        <input
          id="rules-slo"
          type="number"
          min={1}
          max={600000}
          step={1}
          required
          value={slo}
          onChange={(e) => setSlo(e.target.value)}
        />
        <p className="hint">What p99 latency rules without their own limit compare against.</p>
      </div>
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
              onRemove={() => setDrafts((all) => all.filter((x) => x.key !== d.key))}
            />
          </li>
        ))}
      </ol>
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-secondary"
          onClick={() => setDrafts((all) => [...all, draftOf(null, Math.max(-1, ...all.map((d) => d.key)) + 1)])}
        >
          Add a rule
        </button>
        <button type="submit" className="btn btn-primary" disabled={pending}>
          {pending ? 'Saving…' : 'Save rules'}
        </button>
      </div>
      <ErrorAlert message={error} />
    </form>
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
  // A rule may name a feature this version no longer has; it stays listed (and checked) so saving keeps it.
  const featureChoices = [...p.features, ...d.features.filter((f) => !p.features.includes(f))];
  return (
    <fieldset className="rule-fields form-grid">
      <legend className="field-full">Rule {p.index + 1}</legend>
      <div className="field">
        <label htmlFor={id('kind')}>Kind</label>
        <select id={id('kind')} value={d.kind} onChange={(e) => p.onChange({ kind: e.target.value as Kind })}>
          {ALERT_KINDS.map((k) => (
            <option key={k} value={k}>
              {RULE_KIND_LABELS[k]}
            </option>
          ))}
        </select>
      </div>
      {d.kind === 'drift_share' || d.kind === 'error_rate' ? (
        <div className="field">
          <label htmlFor={id('above')}>
            {d.kind === 'drift_share' ? 'Drift share above (%)' : 'Error rate above (%)'}
          </label>
          <input
            id={id('above')}
            type="number"
            min={0}
            max={100}
            step="any"
            required
            value={d.abovePercent}
            onChange={(e) => p.onChange({ abovePercent: e.target.value })}
          />
        </div>
      ) : null}
      {d.kind === 'latency_p99' ? (
        <div className="field">
          <label htmlFor={id('above-ms')}>p99 above (ms)</label>
          <input
            id={id('above-ms')}
            type="number"
            min={1}
            step="any"
            placeholder="the SLO"
            value={d.aboveMs}
            onChange={(e) => p.onChange({ aboveMs: e.target.value })}
          />
        </div>
      ) : null}
      {d.kind === 'drift_share' || d.kind === 'feature_drift' ? (
        <div className="field">
          <label htmlFor={id('min-rows')}>Minimum rows in the window</label>
          <input
            id={id('min-rows')}
            type="number"
            min={1}
            step={1}
            required
            value={d.minRows}
            onChange={(e) => p.onChange({ minRows: e.target.value })}
          />
        </div>
      ) : (
        <>
          <div className="field">
            <label htmlFor={id('window')}>Over the last (minutes)</label>
            <input
              id={id('window')}
              type="number"
              min={1}
              max={1440}
              step={1}
              required
              value={d.windowMinutes}
              onChange={(e) => p.onChange({ windowMinutes: e.target.value })}
            />
          </div>
          <div className="field">
            <label htmlFor={id('min-requests')}>Minimum requests</label>
            <input
              id={id('min-requests')}
              type="number"
              min={1}
              step={1}
              required
              value={d.minRequests}
              onChange={(e) => p.onChange({ minRequests: e.target.value })}
            />
          </div>
        </>
      )}
      {d.kind === 'feature_drift' ? (
        <fieldset className="field-full group-picker">
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
        </fieldset>
      ) : null}
      <div className="field field-wide">
        <label htmlFor={id('description')}>Description (optional)</label>
        <input
          id={id('description')}
          type="text"
          maxLength={500}
          autoComplete="off"
          value={d.description}
          onChange={(e) => p.onChange({ description: e.target.value })}
        />
      </div>
      <div className="form-actions rule-actions">
        <button type="button" className="btn btn-secondary btn-small" onClick={p.onRemove}>
          Remove<span className="visually-hidden"> rule {p.index + 1}</span>
        </button>
      </div>
    </fieldset>
  );
}
