import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { startTracing, tracing } from '@modelyard/server';
// The whole api, predict router included, as main.ts loads it.
import '../app.js';

/** The OpenTelemetry SDK's and exporters' files in this process (CommonJS packages, so in require's cache). */
const sdkFiles = () =>
  Object.keys(createRequire(import.meta.url).cache).filter((f) =>
    /@opentelemetry[/\\](sdk-|exporter-|otlp-|resources|context-async-hooks)/.test(f),
  );

describe('tracing when OTEL_* leaves it off', () => {
  it('loads no OpenTelemetry SDK or exporter into the api, and stays off', async () => {
    await startTracing(null, 'api', pino({ level: 'silent' }));
    assert.equal(tracing.on, false);
    assert.deepEqual(sdkFiles(), []);
    // The check sees them once they are loaded: what startTracing imports when tracing is on.
    await import(new URL('../../../../libs/server/dist/platform/tracing-sdk.js', import.meta.url).href);
    assert.ok(sdkFiles().some((f) => f.includes('sdk-trace-node')));
    assert.equal(tracing.on, false, 'importing the SDK switches nothing on');
  });
});
