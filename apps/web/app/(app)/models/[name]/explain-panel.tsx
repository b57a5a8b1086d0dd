'use client';
import { useState } from 'react';
import type { TExplainResponse } from '@modelyard/contracts';
import { browserApi, errorMessage } from '@/lib/api.browser';

/**
 * "Explain a prediction": one field per feature (prefilled with the version's first sample row), then a bar per
 * feature of its contribution to the chosen output (a class probability or the predicted value), starting from
 * the base value over the version's reference rows: base + bars = the prediction.
 */
export function ExplainPanel({
  model,
  version,
  features,
  initial,
}: {
  model: string;
  version: number;
  features: string[];
  initial: Record<string, number>;
}) {
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(features.map((f) => [f, String(initial[f] ?? 0)])),
  );
  const [answer, setAnswer] = useState<TExplainResponse | null>(null);
  const [output, setOutput] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);

  async function explain(e: React.FormEvent) {
    e.preventDefault();
    setRunning(true);
    setError(null);
    try {
      const row = Object.fromEntries(features.map((f) => [f, Number(values[f])]));
      const a = await browserApi().explainVersion(model, version, { payload: [row] });
      setAnswer(a);
      // The predicted class (largest output) is the one worth looking at first.
      const v = a.rows[0]!.value;
      setOutput(v.indexOf(Math.max(...v)));
    } catch (err) {
      setAnswer(null);
      setError(errorMessage(err));
    } finally {
      setRunning(false);
    }
  }

  const row = answer?.rows[0];
  const bars = row
    ? answer!.features
        .map((f, j) => ({ feature: f, value: row.contributions[j]![output]! }))
        .sort((a, b) => Math.abs(b.value) - Math.abs(a.value))
    : [];
  const scale = Math.max(1e-12, ...bars.map((b) => Math.abs(b.value)));
  return (
    <div className="explain-panel">
      <form className="form-grid" onSubmit={explain} aria-label="Explain a prediction">
        {features.map((f) => (
          <label key={f} className="field">
            <span>{f}</span>
            <input
              name={f}
              type="number"
              step="any"
              required
              value={values[f]}
              onChange={(e) => setValues({ ...values, [f]: e.target.value })}
            />
          </label>
        ))}
        <div className="field-full">
          <button type="submit" className="btn btn-secondary btn-small" disabled={running}>
            {running ? 'Explaining…' : 'Explain'}
          </button>
        </div>
      </form>
      {error ? (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      ) : null}
      {answer && row ? (
        <figure className="explain-chart" aria-label="Feature contributions">
          {answer.outputs.length > 1 ? (
            <label className="small">
              Output{' '}
              <select value={output} onChange={(e) => setOutput(Number(e.target.value))} aria-label="Output">
                {answer.outputs.map((o, i) => (
                  <option key={String(o)} value={i}>
                    {answer.output} {String(o)}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          <p className="small" data-testid="explain-summary">
            Base {row.base[output]!.toPrecision(4)} + contributions = {row.value[output]!.toPrecision(4)} (
            {answer.method}
            {answer.exact ? ', exact' : `, ${answer.samples} samples, ±${row.errorBound.toPrecision(2)}`}, against{' '}
            {answer.backgroundRows} reference rows)
          </p>
          <table className="explain-bars">
            <tbody>
              {bars.map((b) => (
                <tr key={b.feature} data-feature={b.feature}>
                  <th scope="row" className="small">
                    {b.feature}
                  </th>
                  <td className="explain-bar-cell">
                    <span
                      className={`explain-bar ${b.value >= 0 ? 'explain-bar-up' : 'explain-bar-down'}`}
                      style={{ width: `${(50 * Math.abs(b.value)) / scale}%` }}
                    />
                  </td>
                  <td className="mono small">{b.value.toPrecision(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </figure>
      ) : null}
    </div>
  );
}
