import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadApiConfig, loadWorkerConfig } from './index.js';

const good = {
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  REDIS_URL: 'redis://127.0.0.1:6379',
  SESSION_SECRET: 'x'.repeat(32),
  SECRET_KEY: 'k'.repeat(32),
};

describe('loadApiConfig', () => {
  it('applies defaults and groups values by area', () => {
    const c = loadApiConfig(good);
    assert.equal(c.http.port, 8080);
    assert.equal(c.http.maxBodyBytes, 1024 * 1024);
    assert.equal(c.auth.cookieSecure, false);
    assert.equal(c.redis.prefix, 'modelyard');
    assert.equal(c.http.trustProxy, 'loopback');
    assert.equal(loadApiConfig({ ...good, TRUST_PROXY: 'false' }).http.trustProxy, false);
  });

  it('lists every bad key at once', () => {
    const err = (() => {
      try {
        loadApiConfig({ ...good, API_PORT: 'eighty', SESSION_SECRET: 'short', REDIS_URL: undefined });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.issues.map((i) => i.key).sort(), ['API_PORT', 'REDIS_URL', 'SESSION_SECRET']);
    assert.match(err.message, /API_PORT/);
  });

  it('treats empty strings as unset', () => {
    assert.equal(loadApiConfig({ ...good, API_PORT: '' }).http.port, 8080);
  });
});

describe('loadWorkerConfig', () => {
  it('does not need the api-only keys', () => {
    const { SESSION_SECRET: _unused, ...rest } = good;
    assert.equal(loadWorkerConfig(rest).worker.concurrency, 2);
  });
  it('parses booleans strictly', () => {
    assert.throws(() => loadWorkerConfig({ ...good, LOG_PRETTY: 'maybe' }), ConfigError);
  });
  it('takes the drift status thresholds, with the documented defaults', () => {
    assert.deepEqual(loadWorkerConfig(good).worker.drift.thresholds, {
      psi: { warn: 0.1, drift: 0.25 },
      js: 0.1,
      pValue: 0.05,
      driftShare: 0.5,
    });
    const t = loadWorkerConfig({ ...good, DRIFT_PSI_DRIFT: '0.4', DRIFT_P_VALUE: '0.01' }).worker.drift.thresholds;
    assert.deepEqual([t.psi.drift, t.pValue], [0.4, 0.01]);
    assert.throws(() => loadWorkerConfig({ ...good, DRIFT_JS: '2' }), ConfigError);
  });
});

describe('storage config', () => {
  const s3 = { S3_BUCKET: 'models', S3_ACCESS_KEY_ID: 'AKIDEXAMPLE', S3_SECRET_ACCESS_KEY: 'secret' };
  const azure = { AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', AZURE_CONTAINER: 'models' };
  const issuesOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof ConfigError) return e.issues;
      throw e;
    }
    assert.fail('expected a ConfigError');
  };

  it('defaults to local storage under .data/artifacts, in both api and worker', () => {
    for (const c of [loadApiConfig(good), loadWorkerConfig(good)]) {
      assert.deepEqual(c.storage, {
        defaultBackend: 'local',
        maxUploadBytes: 512 * 1024 * 1024,
        local: { root: '.data/artifacts' },
        s3: null,
        azure: null,
        importPrefixes: [],
      });
    }
  });

  it('reads STORAGE_IMPORT_PREFIXES as a list of storage URIs, refusing other schemes and dot segments', () => {
    const c = loadApiConfig({ ...good, STORAGE_IMPORT_PREFIXES: ' s3://b/shared, file:///data/public/ ,' });
    assert.deepEqual(c.storage.importPrefixes, ['s3://b/shared', 'file:///data/public/']);
    for (const bad of ['https://b/shared', 's3://b/shared/../secret', 'shared/'])
      assert.deepEqual(
        issuesOf(() => loadWorkerConfig({ ...good, STORAGE_IMPORT_PREFIXES: bad })).map((i) =>
          i.key.startsWith('STORAGE_IMPORT_PREFIXES'),
        ),
        [true],
        bad,
      );
  });

  it('refuses a default backend without where its artifacts live, naming each missing key', () => {
    const issues = issuesOf(() => loadApiConfig({ ...good, STORAGE_DEFAULT: 's3' }));
    assert.deepEqual(
      issues.map((i) => i.key),
      ['S3_BUCKET'],
    );
    assert.match(issues[0]!.message, /STORAGE_DEFAULT=s3/);
    const az = issuesOf(() => loadWorkerConfig({ ...good, STORAGE_DEFAULT: 'azure' }));
    assert.deepEqual(az.map((i) => i.key).sort(), ['AZURE_CONTAINER', 'AZURE_STORAGE_CONNECTION_STRING']);
  });

  it('uses the pod identity for S3 when neither static key is set, and refuses one key without the other', () => {
    const c = loadWorkerConfig({ ...good, STORAGE_DEFAULT: 's3', S3_BUCKET: 'models' });
    assert.equal(c.storage.s3!.accessKeyId, undefined);
    assert.equal(c.storage.s3!.secretAccessKey, undefined);
    const issues = issuesOf(() =>
      loadApiConfig({ ...good, STORAGE_DEFAULT: 's3', S3_BUCKET: 'm', S3_ACCESS_KEY_ID: 'AKID' }),
    );
    assert.deepEqual(
      issues.map((i) => i.key),
      ['S3_SECRET_ACCESS_KEY'],
    );
    assert.match(issues[0]!.message, /required with S3_ACCESS_KEY_ID \(or set neither to use the pod identity\)/);
  });

  it('uses the pod identity for Azure given the account URL, and refuses it together with a connection string', () => {
    const url = 'https://acct.blob.core.windows.net';
    const c = loadApiConfig({
      ...good,
      STORAGE_DEFAULT: 'azure',
      AZURE_CONTAINER: 'models',
      AZURE_STORAGE_ACCOUNT_URL: url,
    });
    assert.deepEqual(c.storage.azure, { accountUrl: url, container: 'models' });
    const issues = issuesOf(() => loadApiConfig({ ...good, ...azure, AZURE_STORAGE_ACCOUNT_URL: url }));
    assert.deepEqual(
      issues.map((i) => i.key),
      ['AZURE_STORAGE_ACCOUNT_URL'],
    );
    assert.match(issues[0]!.message, /not both/);
  });

  it('lists storage problems together with the other bad keys', () => {
    const issues = issuesOf(() => loadApiConfig({ ...good, API_PORT: 'eighty', STORAGE_DEFAULT: 'azure' }));
    assert.deepEqual(issues.map((i) => i.key).sort(), [
      'API_PORT',
      'AZURE_CONTAINER',
      'AZURE_STORAGE_CONNECTION_STRING',
    ]);
  });

  it('refuses a half-configured backend that is not the default', () => {
    const issues = issuesOf(() => loadApiConfig({ ...good, AZURE_CONTAINER: 'models' }));
    assert.deepEqual(
      issues.map((i) => i.key),
      ['AZURE_STORAGE_CONNECTION_STRING'],
    );
  });

  it('configures every backend whose keys are set', () => {
    const c = loadWorkerConfig({
      ...good,
      ...s3,
      ...azure,
      STORAGE_DEFAULT: 's3',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
      MAX_UPLOAD_BYTES: '1048576',
    });
    assert.equal(c.storage.defaultBackend, 's3');
    assert.equal(c.storage.maxUploadBytes, 1048576);
    assert.deepEqual(c.storage.s3, {
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      bucket: 'models',
      forcePathStyle: true,
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret',
    });
    assert.deepEqual(c.storage.azure, { connectionString: 'UseDevelopmentStorage=true', container: 'models' });
  });

  it('rejects an unknown backend and a bad endpoint', () => {
    const issues = issuesOf(() => loadApiConfig({ ...good, STORAGE_DEFAULT: 'gcs', ...s3, S3_ENDPOINT: 'ftp://x' }));
    assert.deepEqual(issues.map((i) => i.key).sort(), ['S3_ENDPOINT', 'STORAGE_DEFAULT']);
  });
});

