import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http } from '@modelyard/testing';
import { registerFixture } from '../support/fixtures.js';
import { HOSTILE_SEGMENTS, sendAll } from '../support/hostile-input.js';
import { rawRequest } from '../support/raw-http.js';

/**
 * Hostile input on every operation of the OpenAPI document, as a platform admin (who gets past every permission
 * check, so each request reaches parsing and validation): path parameters that are too long, percent-encoded
 * NULs, broken UTF-8, dot segments, numbers out of range and prototype keys; junk query strings; hostile headers
 * beside the good key (ids too long, broken cookies, forged proxy headers, an internal callback URL); bodies of the
 * wrong JSON type, with every documented field of the wrong type, prototype-pollution keys, deep nesting, broken
 * JSON and the wrong media type. Every answer must be a 4xx (or a success) carrying a JSON error in the route's
 * own shape: never a 5xx, never a dropped connection. Destructive operations get only parameters naming nothing.
 */
const { apiUrl, adminApiKey } = e2eEnv();

type Json = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  requestSchema: Json | null;
}

const HOSTILE_QUERIES = [
  'limit=-1&offset=abc&page=%ZZ&cursor=%00&from=yesterday&to=1e400&since=-1&window=x',
  'limit=99999999999999999999&pageSize=1e9&offset=-99999999999999999999',
  '__proto__[admin]=true&constructor[prototype][x]=1&a=1&a=2&a[]=3',
  `q=${'%FF'.repeat(50)}&name=${'b'.repeat(5000)}&stage=%00&status=%E0%A4%A`,
];

/** Headers beside a good key: too long, out of range, repeated cookies, forged proxy headers, broken dates. */
const HOSTILE_HEADERS: Record<string, string>[] = [
  { 'x-request-id': 'r'.repeat(5000) },
  { 'x-request-id': '\xff\xfe../..' },
  { cookie: `modelyard_session=%E0%A4%A; modelyard_session=${'s'.repeat(4000)}; modelyard_sso=%%` },
  { cookie: '='.repeat(3000) },
  { 'x-forwarded-for': '999.999.1.1, junk, ::ffff:zz', 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'a\xffb' },
  { 'x-routing-key': 'k'.repeat(10_000), 'x-entity-id': ','.repeat(5000) },
  { accept: 'application/xml;q=abc', 'accept-encoding': 'br;q=zz, *;q=0', 'accept-language': '\xff' },
  { 'if-none-match': '"x"'.repeat(1000), 'if-modified-since': 'yesterday', range: 'bytes=99999999999999999999-' },
  { 'x-callback-url': 'http://169.254.169.254/latest/meta-data', 'x-callback-secret': '\xff' },
  { 'content-encoding': 'gzip' },
  { origin: 'null', 'sec-fetch-site': 'cross-site', referer: 'javascript:alert(1)' },
];

/** Field values of the wrong type: each body sets every documented field to one of them. */
const WRONG_VALUES: unknown[] = [
  null,
  [],
  {},
  -1,
  1e308,
  true,
  '',
  'x'.repeat(70_000),
  '\u0000',
  { $gt: '' },
  ['a', 1, null, {}],
  '../../etc/passwd',
];

const RAW_BODIES = [
  'null',
  '[]',
  '"text"',
  '12',
  '{',
  '{"a":',
  '{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}',
  '['.repeat(5000) + ']'.repeat(5000),
  '{"a":'.repeat(2000) + '1' + '}'.repeat(2000),
  '\uFEFF{}',
  '{"a":1,"a":2}',
];

/** Multipart bodies that lie: a part cut off before its boundary closes, a header without its end, junk. */
const BOUNDARY = 'fuzzboundary';
const CUT_MULTIPART = [
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n{}\r\n`,
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="m.onnx"\r\n\r\nabc`,
].join('');
const BROKEN_MULTIPART: [string, string][] = [
  ['multipart/form-data', '{"a":1}'],
  ['multipart/form-data; boundary=', '{"a":1}'],
  [`multipart/form-data; boundary=${BOUNDARY}`, 'not a multipart body at all'],
  [`multipart/form-data; boundary=${BOUNDARY}`, CUT_MULTIPART],
  [`multipart/form-data; boundary=${BOUNDARY}`, `--${BOUNDARY}\r\nContent-Disposition: form-data; name="spec"\r\n`],
  [`multipart/mixed; boundary=${BOUNDARY}`, CUT_MULTIPART],
];

