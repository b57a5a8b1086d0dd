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
  const d = linePath(data.map((p, i) => [x(i), y(p.requests)]));
  return (
    <svg className="sparkline" role="img" aria-label={label} viewBox={`0 0 ${W} ${H}`} width={W} height={H}>
      {d ? <path className="sparkline-line" d={d} fill="none" stroke="#4338ca" strokeWidth={1.5} /> : null}
    </svg>
  );
}

/** A coordinate to a tenth of a pixel, without a trailing ".0". */
const num = (v: number) => String(Math.round(v * 10) / 10);

/**
 * The SVG path through the points, with a run at one height drawn as one horizontal segment: most models are idle
 * most of the day, and the path is sent twice per row (the HTML and the page's data), so a flat day is "M2 30H94"
 * rather than 49 points.
 */
function linePath(points: [number, number][]): string {
  const ys = points.map(([, py]) => num(py));
  let d = '';
  let lastY = '';
  points.forEach(([px], i) => {
    const inRun = i > 0 && i < points.length - 1 && ys[i] === ys[i - 1] && ys[i] === ys[i + 1];
    if (inRun) return;
    if (i === 0) d = `M${num(px)} ${ys[i]}`;
    else d += ys[i] === lastY ? `H${num(px)}` : `L${num(px)} ${ys[i]}`;
    lastY = ys[i]!;
  });
  return d;
}
