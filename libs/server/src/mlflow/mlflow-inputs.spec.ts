import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../platform/errors.js';
import { artifactKey, artifactPathOfSource, parseArtifactPath } from './mlflow-artifacts.js';
import { matches, parseFilter } from './mlflow-filter.js';
import { onnxDataFile } from './mlmodel.js';

const invalid = (e: unknown) =>
  e instanceof AppError &&
  e.status === 400 &&
  (e.details as { mlflowErrorCode?: string }).mlflowErrorCode === 'INVALID_PARAMETER_VALUE';
const RUN = 'a'.repeat(32);

describe('parseFilter', () => {
  it("reads MLflow's clauses: =, !=, LIKE, ILIKE, IN, tags (backquoted too), joined by AND", () => {
    assert.deepEqual(parseFilter("name = 'iris' AND tags.`my team` != \"x\" and run_id IN ('a', 'b')"), [
      { key: 'name', op: '=', values: ['iris'] },
      { key: 'tags.my team', op: '!=', values: ['x'] },
      { key: 'run_id', op: 'IN', values: ['a', 'b'] },
    ]);
    assert.deepEqual(parseFilter(''), []);
    // what MlflowClient.search_registered_models adds to every search
    assert.deepEqual(parseFilter("tag.`mlflow.prompt.is_prompt` != 'true'"), [
      { key: 'tags.mlflow.prompt.is_prompt', op: '!=', values: ['true'] },
    ]);
    assert.deepEqual(parseFilter("attributes.name ilike 'IR%'"), [{ key: 'name', op: 'ILIKE', values: ['IR%'] }]);
  });

  it('refuses unknown keys, comparators, OR and junk with INVALID_PARAMETER_VALUE', () => {
    for (const f of [
      "owner = 'x'",
      "name > 'x'",
      "name = 'a' OR name = 'b'",
      "name = 'x'; DROP TABLE",
      'name = ',
      "name IN ('a'",
      "name = 'unterminated",
    ])
      assert.throws(() => parseFilter(f), invalid, f);
  });
});

describe('matches', () => {
  const row = (k: string) => ({ name: 'iris_v1', 'tags.team': 'fraud' })[k];
  it('applies LIKE and ILIKE as SQL does, with regex characters literal', () => {
    assert.equal(matches(parseFilter("name LIKE 'iris%'"), row), true);
    assert.equal(matches(parseFilter("name LIKE 'IRIS%'"), row), false);
    assert.equal(matches(parseFilter("name ILIKE 'IRIS_v_'"), row), true);
    assert.equal(matches(parseFilter("name LIKE 'iris.v1'"), row), false);
    assert.equal(matches(parseFilter("tags.team = 'fraud' AND tags.other != 'x'"), row), true);
  });
});

describe('parseArtifactPath', () => {
  it('takes paths inside one run artifacts folder and maps them under mlflow-artifacts/', () => {
    const p = parseArtifactPath(`/0/${RUN}/artifacts/model/MLmodel`);
    assert.deepEqual(p, { experimentId: '0', runId: RUN, rest: 'model/MLmodel' });
    assert.equal(artifactKey(p), `mlflow-artifacts/0/${RUN}/artifacts/model/MLmodel`);
    assert.equal(parseArtifactPath(`0/${RUN}/artifacts`).rest, '');
  });

  it('refuses traversal, backslashes, control characters and paths outside a run', () => {
    for (const p of [
      `0/${RUN}/artifacts/../../x`,
      `0/${RUN}/artifacts/./x`,
      `0/${RUN}/artifacts/a//b`,
      `0/${RUN}/artifacts/a\\..\\b`,
      `0/${RUN}/artifacts/a\u0000b`,
      `0/${RUN}/other/x`,
      `x/${RUN}/artifacts/a`,
      `0/${RUN.slice(1)}/artifacts/a`,
      `0/${RUN}/artifacts/${'a/'.repeat(40)}b`,
      `0/${RUN}/artifacts/${'a'.repeat(1100)}`,
    ])
      assert.throws(() => parseArtifactPath(p), invalid, p);
  });
});

describe('artifactPathOfSource', () => {
  it('reads mlflow-artifacts URIs with or without a host and tracking-server URLs; nothing else', () => {
    assert.equal(artifactPathOfSource(`mlflow-artifacts:/0/${RUN}/artifacts/m`), `0/${RUN}/artifacts/m`);
    assert.equal(artifactPathOfSource(`mlflow-artifacts://h:5000/0/${RUN}/artifacts/m`), `0/${RUN}/artifacts/m`);
    assert.equal(
      artifactPathOfSource(`http://h/api/2.0/mlflow-artifacts/artifacts/0/${RUN}/artifacts/m`),
      `0/${RUN}/artifacts/m`,
    );
    for (const s of ['file:///etc/passwd', 's3://b/k', 'models:/m-1', `runs:/${RUN}/m`])
      assert.equal(artifactPathOfSource(s), null, s);
  });
});

describe('onnxDataFile', () => {
  it("finds the onnx flavor's data file as mlflow.onnx.save_model writes it", () => {
    const mlmodel = [
      'artifact_path: model',
      'flavors:',
      '  python_function:',
      '    data: other.onnx',
      '    loader_module: mlflow.onnx',
      '  onnx:',
      '    code: null',
      "    data: 'model.onnx'",
      '    providers:',
      '    - CPUExecutionProvider',
      'mlflow_version: 3.11.2',
      'data: not-this.onnx',
    ].join('\n');
    assert.deepEqual(onnxDataFile(mlmodel), { file: 'model.onnx', flavors: ['python_function', 'onnx'] });
  });

  it('says null, with the flavors it saw, when there is no onnx flavor or no flavors at all', () => {
    assert.deepEqual(onnxDataFile('flavors:\n  sklearn:\n    pickled_model: m.pkl\n'), {
      file: null,
      flavors: ['sklearn'],
    });
    assert.deepEqual(onnxDataFile('just: text'), { file: null, flavors: [] });
  });
});