function resolveRef(doc: Json, schema: Json | undefined): Json | null {
  if (!schema) return null;
  if (schema.$ref) return resolveRef(doc, doc.components.schemas[String(schema.$ref).split('/').pop()!]);
  return schema;
}

/** The top-level fields a request body documents (through allOf/anyOf/oneOf branches too). */
function fieldsOf(doc: Json, schema: Json | null): string[] {
  if (!schema) return [];
  const own = Object.keys(schema.properties ?? {});
  const branches = [...(schema.allOf ?? []), ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];
  return [...new Set([...own, ...branches.flatMap((b: Json) => fieldsOf(doc, resolveRef(doc, b)))])];
}

/** The error a route answers with: ours (`error.code`), MLflow's (`error_code`) or OIP v2's and TF Serving's (`error`). */
function hasErrorShape(body: string): boolean {
  let json: any;
  try {
    json = JSON.parse(body);
  } catch {
    return false;
  }
  return (
    typeof json?.error?.code === 'string' || typeof json?.error_code === 'string' || typeof json?.error === 'string'
  );
}

describe('management fuzz: hostile input on every documented operation', () => {
  const operations: Operation[] = [];
  let doc: Json;
  /** Parameters naming real things, so body and query fuzz reach past the lookups. */
  const real: Record<string, string> = {};

  before(async () => {
    doc = (await http(apiUrl, 'GET', '/docs/openapi.json')).json;
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const [method, op] of Object.entries<Json>(item)) {
        const content: Json = op.requestBody?.content ?? {};
        operations.push({
          method: method.toUpperCase(),
          path,
          requestSchema: resolveRef(doc, content['application/json']?.schema),
        });
      }
    }
    const model = await registerFixture(apiUrl, adminApiKey, 'iris_logreg');
    real.name = model.model;
    real.version = String(model.version);
  });

  it('answers every hostile request with a 4xx in the route shape (or a success), never a 5xx', async (t) => {
    assert.ok(operations.length > 50, `the document lists ${operations.length} operations`);
    const requests: { method: string; path: string; headers: Record<string, string>; body?: string }[] = [];
    const auth = { authorization: `Bearer ${adminApiKey}` };
    const json = { ...auth, 'content-type': 'application/json' };
    // Logging out would end nothing for an API key; the rest may change state only with parameters naming nothing.
    for (const op of operations.filter((o) => o.path !== '/v1/auth/logout')) {
      const params = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      const fill = (value: (p: string) => string) => op.path.replace(/\{([^}]+)\}/g, (_m, p: string) => value(p));
      const hasBody = ['POST', 'PUT', 'PATCH'].includes(op.method);
      const destructive = op.method === 'DELETE';
      // With real names where the route has them (not for deletion), else names that match nothing.
      const target = fill((p) => (!destructive && real[p]) || 'fuzz-absent-0');
      // An empty JSON object where the route takes a body, so what reaches validation is the hostile part.
      const add = (path: string, headers: Record<string, string>, body = hasBody ? '{}' : undefined) =>
        requests.push({ method: op.method, path, headers, body });
      for (const value of params.length > 0 ? HOSTILE_SEGMENTS : [])
        add(
          fill(() => value),
          json,
        );
      for (const q of HOSTILE_QUERIES) add(`${target}?${q}`, json);
      for (const extra of HOSTILE_HEADERS) add(target, { ...json, ...extra });
      if (!hasBody) continue;
      const fields = fieldsOf(doc, op.requestSchema);
      for (const wrong of fields.length > 0 ? WRONG_VALUES : []) {
        add(target, json, JSON.stringify(Object.fromEntries(fields.map((f) => [f, wrong]))));
      }
      for (const body of RAW_BODIES) add(target, json, body);
      // The wrong media types (JSON as text, a form, XML) and multipart bodies that break off or lie.
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        add(target, { ...auth, 'content-type': type }, '{"a":1}');
      }
      for (const [type, body] of BROKEN_MULTIPART) add(target, { ...auth, 'content-type': type }, body);
    }

    const { failures, statuses } = await sendAll(
      requests,
      6,
      (r) => rawRequest(apiUrl, r.method, r.path, r.headers, r.body),
      (_r, res) => {
        if (res.status >= 500) return `${res.status} ${res.body.slice(0, 200)}`;
        if (res.status >= 400 && !hasErrorShape(res.body))
          return `${res.status} without a JSON error: ${res.body.slice(0, 200)}`;
        return null;
      },
      (r) =>
        `${r.method} ${r.path.slice(0, 160)} [${r.headers['content-type'] ?? ''}] ${JSON.stringify((r.body ?? '').slice(0, 60))}`,
    );
    t.diagnostic(`${operations.length} operations, ${requests.length} requests, statuses ${JSON.stringify(statuses)}`);
    const health = await http(apiUrl, 'GET', '/readyz');
    assert.equal(health.status, 200, 'the api is still ready after the fuzz');
    // Nothing hostile registered anything: the model still has the one version registered above.
    const versions = await http(apiUrl, 'GET', `/v1/models/${real.name}/versions`, { token: adminApiKey });
    assert.deepEqual(
      versions.json.map((v: { version: number }) => v.version),
      [Number(real.version)],
    );
    assert.deepEqual(failures, [], `${failures.length} of ${requests.length} answers were wrong`);
    assert.ok(requests.length > 2000, `${requests.length} hostile requests`);
    assert.ok((statuses[400] ?? 0) > 500, `statuses ${JSON.stringify(statuses)}`);
  });

  it('answers 415 to a body in a media type the route does not take, and 400 to a JSON null, changing nothing', async () => {
    const path = `/v1/models/${real.name}`;
    const auth = { authorization: `Bearer ${adminApiKey}` };
    const before = await http(apiUrl, 'GET', path, { token: adminApiKey });
    const sent: [string, string][] = [
      ['application/x-www-form-urlencoded', 'description=changed'],
      [
        `multipart/form-data; boundary=${BOUNDARY}`,
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="description"\r\n\r\nchanged\r\n--${BOUNDARY}--\r\n`,
      ],
      ['text/csv', 'description\nchanged\n'],
      ['application/x-ndjson', '{"description":"changed"}\n'],
    ];
    for (const [type, body] of sent) {
      const res = await rawRequest(apiUrl, 'PATCH', path, { ...auth, 'content-type': type }, body);
      assert.equal(res.status, 415, `${type}: ${res.body}`);
      assert.equal(JSON.parse(res.body).error.code, 'UNSUPPORTED_MEDIA_TYPE');
      assert.match(JSON.parse(res.body).error.message, /takes application\/json/);
    }
    const nul = await rawRequest(apiUrl, 'PATCH', path, { ...auth, 'content-type': 'application/json' }, 'null');
    assert.equal(nul.status, 400, nul.body);
    assert.equal(JSON.parse(nul.body).error.code, 'VALIDATION_FAILED');
    // An MLflow client's call answers in MLflow's shape, and creates nothing from a null body either.
    const run = await rawRequest(
      apiUrl,
      'POST',
      '/api/2.0/mlflow/runs/create',
      { ...auth, 'content-type': 'application/json' },
      'null',
    );
    assert.equal(run.status, 400, run.body);
    assert.equal(JSON.parse(run.body).error_code, 'BAD_REQUEST');
    const after = await http(apiUrl, 'GET', path, { token: adminApiKey });
    assert.deepEqual(after.json, before.json);
    // The same change as JSON is what the route takes.
    const ok = await http(apiUrl, 'PATCH', path, { token: adminApiKey, body: { description: 'changed' } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.description, 'changed');
  });
});
