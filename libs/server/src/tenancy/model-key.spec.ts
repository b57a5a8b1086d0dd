import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyFor, modelKey, modelNameOf, projectOfKey } from './model-key.js';
import { SYSTEM, type Principal } from '../auth/principal.js';

describe('model keys', () => {
  it('keep default-project names as they were and qualify every other project', () => {
    assert.equal(modelKey('default', 'iris'), 'iris');
    assert.equal(modelKey('team-b', 'iris'), 'team-b/iris');
    assert.equal(modelNameOf('team-b/iris'), 'iris');
    assert.equal(modelNameOf('iris'), 'iris');
    assert.equal(projectOfKey('team-b/iris'), 'team-b');
    assert.equal(projectOfKey('iris'), 'default');
  });

  it('read a name in the principal project, so one project never names another project model', () => {
    const b = { ...SYSTEM, project: { id: 'b', name: 'team-b' } } as Principal;
    assert.equal(keyFor(b, 'iris'), 'team-b/iris');
    // A name that looks like another project's key stays inside the caller's project.
    assert.equal(keyFor(b, 'team-a/iris'), 'team-b/team-a/iris');
    assert.equal(keyFor(SYSTEM, 'team-a/iris'), 'team-a/iris');
  });
});
