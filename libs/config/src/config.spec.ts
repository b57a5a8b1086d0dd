import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadApiConfig, loadWorkerConfig } from './index.js';

const good = {
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  REDIS_URL: 'redis://127.0.0.1:6379',
  SESSION_SECRET: 'x'.repeat(32),
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
      try { loadApiConfig({ ...good, API_PORT: 'eighty', SESSION_SECRET: 'short', REDIS_URL: undefined }); }
      catch (e) { return e; }
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
});