describe('tracing (OTEL_*)', () => {
  it('is off (null) unless an OTLP endpoint is set, and off again when the SDK is disabled or the exporter is none', () => {
    assert.equal(loadApiConfig(good).tracing, null);
    assert.equal(loadWorkerConfig({ ...good, OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' }).tracing, null);
    const on = { ...good, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' };
    assert.equal(loadApiConfig(on).tracing?.url, 'http://collector:4318/v1/traces');
    assert.equal(loadApiConfig({ ...on, OTEL_SDK_DISABLED: 'true' }).tracing, null);
    assert.equal(loadWorkerConfig({ ...on, OTEL_TRACES_EXPORTER: 'none' }).tracing, null);
  });

  it('takes the standard defaults, and the trace-specific variables over the general ones', () => {
    const t = loadWorkerConfig({ ...good, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).tracing!;
    assert.equal(t.protocol, 'http/protobuf');
    assert.deepEqual(t.sampler, { root: 'always_on', parentBased: true, ratio: 1 });
    assert.equal(t.timeoutMs, 10_000);
    assert.equal(t.serviceName, null);
    assert.equal(t.batch.scheduledDelayMillis, 5000);
    const s = loadApiConfig({
      ...good,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp/v1/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=a,api-key=s%3Dcret',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=b',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.01',
      OTEL_SERVICE_NAME: 'scoring',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, team=ml',
    }).tracing!;
    assert.equal(s.url, 'https://traces.example/otlp/v1/traces');
    assert.equal(s.protocol, 'http/json');
    assert.deepEqual(s.headers, { 'x-tenant': 'b', 'api-key': 's=cret' });
    assert.deepEqual(s.sampler, { root: 'traceidratio', parentBased: true, ratio: 0.01 });
    assert.equal(s.serviceName, 'scoring');
    assert.deepEqual(s.resourceAttributes, { 'deployment.environment': 'prod', team: 'ml' });
  });

  it('refuses a sampler, ratio, protocol or header list it cannot honour, naming the key but not the value', () => {
    const keys = (env: Record<string, string>) => {
      try {
        loadApiConfig({ ...good, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', ...env });
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        assert.doesNotMatch(e.message, /hunter2/);
        return e.issues.map((i) => i.key).sort();
      }
      return [];
    };
    assert.deepEqual(keys({ OTEL_TRACES_SAMPLER: 'sometimes' }), ['OTEL_TRACES_SAMPLER']);
    assert.deepEqual(keys({ OTEL_TRACES_SAMPLER_ARG: '5' }), ['OTEL_TRACES_SAMPLER_ARG']);
    assert.deepEqual(keys({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), ['OTEL_EXPORTER_OTLP_PROTOCOL']);
    assert.deepEqual(keys({ OTEL_EXPORTER_OTLP_HEADERS: 'authorization hunter2' }), ['OTEL_EXPORTER_OTLP_HEADERS']);
    assert.deepEqual(keys({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318' }), [
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    ]);
  });
});
