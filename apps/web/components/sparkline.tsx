/**
 * Requests per step as a line, for a table cell; `label` is what a screen reader hears instead. A plain SVG drawn
 * on the server: the overview has one per model, and 50 chart components (a resize observer and a render each in
 * the browser) cost the page more than all of its data did.
 */
export function Sparkline({ data, label }: { data: { t: number; requests: number }[]; label: string }) {
  const W = 96;
  const H = 32;
  const PAD = 2;
  const max = Math.max(0, ...data.map((d) => d.requests));
  const x = (i: number) => PAD + (data.length > 1 ? (i / (data.length - 1)) * (W - 2 * PAD) : (W - 2 * PAD) / 2);
  const y = (v: number) => H - PAD - (max > 0 ? (v / max) * (H - 2 * PAD) : 0);
  const d = data.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)} ${y(p.requests).toFixed(1)}`).join(' ');
  return (
    <svg className="sparkline" role="img" aria-label={label} viewBox={`0 0 ${W} ${H}`} width={W} height={H}>
      {d ? <path className="sparkline-line" d={d} fill="none" stroke="#4338ca" strokeWidth={1.5} /> : null}
    </svg>
  );
}
