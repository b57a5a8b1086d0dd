import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stepGrid } from './overview-grid.js';

const H = 3_600_000;
const D = 24 * H;

describe(stepGrid.name, () => {
  it('never gives more steps than asked, and they cover the whole range, for a minute up to 31 days', () => {
    const to = new Date('2026-12-06T09:41:27.123Z');
    for (const rangeMs of [60_000, 59 * 60_000, H, 6 * H, D, 7 * D, 31 * D]) {
      for (const points of [1, 2, 7, 24, 48, 49, 100, 500]) {
        const from = new Date(to.getTime() - rangeMs);
        const g = stepGrid(from, to, points);
        const what = `range ${rangeMs / 60_000} min, ${points} points`;
        assert.ok(g.steps >= 1 && g.steps <= points, `${what}: ${g.steps} steps`);
        assert.equal(g.start.getTime() % g.stepMs, 0, `${what}: aligned`);
        assert.ok(g.start <= from, `${what}: starts at or before from`);
        assert.ok(g.start.getTime() + g.steps * g.stepMs > to.getTime(), `${what}: ends after to`);
      }
    }
  });

  it('takes the shortest round step that fits: minutes for an hour, half hours for a day, 6 h for a week in 48', () => {
    const to = new Date('2026-12-06T10:00:00Z');
    assert.equal(stepGrid(new Date(to.getTime() - H), to, 61).stepMs, 60_000);
    assert.equal(stepGrid(new Date(to.getTime() - D), to, 49).stepMs, 30 * 60_000);
    assert.equal(stepGrid(new Date(to.getTime() - D), to, 48).stepMs, H);
    assert.equal(stepGrid(new Date(to.getTime() - 7 * D), to, 48).stepMs, 6 * H);
    assert.equal(stepGrid(new Date(to.getTime() - 31 * D), to, 10).stepMs, 4 * D);
  });
});
