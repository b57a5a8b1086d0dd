import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { uniqueId } from '@modelyard/testing';
import { jobFolder } from '@modelyard/server';
import { multipart, startTestApp, type TestApp } from '../test-support.js';

const MODEL_BYTES = readFileSync(path.resolve('test/fixtures/models/iris_logreg/model.onnx'));

/**
 * Where a project's files are and what projects may read and name beside their own: uploads and job files under
 * projects/<name>/, the operator's import prefixes (STORAGE_IMPORT_PREFIXES) matched by whole path segments, and
 * service-account names, unique per project rather than platform-wide.
 */
describe('projects: storage, import prefixes and service-account names', () => {
  let t: TestApp;
  let project: string;
  const root = path.resolve('.data/artifacts');
  const shared = uniqueId('shared');
  /** A file in the local storage root, returned as the URI a caller would name. */
  const stored = (key: string) => {
    const file = path.join(root, ...key.split('/'));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, MODEL_BYTES);
    return pathToFileURL(file).href;
  };
  const register = (uri: string) =>
    t.request('POST', `/v1/projects/${project}/models/imported/versions`, {
      token: t.adminKey,
      body: { artifactUri: uri },
    });

  before(async () => {
    t = await startTestApp({
      STORAGE_LOCAL_ROOT: root,
      STORAGE_IMPORT_PREFIXES: `${pathToFileURL(root).href}/${shared}`,
    });
    project = uniqueId('imports').toLowerCase();
    const p = await t.request('POST', '/v1/projects', { token: t.adminKey, body: { name: project } });
    assert.equal(p.status, 201, p.body);
  });
  after(async () => {
    await t?.close();
  });

  it('lets any project register from an import prefix, and from nothing that only starts like it', async () => {
    const ok = await register(stored(`${shared}/iris/model.onnx`));
    assert.equal(ok.status, 202, ok.body);

    const sibling = await register(stored(`${shared}-secret/model.onnx`));
    assert.equal(sibling.status, 403, sibling.body);
    assert.match(sibling.json.error.message, /artifactUri must be under projects\//);
    const outside = await register(stored(`${uniqueId('elsewhere')}/model.onnx`));
    assert.equal(outside.status, 403, outside.body);
  });

  it("keeps a project's uploads and job files under projects/<name>/, where its callers may not point", async () => {
    const m = multipart(MODEL_BYTES);
    const v = await t.request('POST', `/v1/projects/${project}/models/uploaded/versions`, {
      token: t.adminKey,
      body: m.body,
      headers: m.headers,
    });
    assert.equal(v.status, 202, v.body);
    const home = `${pathToFileURL(root).href}/projects/${project}/`;
    assert.ok(v.json.storage.uri.startsWith(`${home}models/uploaded/`), v.json.storage.uri);
    assert.ok(existsSync(fileURLToPath(v.json.storage.uri)));
    // The project's own callers register by upload, never by pointing at what the platform stored for them.
    const pointed = await register(v.json.storage.uri);
    assert.equal(pointed.status, 403, pointed.body);
    assert.match(pointed.json.error.message, /platform's own storage/);
    assert.equal(jobFolder(`${project}/uploaded`, 'j1'), `projects/${project}/jobs/j1/`);
    assert.equal(jobFolder('uploaded', 'j1'), 'jobs/j1/');
  });

  it('gives two projects service accounts of the same name, and refuses a second one in one project', async () => {
    const name = uniqueId('ci-bot').toLowerCase();
    const inDefault = await t.request('POST', '/v1/service-accounts', { token: t.adminKey, body: { name } });
    assert.equal(inDefault.status, 201, inDefault.body);
    const inProject = await t.request('POST', `/v1/projects/${project}/service-accounts`, {
      token: t.adminKey,
      body: { name },
    });
    assert.equal(inProject.status, 201, inProject.body);
    assert.notEqual(inProject.json.id, inDefault.json.id);

    const again = await t.request('POST', `/v1/projects/${project}/service-accounts`, {
      token: t.adminKey,
      body: { name },
    });
    assert.equal(again.status, 409, again.body);
    assert.match(again.json.error.message, new RegExp(`A service account named ${name} already exists`));
  });
});
