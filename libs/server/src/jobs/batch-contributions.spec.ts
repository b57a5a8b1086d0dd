import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServedVersion } from '../engine/index.js';
import { withRowBudget, type ExplainRows } from './batch-contributions.js';

describe(withRowBudget.name, () => {
  const sv = {} as ServedVersion;
  const x = new Float32Array(0);

  it('explains up to the budget, counting the rows earlier chunks spent, and refuses the call past it unexplained', async () => {
    const asked: number[] = [];
    const explain: ExplainRows = async (_sv, _x, n) => {
      asked.push(n);
      return [];
    };
    const budgeted = withRowBudget(explain, 10, 4);
    await budgeted(sv, x, 3);
    await budgeted(sv, x, 3);
    await assert.rejects(budgeted(sv, x, 1), /at most 10 rows a job \(BATCH_CONTRIBUTIONS_MAX_ROWS\)/);
    assert.deepEqual(asked, [3, 3], 'the call past the budget explained nothing');
  });
});
