'use client';
import { useState } from 'react';
import type { TVersionImportance } from '@modelyard/contracts';
import { browserApi, errorMessage } from '@/lib/api.browser';

/**
 * A version's global importance: the mean |contribution| of each feature over the first rows of its reference
 * dataset, or over the newest rows it answered (`GET …/versions/{v}/importance?source=`), a bar per feature,
 * largest first, for the chosen output or averaged over all of them. Computed on demand (it explains tens of rows).
 */
export function ImportancePanel({ model, version }: { model: string; version: number }) {
  const [answer, setAnswer] = useState<TVersionImportance | null>(null);
  const [output, setOutput] = useState(-1);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [source, setSource] = useState<'reference' | 'log'>('reference');

  async function load() {
    setRunning(true);
    setError(null);
    try {
      setAnswer(await browserApi().versionImportance(model, version, source));
    } catch (err) {
      setAnswer(null);
      setError(errorMessage(err));
    } finally {
      setRunning(false);
    }
  }

  const bars = answer
    ? answer.features
        .map((f, j) => ({ feature: f, value: output < 0 ? answer.overall[j]! : answer.importance[j]![output]! }))
        .sort((a, b) => b.value - a.value)
    : [];
  const scale = Math.max(1e-12, ...bars.map((b) => b.value));
  return (
    <div className="explain-panel">
      <div className="toolbar">
        <label className="small">
          Rows{' '}
          <select
            value={source}
            onChange={(e) => setSource(e.target.value as 'reference' | 'log')}
            aria-label="Importance rows"
          >
            <option value="reference">the reference dataset</option>
            <option value="log">recent predictions (the prediction log)</option>
          </select>
        </label>
        <button type="button" className="btn btn-secondary btn-small" onClick={load} disabled={running}>
          {running ? 'Computing…' : 'Show global importance'}
        </button>
      </div>
      {!answer ? null : (
        <figure className="explain-chart" aria-label="Global importance">
          {answer.outputs.length > 1 ? (
            <label className="small">
              Importance for{' '}
              <select value={output} onChange={(e) => setOutput(Number(e.target.value))} aria-label="Importance for">
                <option value={-1}>mean over outputs</option>
                {answer.outputs.map((o, i) => (
                  <option key={String(o)} value={i}>
                    {answer.output} {String(o)}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          <p className="small" data-testid="importance-summary">
            Mean |contribution| over {answer.rows} {answer.source === 'log' ? 'logged' : 'reference'} rows (
            {answer.method}
            {answer.exact ? ', exact' : ', sampled'})
          </p>
          <table className="explain-bars importance-bars">
            <tbody>
              {bars.map((b) => (
                <tr key={b.feature} data-feature={b.feature}>
                  <th scope="row" className="small">
                    {b.feature}
                  </th>
                  <td className="explain-bar-cell">
                    <span className="explain-bar explain-bar-up" style={{ width: `${(100 * b.value) / scale}%` }} />
                  </td>
                  <td className="mono small">{b.value.toPrecision(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </figure>
      )}
      {error ? (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
