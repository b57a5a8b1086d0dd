import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ScopedContext } from './scoped-context.js';

const tick = () => new Promise((r) => setImmediate(r));

describe(ScopedContext.name, () => {
  it('gives each run its own value across awaits, even when runs overlap', async () => {
    const ctx = new ScopedContext<string>();
    const seen: string[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map((v) =>
        ctx.run(v, async () => {
          await tick();
          seen.push(`${v}=${ctx.get()}`);
          await tick();
          seen.push(`${v}=${ctx.get()}`);
        }),
      ),
    );
    assert.deepEqual(seen.sort(), ['a=a', 'a=a', 'b=b', 'b=b', 'c=c', 'c=c']);
  });

  it('has no value outside a run, after one ended, and after one failed', async () => {
    const ctx = new ScopedContext<number>();
    assert.equal(ctx.get(), undefined);
    await ctx.run(1, async () => assert.equal(ctx.get(), 1));
    assert.equal(ctx.get(), undefined);
    await assert.rejects(
      ctx.run(2, async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(ctx.get(), undefined);
    assert.equal(await ctx.run(3, async () => ctx.get()), 3, 'usable again after being switched off');
  });
});
