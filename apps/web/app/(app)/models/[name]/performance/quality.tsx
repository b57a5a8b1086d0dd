import type { TPerformanceQuality } from '@modelyard/contracts';
import { formatCount } from '@/lib/format';
import { sliceKey } from '@/lib/performance';

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);

/**
 * A classifier's confusion matrix (rows: the label, columns: the prediction) and top-label calibration (per bin of
 * the probability given to the predicted class: how many rows, their mean probability, and how many were right),
 * for one version and role over the page's range.
 */
export function QualityPanel({ q }: { q: TPerformanceQuality }) {
  const key = sliceKey(q);
  return (
    <div className="quality-panel" data-slice={key}>
      <h3>{key}</h3>
      {q.confusion ? (
        <table className="table confusion-matrix" aria-label={`Confusion matrix ${key}`}>
          <caption className="small muted">Rows: the label sent as feedback; columns: the prediction.</caption>
          <thead>
            <tr>
              <th scope="col">Label \ predicted</th>
              {q.confusion.labels.map((l) => (
                <th key={l} scope="col" className="num">
                  {l}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {q.confusion.labels.map((l, i) => (
              <tr key={l} data-label={l}>
                <th scope="row">{l}</th>
                {q.confusion!.counts[i]!.map((c, j) => (
                  <td
                    key={j}
                    className={`num mono${i === j ? ' confusion-diagonal' : ''}`}
                    data-predicted={q.confusion!.labels[j]}
                  >
                    {formatCount(c)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {q.calibration ? (
        <table className="table calibration" aria-label={`Calibration ${key}`}>
          <caption className="small muted" data-testid={`ece ${key}`}>
            Calibration of {formatCount(q.calibration.rows)} labelled predictions with probabilities; expected
            calibration error {q.calibration.ece.toFixed(3)}
          </caption>
          <thead>
            <tr>
              <th scope="col">Probability of the prediction</th>
              <th scope="col" className="num">
                Predictions
              </th>
              <th scope="col" className="num">
                Mean probability
              </th>
              <th scope="col" className="num">
                Right
              </th>
            </tr>
          </thead>
          <tbody>
            {q.calibration.bins
              .filter((b) => b.count > 0)
              .map((b) => (
                <tr key={b.from} data-bin={b.from.toFixed(1)}>
                  <th scope="row">
                    {b.from.toFixed(1)}–{b.to.toFixed(1)}
                  </th>
                  <td className="num mono">{formatCount(b.count)}</td>
                  <td className="num mono">{pct(b.confidence)}</td>
                  <td className="num mono">{pct(b.accuracy)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      ) : (
        <p className="muted small">No probabilities were logged with these predictions: no calibration.</p>
      )}
    </div>
  );
}
