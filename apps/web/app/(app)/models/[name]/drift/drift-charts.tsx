'use client';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';

/**
 * The two charts of the feature detail. Client components only because recharts measures and draws in the
 * browser; the server page hands them plain numbers. Each chart sits in a <figure> whose caption says what it
 * shows, and the page puts the same numbers in a table beside it, so nothing is available as a picture only.
 */

const REFERENCE = '#98a2b3';
const CURRENT = '#4338ca';
const PSI = '#4338ca';
const JS = '#0e9384';
const P = '#b54708';
const THRESHOLD = '#b42318';

const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : String(v));

export interface HistogramBin {
  bin: string;
  reference: number;
  current: number;
}

/** Reference vs current as shares of their rows (the window usually has a different size than the reference). */
export function HistogramChart({ bins, label }: { bins: HistogramBin[]; label: string }) {
  return (
    <BarChart
      responsive
      style={{ width: '100%', height: 280 }}
      data={bins}
      margin={{ top: 8, right: 8, bottom: 8, left: 0 }}
      title={label}
      accessibilityLayer
    >
      <CartesianGrid strokeDasharray="3 3" vertical={false} />
      <XAxis dataKey="bin" tick={{ fontSize: 11 }} interval="preserveStartEnd" />
      <YAxis tickFormatter={pct} tick={{ fontSize: 11 }} width={48} />
      <Tooltip formatter={(v) => pct(v)} />
      <Legend itemSorter={null} />
      <Bar dataKey="reference" name="Reference" fill={REFERENCE} isAnimationActive={false} />
      <Bar dataKey="current" name="Current window" fill={CURRENT} isAnimationActive={false} />
    </BarChart>
  );
}

export interface SeriesPoint {
  window: string;
  psi: number | null;
  js: number | null;
  pValue: number | null;
}

export interface Thresholds {
  psi: { warn: number; drift: number };
  js: number;
  pValue: number;
}

/** PSI and JS distance share an axis (both are 0 for identical distributions); the thresholds are dashed lines. */
export function DistanceChart({
  points,
  thresholds,
  label,
}: {
  points: SeriesPoint[];
  thresholds: Thresholds | null;
  label: string;
}) {
  return (
    <LineChart
      responsive
      style={{ width: '100%', height: 260 }}
      data={points}
      margin={{ top: 8, right: 8, bottom: 8, left: 0 }}
      title={label}
      accessibilityLayer
    >
      <CartesianGrid strokeDasharray="3 3" vertical={false} />
      <XAxis dataKey="window" tick={{ fontSize: 11 }} />
      <YAxis tick={{ fontSize: 11 }} width={48} />
      <Tooltip />
      <Legend itemSorter={null} />
      {thresholds ? (
        <>
          <ReferenceLine
            y={thresholds.psi.warn}
            stroke={THRESHOLD}
            strokeDasharray="2 4"
            label={{ value: `PSI warn ${thresholds.psi.warn}`, fontSize: 10, position: 'insideBottomLeft' }}
          />
          <ReferenceLine
            y={thresholds.psi.drift}
            stroke={THRESHOLD}
            strokeDasharray="6 3"
            label={{ value: `PSI drift ${thresholds.psi.drift}`, fontSize: 10, position: 'insideTopLeft' }}
          />
          {thresholds.js !== thresholds.psi.warn ? (
            <ReferenceLine
              y={thresholds.js}
              stroke={JS}
              strokeDasharray="2 4"
              label={{ value: `JS ${thresholds.js}`, fontSize: 10, position: 'insideTopRight' }}
            />
          ) : null}
        </>
      ) : null}
      <Line
        type="monotone"
        dataKey="psi"
        name="PSI"
        stroke={PSI}
        strokeWidth={2}
        dot={{ r: 3 }}
        connectNulls
        isAnimationActive={false}
      />
      <Line
        type="monotone"
        dataKey="js"
        name="JS distance"
        stroke={JS}
        strokeWidth={2}
        dot={{ r: 3 }}
        connectNulls
        isAnimationActive={false}
      />
    </LineChart>
  );
}

/** p-values live between 0 and 1 and matter near 0: a log axis, with values below its floor drawn on the floor. */
const P_FLOOR = 1e-12;
export function PValueChart({
  points,
  threshold,
  label,
}: {
  points: SeriesPoint[];
  threshold: number | null;
  label: string;
}) {
  const data = points.map((p) => ({
    window: p.window,
    pValue: p.pValue === null ? null : Math.max(p.pValue, P_FLOOR),
    raw: p.pValue,
  }));
  return (
    <LineChart
      responsive
      style={{ width: '100%', height: 260 }}
      data={data}
      margin={{ top: 8, right: 8, bottom: 8, left: 0 }}
      title={label}
      accessibilityLayer
    >
      <CartesianGrid strokeDasharray="3 3" vertical={false} />
      <XAxis dataKey="window" tick={{ fontSize: 11 }} />
      <YAxis
        scale="log"
        domain={[P_FLOOR, 1]}
        allowDataOverflow
        ticks={[1e-12, 1e-9, 1e-6, 1e-3, 1]}
        tickFormatter={(v: number) => v.toExponential(0)}
        tick={{ fontSize: 11 }}
        width={48}
      />
      <Tooltip
        formatter={(_v, _n, item) => {
          const raw = (item?.payload as { raw?: number | null } | undefined)?.raw;
          return raw === null || raw === undefined ? '—' : raw < P_FLOOR ? `< ${P_FLOOR}` : raw.toPrecision(3);
        }}
      />
      <Legend itemSorter={null} />
      {threshold !== null ? (
        <ReferenceLine
          y={threshold}
          stroke={THRESHOLD}
          strokeDasharray="6 3"
          label={{ value: `p ${threshold}`, fontSize: 10, position: 'insideTopLeft' }}
        />
      ) : null}
      <Line
        type="monotone"
        dataKey="pValue"
        name="p-value"
        stroke={P}
        strokeWidth={2}
        dot={{ r: 3 }}
        connectNulls
        isAnimationActive={false}
      />
    </LineChart>
  );
}
