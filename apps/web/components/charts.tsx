'use client';
import { useId, useState } from 'react';
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { LatencyView, SeriesInfo } from '@/lib/latency';

/**
 * The dashboard's charts (recharts). Client components only because recharts measures and draws in the
 * browser; the data arrives already aggregated from the server component. Animations are off: the pages
 * re-render every few seconds and a line that slides in each time is noise, not information.
 */

/** A hue per role, a shade per version within it: production stands out, silent copies stay quiet. */
const ROLE_COLORS: Record<string, string[]> = {
  production: ['#4338ca', '#6366f1', '#312e81'],
  pilot: ['#d97706', '#b45309', '#f59e0b'],
  explicit: ['#7a5af8', '#5925dc'],
  silent: ['#0e9384', '#15b79e', '#107569'],
};
export function seriesColor(s: Pick<SeriesInfo, 'role'>, indexInRole: number): string {
  const palette = ROLE_COLORS[s.role] ?? ['#475467'];
  return palette[indexInRole % palette.length]!;
}
function colorsOf(series: SeriesInfo[]): Map<string, string> {
  const seen = new Map<string, number>();
  return new Map(
    series.map((s) => {
      const i = seen.get(s.role) ?? 0;
      seen.set(s.role, i + 1);
      return [s.key, seriesColor(s, i)];
    }),
  );
}

const pad = (n: number) => String(n).padStart(2, '0');
/** UTC like every other time on the dashboard; a week needs the day, an hour does not. */
function tickFormatter(stepMs: number) {
  return (t: number) => {
    const d = new Date(t);
    const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    return stepMs >= 3_600_000 ? `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${hm}` : hm;
  };
}
const tooltipTime = (t: unknown) => `${new Date(Number(t)).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

type Quantile = 'p50' | 'p95' | 'p99';

function MetricChart(props: {
  title: string;
  view: LatencyView;
  metric: string;
  unit: (v: number) => string;
  slo?: number | null;
  /** Smallest top of the y axis, so a flat zero line sits at the bottom instead of in the middle. */
  minTop?: number;
}) {
  const { view, metric } = props;
  const colors = colorsOf(view.series);
  return (
    <figure className="chart" aria-label={props.title}>
      <figcaption className="chart-title">{props.title}</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart data={view.rows} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e2e5ea" strokeDasharray="3 3" />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={[view.from, view.to]}
            tickFormatter={tickFormatter(view.stepMs)}
            tick={{ fontSize: 11 }}
            minTickGap={24}
          />
          <YAxis
            tickFormatter={props.unit}
            tick={{ fontSize: 11 }}
            width={64}
            domain={[0, (max: number) => Math.max(max, props.minTop ?? 0)]}
          />
          <Tooltip labelFormatter={tooltipTime} formatter={(v) => (typeof v === 'number' ? props.unit(v) : '—')} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {props.slo ? (
            <ReferenceLine
              y={props.slo}
              stroke="#b42318"
              strokeDasharray="6 3"
              ifOverflow="extendDomain"
              label={{ value: `SLO ${props.slo} ms`, position: 'insideTopRight', fontSize: 11, fill: '#b42318' }}
            />
          ) : null}
          {view.series.map((s) => (
            <Line
              key={s.key}
              name={s.key}
              dataKey={`${s.key}|${metric}`}
              stroke={colors.get(s.key)}
              strokeWidth={s.role === 'production' ? 2 : 1.5}
              strokeDasharray={s.role === 'silent' ? '4 2' : undefined}
              // Steps without traffic have no latency or error rate (null), so a lone busy minute is a point, not a
              // line: draw the points. Requests/s is 0 there and reads as a line.
              dot={metric === 'rps' ? false : { r: 2.5 }}
              connectNulls={false}
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

const ms = (v: number) => `${Number(v.toPrecision(3))} ms`;
const rps = (v: number) => `${Number(v.toPrecision(3))}/s`;
const pct = (v: number) => `${Number((v * 100).toPrecision(3))}%`;

/** Requests/s, error rate and a latency quantile (with the SLO line), every version and role on each chart. */
export function LatencyCharts({ view, sloMs }: { view: LatencyView; sloMs: number | null }) {
  const [quantile, setQuantile] = useState<Quantile>('p99');
  const name = useId();
  return (
    <div className="charts">
      <MetricChart title="Requests per second" view={view} metric="rps" unit={rps} minTop={0.01} />
      <MetricChart title="Error rate" view={view} metric="errorRate" unit={pct} minTop={0.01} />
      <div className="chart-wide">
        <fieldset className="radio-row quantile-picker">
          <legend>Latency quantile</legend>
          {(['p50', 'p95', 'p99'] as const).map((q) => (
            <label key={q} className="radio">
              <input type="radio" name={name} value={q} checked={quantile === q} onChange={() => setQuantile(q)} />
              {q}
            </label>
          ))}
        </fieldset>
        <MetricChart title={`Latency ${quantile}`} view={view} metric={quantile} unit={ms} slo={sloMs} />
      </div>
    </div>
  );
}

const ratio = (v: number) => String(Number(v.toPrecision(3)));

/** A quality metric and the labelled share (coverage) per window, every version and role on each chart. */
export function PerformanceCharts({ view, metric }: { view: LatencyView; metric: string }) {
  return (
    <div className="charts">
      <MetricChart title={metric} view={view} metric={metric} unit={ratio} />
      <MetricChart title="Coverage (labelled share)" view={view} metric="coverage" unit={pct} minTop={0.01} />
    </div>
  );
}
