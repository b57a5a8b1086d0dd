import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { AppError, JobsRepository, RegistryValidationService } from '@modelyard/server';
import { uniqueId } from '@modelyard/testing';
import { multipart, startTestApp, type TestApp } from '../test-support.js';

const MODEL_FILE = path.resolve('test/fixtures/models/iris_logreg/model.onnx');
const MODEL_BYTES = readFileSync(MODEL_FILE);
const IRIS_ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

/** Every file under `dir` (none when it does not exist). */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

/**
 * Project quotas, set by a platform admin through PATCH /v1/projects/{p}, against the real api (real Postgres,
 * Redis and storage): each limit refuses what would pass it with a 4xx/429 naming it, and GET reports usage.
 */
describe('project quotas', () => {
  let t: TestApp;
  const token = () => t.adminKey;
  const newProject = async (quotas: Record<string, number | null>) => {
    const name = uniqueId('quota').toLowerCase();
    const r = await t.request('POST', '/v1/projects', { token: token(), body: { name } });
    assert.equal(r.status, 201, r.body);
    const q = await t.request('PATCH', `/v1/projects/${name}`, { token: token(), body: { quotas } });
    assert.equal(q.status, 200, q.body);
    return name;
  };
  const upload = (project: string, model: string, file = MODEL_BYTES) => {
    const m = multipart(file);
    return t.request('POST', `/v1/projects/${project}/models/${model}/versions`, {
      token: token(),
      body: m.body,
      headers: m.headers,
    });
  };
  /** An uploaded version made ready as the worker's registry.validate job does, run in this process (no worker here). */
  const readyVersion = async (project: string, model: string) => {
    const v = await upload(project, model);
    assert.equal(v.status, 202, v.body);
    await t.app
      .get(RegistryValidationService)
      .handle(
        { versionId: v.json.id },
        { jobId: 'validate', attempt: 1, maxAttempts: 1, updateProgress: async () => {} },
      );
  };
  /** A model file in the project's own storage (projects/<p>/), to register by reference. */
  const ownFile = (project: string) => {
    const file = path.join(path.resolve(t.config.storage.local.root), 'projects', project, 'model.onnx');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, MODEL_BYTES);
    return file;
  };
  const usage = async (project: string) => {
    const r = await t.request('GET', `/v1/projects/${project}`, { token: token() });
    assert.equal(r.status, 200, r.body);
    return r.json as { quotas: Record<string, number | null>; usage: Record<string, number> };
  };

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t?.close();
  });

  it('refuses a version past maxVersions with a 409 naming the limit, by upload and by URI, and reports usage', async () => {
    const p = await newProject({ maxVersions: 2 });
    assert.equal((await upload(p, 'iris')).status, 202);
    assert.equal((await upload(p, 'other')).status, 202);

    const third = await upload(p, 'iris');
    assert.equal(third.status, 409, third.body);
    assert.equal(third.json.error.code, 'CONFLICT');
    assert.match(third.json.error.message, /quota of 2 model versions \(maxVersions\)/);
    assert.deepEqual(third.json.error.details, { quota: 'maxVersions', limit: 2, used: 2 });

    // By reference to a file in the project's own storage: counted the same.
    const own = ownFile(p);
    const byUri = await t.request('POST', `/v1/projects/${p}/models/iris/versions`, {
      token: token(),
      body: { artifactUri: pathToFileURL(own).href },
    });
    assert.equal(byUri.status, 409, byUri.body);
    assert.match(byUri.json.error.message, /maxVersions/);

    const seen = await usage(p);
    assert.equal(seen.quotas.maxVersions, 2);
    assert.equal(seen.usage.versions, 2);
    const versions = await t.request('GET', `/v1/projects/${p}/models/iris/versions`, { token: token() });
    assert.equal(versions.json.length, 1, 'the refused registrations left no version behind');

    // The quota, not anything else, refused them: raised, the same registration goes through.
    await t.request('PATCH', `/v1/projects/${p}`, { token: token(), body: { quotas: { maxVersions: 3 } } });
    assert.equal((await upload(p, 'iris')).status, 202);
  });

  it("refuses MLflow's create-model-version past maxVersions with RESOURCE_LIMIT_EXCEEDED", async () => {
    const p = await newProject({ maxVersions: 1 });
    const mlflow = (method: string, route: string, body?: unknown) =>
      t.request(method, `/projects/${p}/api/2.0/mlflow/${route}`, { token: token(), body });
    assert.equal((await mlflow('POST', 'registered-models/create', { name: 'mlf' })).status, 200);
    const run = await mlflow('POST', 'runs/create', { experiment_id: '0', start_time: 1, tags: [] });
    assert.equal(run.status, 200, run.body);
    const runId = run.json.run.info.run_id as string;
    const put = await t.request(
      'PUT',
      `/projects/${p}/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts/m.onnx`,
      {
        token: token(),
        body: MODEL_BYTES,
        headers: { 'content-type': 'application/octet-stream' },
      },
    );
    assert.equal(put.status, 200, put.body);
    const create = () => mlflow('POST', 'model-versions/create', { name: 'mlf', source: `runs:/${runId}/m.onnx` });
    assert.equal((await create()).status, 200);
    const over = await create();
    assert.equal(over.status, 409, over.body);
    assert.equal(over.json.error_code, 'RESOURCE_LIMIT_EXCEEDED');
    assert.match(over.json.message, /maxVersions/);
  });

  it('lets exactly one of several concurrent registrations through at the versions quota minus one', async () => {
    const p = await newProject({ maxVersions: 3 });
    assert.equal((await upload(p, 'race')).status, 202);
    assert.equal((await upload(p, 'race')).status, 202);
    // By reference (no upload to wait for), to models of their own: they reach the database together.
    const own = ownFile(p);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        t.request('POST', `/v1/projects/${p}/models/race-${i}/versions`, {
          token: token(),
          body: { artifactUri: pathToFileURL(own).href },
        }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [202, 409, 409, 409, 409, 409, 409, 409], answers.map((a) => a.body).join('\n'));
    assert.equal((await usage(p)).usage.versions, 3);
  });

  it('refuses an upload past maxStoredBytes with a 413 naming the limit, storing nothing of it', async () => {
    const size = MODEL_BYTES.length;
    const p = await newProject({ maxStoredBytes: Math.floor(size * 1.5) });
    assert.equal((await upload(p, 'big')).status, 202);
    const stored = path.join(path.resolve(t.config.storage.local.root), 'models', p);
    const before = filesUnder(stored);

    const second = await upload(p, 'big');
    assert.equal(second.status, 413, second.body);
    assert.equal(second.json.error.code, 'PAYLOAD_TOO_LARGE');
    assert.match(second.json.error.message, /maxStoredBytes/);
    assert.equal(second.json.error.details.quota, 'maxStoredBytes');
    assert.deepEqual(filesUnder(stored), before, 'nothing of the refused upload is left in storage');
    const versions = await t.request('GET', `/v1/projects/${p}/models/big/versions`, { token: token() });
    assert.equal(versions.json.length, 1);
    const seen = await usage(p);
    assert.equal(seen.usage.storedBytes, size);

    // A small file still fits in what is left.
    const small = await upload(p, 'small', MODEL_BYTES.subarray(0, Math.floor(size * 0.4)));
    assert.equal(small.status, 202, small.body);
  });

  describe('with a ready version in Production', () => {
    let p: string;
    let key: string;

    before(async () => {
      p = await newProject({});
      await readyVersion(p, 'iris');
      const stage = await t.request('POST', `/v1/projects/${p}/models/iris/versions/1/stage`, {
        token: token(),
        body: { stage: 'Production' },
      });
      assert.equal(stage.status, 200, stage.body);
      const sa = await t.request('POST', `/v1/projects/${p}/service-accounts`, {
        token: token(),
        body: { name: 'app', role: 'scientist' },
      });
      assert.equal(sa.status, 201, sa.body);
      const k = await t.request('POST', `/v1/projects/${p}/api-keys`, {
        token: token(),
        body: { name: 'app', scopes: ['predict', 'jobs'], serviceAccountId: sa.json.id },
      });
      assert.equal(k.status, 201, k.body);
      key = k.json.secret;
    });

    it('answers 429 with Retry-After past maxConcurrentJobs, for batch and async jobs, until one ends', async () => {
      await t.request('PATCH', `/v1/projects/${p}`, { token: token(), body: { quotas: { maxConcurrentJobs: 1 } } });
      const batch = () => {
        const m = multipart(
          Buffer.from('sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n'),
          {
            model: 'iris',
            version: 1,
          },
          'input.csv',
        );
        return t.request('POST', '/v1/jobs', { token: key, body: m.body, headers: m.headers });
      };
      const first = await batch();
      assert.equal(first.status, 202, first.body);

      const second = await batch();
      assert.equal(second.status, 429, second.body);
      assert.equal(second.json.error.code, 'RATE_LIMITED');
      assert.match(second.json.error.message, /maxConcurrentJobs 1/);
      assert.ok(Number(second.headers['retry-after']) >= 1, 'Retry-After is set');
      const asyncJob = await t.request('POST', '/v1/models/iris/predict:async', {
        token: key,
        body: { payload: [IRIS_ROW] },
      });
      assert.equal(asyncJob.status, 429, asyncJob.body);
      assert.match(asyncJob.json.error.message, /maxConcurrentJobs/);
      assert.equal((await usage(p)).usage.concurrentJobs, 1);

      // No worker runs here, so the first job stays queued until it is cancelled; then there is room again.
      const cancel = await t.request('POST', `/v1/jobs/${first.json.id}/cancel`, { token: key });
      assert.equal(cancel.status, 200, cancel.body);
      const third = await t.request('POST', '/v1/models/iris/predict:async', {
        token: key,
        body: { payload: [IRIS_ROW] },
      });
      assert.equal(third.status, 202, third.body);
    });

    /** A 500-row CSV job input, its upload, and room under maxStoredBytes for one and a half of them. */
    const JOB_CSV = Buffer.from(
      'sepal_length,sepal_width,petal_length,petal_width\n' + '5.1,3.5,1.4,0.2\n'.repeat(500),
    );
    const uploadJob = () => {
      const m = multipart(JOB_CSV, { model: 'iris', version: 1 }, 'input.csv');
      return t.request('POST', '/v1/jobs', { token: key, body: m.body, headers: m.headers });
    };
    const roomForOneJob = async () => {
      const used = (await usage(p)).usage.storedBytes;
      const quotas = { maxConcurrentJobs: null, maxStoredBytes: used + Math.floor(JOB_CSV.length * 1.5) };
      await t.request('PATCH', `/v1/projects/${p}`, { token: token(), body: { quotas } });
      return used;
    };

    it("counts a batch job's uploaded input in maxStoredBytes: 413 past it storing nothing, freed when the job is deleted", async () => {
      const versionBytes = await roomForOneJob();
      const jobsFolder = path.join(path.resolve(t.config.storage.local.root), 'projects', p, 'jobs');
      const earlier = filesUnder(jobsFolder);
      const first = await uploadJob();
      assert.equal(first.status, 202, first.body);
      assert.equal((await usage(p)).usage.storedBytes, versionBytes + JOB_CSV.length);
      const stored = filesUnder(jobsFolder);
      assert.equal(stored.length, earlier.length + 1, stored.join('\n'));

      const second = await uploadJob();
      assert.equal(second.status, 413, second.body);
      assert.equal(second.json.error.code, 'PAYLOAD_TOO_LARGE');
      assert.equal(second.json.error.details.quota, 'maxStoredBytes');
      assert.deepEqual(filesUnder(jobsFolder), stored, 'nothing of the refused upload is left in storage');

      // Another project's key (the default project's, with the jobs scope) does not see the job: 404, nothing removed.
      const outsider = (await t.keyWithScopes(['jobs'], 'admin')).secret;
      const foreign = await t.request('DELETE', `/v1/jobs/${first.json.id}`, { token: outsider });
      assert.equal(foreign.status, 404, foreign.body);
      assert.deepEqual(filesUnder(jobsFolder), stored, "another project's DELETE removed nothing");

      // A queued job is not deleted (409); cancelled, it is, with its upload, and its bytes are free again.
      const early = await t.request('DELETE', `/v1/jobs/${first.json.id}`, { token: key });
      assert.equal(early.status, 409, early.body);
      assert.match(early.json.error.message, /cancel it first/);
      assert.equal((await t.request('POST', `/v1/jobs/${first.json.id}/cancel`, { token: key })).status, 200);
      const del = await t.request('DELETE', `/v1/jobs/${first.json.id}`, { token: key });
      assert.equal(del.status, 204, del.body);
      assert.equal((await t.request('GET', `/v1/jobs/${first.json.id}`, { token: key })).status, 404);
      assert.deepEqual(filesUnder(jobsFolder), earlier, 'the upload went with the job');
      assert.equal((await usage(p)).usage.storedBytes, versionBytes);
      const third = await uploadJob();
      assert.equal(third.status, 202, third.body);
      assert.equal((await t.request('POST', `/v1/jobs/${third.json.id}/cancel`, { token: key })).status, 200);
    });

    it('lets one of two concurrent uploads through when the stored-bytes quota has room for one, keeping no file of the other', async () => {
      const used = await roomForOneJob();
      const jobsFolder = path.join(path.resolve(t.config.storage.local.root), 'projects', p, 'jobs');
      const before = filesUnder(jobsFolder);
      // Both find room before their upload; the second one's admission, with the size and the project locked,
      // refuses it and removes what it stored.
      const answers = await Promise.all([uploadJob(), uploadJob()]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [202, 413], answers.map((a) => a.body).join('\n'));
      assert.equal(filesUnder(jobsFolder).length, before.length + 1);
      assert.equal((await usage(p)).usage.storedBytes, used + JOB_CSV.length);
      const ok = answers.find((a) => a.status === 202)!;
      assert.equal((await t.request('POST', `/v1/jobs/${ok.json.id}/cancel`, { token: key })).status, 200);
    });

    it("refuses to delete a model while one of its jobs is queued (409), then deletes it with its finished jobs' files and their bytes", async () => {
      await t.request('PATCH', `/v1/projects/${p}`, {
        token: token(),
        body: { quotas: { maxStoredBytes: null, maxConcurrentJobs: null } },
      });
      await readyVersion(p, 'doomed');
      const jobsFolder = path.join(path.resolve(t.config.storage.local.root), 'projects', p, 'jobs');
      const before = filesUnder(jobsFolder);
      const bytesBefore = (await usage(p)).usage.storedBytes;
      const m = multipart(JOB_CSV, { model: 'doomed', version: 1 }, 'input.csv');
      const job = await t.request('POST', '/v1/jobs', { token: key, body: m.body, headers: m.headers });
      assert.equal(job.status, 202, job.body);
      assert.equal(filesUnder(jobsFolder).length, before.length + 1, 'the upload is stored');

      // Queued (no worker runs here): the model stays, and so do the job and its upload.
      const early = await t.request('DELETE', `/v1/projects/${p}/models/doomed`, { token: token() });
      assert.equal(early.status, 409, early.body);
      assert.equal(early.json.error.code, 'CONFLICT');
      assert.match(early.json.error.message, /1 queued or running job/);
      assert.equal((await t.request('GET', `/v1/jobs/${job.json.id}`, { token: key })).status, 200);
      assert.equal(filesUnder(jobsFolder).length, before.length + 1);

      assert.equal((await t.request('POST', `/v1/jobs/${job.json.id}/cancel`, { token: key })).status, 200);
      const del = await t.request('DELETE', `/v1/projects/${p}/models/doomed`, { token: token() });
      assert.equal(del.status, 204, del.body);
      assert.equal((await t.request('GET', `/v1/jobs/${job.json.id}`, { token: key })).status, 404);
      assert.deepEqual(filesUnder(jobsFolder), before, "the job's upload went with the model");
      assert.equal(
        (await usage(p)).usage.storedBytes,
        bytesBefore - MODEL_BYTES.length,
        "the version's and the job's bytes are free again",
      );
    });

    it('answers 404, not 500, when the model of a job being inserted was deleted since it was looked up', async () => {
      // The insert of a job whose model row is gone (deleted between the submission's lookup and its insert, which
      // waits on the model's lock while the deletion runs) fails on its foreign key in Postgres.
      const insert = t.app.get(JobsRepository).create({
        id: randomUUID(),
        type: 'batch_score',
        modelId: randomUUID(),
        modelName: `${p}/gone`,
        createdByKind: 'user',
      });
      await assert.rejects(insert, (e: AppError) => {
        assert.equal(e.code, 'NOT_FOUND', String(e));
        assert.match(e.message, /gone/);
        return true;
      });
    });

    it('answers 429 with Retry-After naming maxRequestsPerSecond past the project quota on the predict path', async () => {
      await t.request('PATCH', `/v1/projects/${p}`, {
        token: token(),
        body: { quotas: { maxRequestsPerSecond: 2 } },
      });
      const statuses: number[] = [];
      let refusal: Awaited<ReturnType<TestApp['request']>> | null = null;
      const started = Date.now();
      for (let i = 0; i < 20; i++) {
        const r = await t.request('POST', '/v1/models/iris/predict', { token: key, body: { payload: [IRIS_ROW] } });
        statuses.push(r.status);
        if (r.status === 429) refusal ??= r;
      }
      const seconds = (Date.now() - started) / 1000;
      const ok = statuses.filter((s) => s === 200).length;
      assert.deepEqual([...new Set(statuses)].sort(), [200, 429], statuses.join(','));
      // A burst of one second's worth (2), the refill since, and one lease of slack.
      assert.ok(ok <= 2 + Math.ceil(seconds * 2) + 1, `${ok} answered in ${seconds} s`);
      assert.match(refusal!.json.error.message, new RegExp(`Project ${p} is over its quota of 2 requests/s`));
      assert.match(refusal!.json.error.message, /maxRequestsPerSecond/);
      assert.ok(Number(refusal!.headers['retry-after']) >= 1);

      // Lifted, the project's callers are served again.
      await t.request('PATCH', `/v1/projects/${p}`, {
        token: token(),
        body: { quotas: { maxRequestsPerSecond: null } },
      });
      const again = await t.request('POST', '/v1/models/iris/predict', { token: key, body: { payload: [IRIS_ROW] } });
      assert.equal(again.status, 200, again.body);
    });
  });
});
