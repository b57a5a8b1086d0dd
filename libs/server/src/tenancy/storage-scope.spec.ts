import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkStorageReference } from './storage-scope.js';
import { SYSTEM, type Principal } from '../auth/principal.js';
import { AppError } from '../platform/errors.js';

const inProject = (name: string) => ({ ...SYSTEM, project: { id: name, name } }) as Principal;
const refused = (actor: Principal, key: string) =>
  assert.throws(
    () => checkStorageReference(actor, key, 'artifactUri'),
    (e: unknown) => e instanceof AppError,
  );
const allowed = (actor: Principal, key: string) => checkStorageReference(actor, key, 'artifactUri');

describe('checkStorageReference', () => {
  it('lets a project read only under projects/<its name>/', () => {
    allowed(inProject('team-b'), 'projects/team-b/data/in.csv');
    refused(inProject('team-b'), 'projects/team-a/data/in.csv');
    refused(inProject('team-b'), 'inputs/in.csv');
  });

  it('never lets a caller point at the platform own storage, however the key is spelt', () => {
    for (const key of [
      'models/iris/1/model.onnx',
      'jobs/j1/input.csv',
      'mlflow-artifacts/0/r/artifacts/m',
      '/models/x',
      './jobs/x',
      'a/../models/x',
      'projects/team-b/../team-a/x',
    ])
      refused(inProject('default'), key);
    refused(inProject('team-b'), '//projects/team-a/x');
  });

  it('lets the default project read elsewhere, as before projects, and the system anywhere', () => {
    allowed(inProject('default'), 'inputs/customers.csv');
    allowed(inProject('default'), 'projects/default/x.csv');
    allowed(SYSTEM, 'models/iris/1/model.onnx');
  });
});
