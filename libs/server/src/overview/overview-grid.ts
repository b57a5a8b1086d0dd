/**
 * The step grid of the overview's traffic series. Rollups are per minute; a week of minutes per model would be
 * 10,080 numbers times every model on the page, so the server merges minutes into steps: the shortest "round"
 * step that covers the range in at most `maxPoints` steps, aligned to multiples of itself (so a step means the
 * same minutes on every page and every refresh).
 */
const MINUTE = 60_000;
const NICE_STEPS_MIN = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];

export interface StepGrid {
  /** The first step's start: `from` rounded down to a multiple of stepMs (since the epoch). */
  start: Date;
  stepMs: number;
  /** How many steps cover [start, to]; never more than the maxPoints asked for. */
  steps: number;
}

const stepsFor = (fromMs: number, toMs: number, stepMs: number) => {
  const start = Math.floor(fromMs / stepMs) * stepMs;
  // A step holds the minutes [t, t + step); `to` itself falls in the last one.
  return { start, steps: Math.floor((toMs - start) / stepMs) + 1 };
};

export function stepGrid(from: Date, to: Date, maxPoints: number): StepGrid {
  const fromMs = from.getTime();
  const toMs = Math.max(fromMs, to.getTime());
  const points = Math.max(1, Math.floor(maxPoints));
  for (const min of NICE_STEPS_MIN) {
    const g = stepsFor(fromMs, toMs, min * MINUTE);
    if (g.steps <= points) return { start: new Date(g.start), stepMs: min * MINUTE, steps: g.steps };
  }
  // Whole days: the smallest number of days that fits (the range is bounded, so this ends quickly).
  let days = Math.max(2, Math.ceil((toMs - fromMs) / (1440 * MINUTE) / points));
  for (;;) {
    const g = stepsFor(fromMs, toMs, days * 1440 * MINUTE);
    if (g.steps <= points) return { start: new Date(g.start), stepMs: days * 1440 * MINUTE, steps: g.steps };
    days += 1;
  }
}
