import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pickEvictions, type LoadedEntry } from './eviction.js';

const MB = 1024 * 1024;
const entry = (key: string, mb: number, lastUsed: number, deployed = false): LoadedEntry => ({
  key,
  bytes: mb * MB,
  lastUsed,
  deployed,
});

describe('pickEvictions', () => {
  it('evicts nothing within the cap', () => {
    assert.deepEqual(pickEvictions([entry('a@1', 10, 1), entry('a@2', 10, 2)], 20 * MB, 'a@2'), []);
  });

  it('evicts the least recently used versions until the total fits', () => {
    const loaded = [entry('a@1', 10, 5), entry('a@2', 10, 1), entry('b@1', 10, 3), entry('b@2', 10, 9)];
    assert.deepEqual(pickEvictions(loaded, 20 * MB, 'b@2'), ['a@2', 'b@1']);
  });

  it('never evicts a deployed version or the one just loaded, even past the cap', () => {
    const loaded = [entry('a@1', 50, 1, true), entry('a@2', 50, 2, true), entry('a@3', 10, 3), entry('a@4', 30, 0)];
    assert.deepEqual(pickEvictions(loaded, 20 * MB, 'a@4'), ['a@3']);
  });
});
