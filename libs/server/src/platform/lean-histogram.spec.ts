import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { LeanHistogram } from './lean-histogram.js';

describe('LeanHistogram', () => {
  it("exposes exactly the text prom-client's Histogram does for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const bounds = [0.001, 0.01, 0.1];
    const lean = new LeanHistogram('x_seconds', 'help text', ['model', 'status'], bounds, ours);
    const ref = new Histogram({
      name: 'x_seconds',
      help: 'help text',
      labelNames: ['model', 'status'],
      buckets: bounds,
      registers: [theirs],
    });
    const seen: [string, string, number][] = [
      ['iris', '200', 0.0004],
      ['iris', '200', 0.001],
      ['iris', '200', 0.05],
      ['iris', '400', 3],
      ['digits', '200', 0.002],
    ];
    for (const [model, status, v] of seen) {
      lean.series([model, status]).observe(v);
      ref.observe({ model, status }, v);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.match(await ours.metrics(), /x_seconds_count\{model="iris",status="200"\} 3/);
  });

  it('keeps one series per label set and ignores values that are not finite', () => {
    const lean = new LeanHistogram('y_seconds', 'h', ['model'], [1], new Registry());
    const a = lean.series(['m']);
    assert.equal(lean.series(['m']), a);
    a.observe(Number.NaN);
    a.observe(0.5);
    assert.equal(a.count, 1);
    assert.deepEqual([...a.counts], [1, 0]);
  });
});

describe('LeanHistogram series cap', () => {
  it("counts label sets past the cap under one (overflow) series, and removes a value's series", async () => {
    const registry = new Registry();
    const h = new LeanHistogram('capped_seconds', 'help', ['model', 'status'], [0.1, 1], registry, 3);
    for (let i = 0; i < 100; i++) h.series([`m${i}`, '404']).observe(0.01);
    assert.equal(h.size, 4);
    const text = await registry.metrics();
    assert.match(text, /capped_seconds_count\{model="\(overflow\)",status="\(overflow\)"\} 97/);
    h.remove('model', 'm1');
    assert.equal(h.size, 3);
    assert.doesNotMatch(await registry.metrics(), /model="m1"/);
  });
});
