import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkStorageReference, platformHome, underFolder, type StorageLocation } from './storage-scope.js';
import { SYSTEM, type Principal } from '../auth/principal.js';
import { AppError } from '../platform/errors.js';

const inProject = (name: string) => ({ ...SYSTEM, project: { id: name, name } }) as Principal;
const at = (key: string, backend = 's3'): StorageLocation => ({ backend, key });
const refused = (actor: Principal, key: string, imports: StorageLocation[] = [], backend = 's3') =>
  assert.throws(
    () => checkStorageReference(actor, at(key, backend), 'artifactUri', imports),
    (e: unknown) => e instanceof AppError && e.code === 'FORBIDDEN',
  );
const allowed = (actor: Principal, key: string, imports: StorageLocation[] = [], backend = 's3') =>
  checkStorageReference(actor, at(key, backend), 'artifactUri', imports);

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
    // A project's uploads and job files (platformHome): not even its own callers point at them.
    for (const key of [
      'projects/team-b/models/m/1/model.onnx',
      'projects/team-b/jobs/j1/input.csv',
      'projects/team-b//jobs/x',
    ])
      refused(inProject('team-b'), key);
    allowed(inProject('team-b'), 'projects/team-b/models-raw/in.csv');
  });

  it("puts a project's uploads and job files under projects/<name>/, the default project's at the root", () => {
    assert.equal(platformHome('default'), '');
    assert.equal(platformHome('team-b'), 'projects/team-b/');
  });

  it('lets the default project read elsewhere, as before projects, and the system anywhere', () => {
    allowed(inProject('default'), 'inputs/customers.csv');
    allowed(inProject('default'), 'projects/default/x.csv');
    allowed(SYSTEM, 'models/iris/1/model.onnx');
  });

  describe('import prefixes (STORAGE_IMPORT_PREFIXES)', () => {
    const shared = [at('shared')];

    it('let any project read inside a listed folder, on that backend only', () => {
      allowed(inProject('team-b'), 'shared/iris.csv', shared);
      allowed(inProject('team-b'), 'shared/deep/er/iris.csv', shared);
      refused(inProject('team-b'), 'shared/iris.csv', shared, 'local');
      refused(inProject('team-b'), 'other/iris.csv', shared);
    });

    it('match whole path segments: s3://b/shared does not open s3://b/shared-secret/', () => {
      refused(inProject('team-b'), 'shared-secret/keys.csv', shared);
      refused(inProject('team-b'), 'sharedx', shared);
      refused(inProject('team-b'), 'shared-secret/keys.csv', [at('shared/')]);
      assert.equal(underFolder('shared-secret/x', 'shared'), false);
      assert.equal(underFolder('shared/x', 'shared/'), true);
      assert.equal(underFolder('shared', 'shared'), true);
    });

    it('cannot be left with "..", nor entered by folding "//" and "./"', () => {
      refused(inProject('team-b'), 'shared/../secret/x.csv', shared);
      refused(inProject('team-b'), 'shared/../../x.csv', shared);
      allowed(inProject('team-b'), 'shared//./iris.csv', shared);
      allowed(inProject('team-b'), './shared/iris.csv', shared);
    });

    it('never open the platform own prefixes or another project, even when the whole backend is listed', () => {
      const everything = [at('')];
      allowed(inProject('team-b'), 'landing/x.csv', everything);
      refused(inProject('team-b'), 'models/iris/1/model.onnx', everything);
      refused(inProject('team-b'), 'jobs/j1/input.csv', everything);
      refused(inProject('team-b'), 'projects/team-a/x.csv', everything);
      refused(inProject('team-b'), 'projects/team-a/x.csv', [at('projects/team-a')]);
    });
  });
});
