import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@modelyard/server';
import { refuseCrossSite, type OriginFacts } from './same-origin.js';

const req = (method: string, headers: OriginFacts['headers']): OriginFacts => ({
  method,
  protocol: 'http',
  host: 'dash.example:3000',
  headers,
});
const refused = (r: OriginFacts) =>
  assert.throws(
    () => refuseCrossSite(r),
    (e) => e instanceof AppError && e.code === 'FORBIDDEN',
  );

describe('refuseCrossSite', () => {
  it('refuses a state change a browser says comes from another site', () => {
    refused(req('POST', { 'sec-fetch-site': 'cross-site' }));
    refused(req('DELETE', { 'sec-fetch-site': 'same-site' }));
    refused(req('PATCH', { origin: 'http://evil.example' }));
    refused(req('PUT', { origin: 'null' }));
    refused(req('POST', { origin: 'https://dash.example:3000' }));
  });

  it('lets same-origin pages, non-browser clients, API keys and reads through', () => {
    refuseCrossSite(req('POST', { 'sec-fetch-site': 'same-origin', origin: 'http://dash.example:3000' }));
    refuseCrossSite(req('POST', { origin: 'http://DASH.example:3000' }));
    refuseCrossSite(req('POST', {}));
    refuseCrossSite(req('POST', { 'sec-fetch-site': 'cross-site', authorization: 'Bearer k' }));
    refuseCrossSite(req('GET', { 'sec-fetch-site': 'cross-site' }));
  });
});
