import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { e2eEnv, http } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';

const env = e2eEnv();
/** FUZZ_SEED=<n> reproduces a run; every failure names its seed and case number. */
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const MAX_ROWS = Number(process.env.MAX_ROWS_PER_REQUEST ?? 10_000);
const MAX_BODY = Number(process.env.MAX_BODY_BYTES ?? 1024 * 1024);

/**
 * A POST whose answer is read even when the server answers before taking the whole body, as it does for a body
 * over MAX_BODY_BYTES (HTTP allows it): fetch reports such an exchange as a failed write (EPIPE) whenever the
 * server closes before the upload ends, although the 413 came back.
 */
function postEarlyAnswer(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: 10_000 },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode!, text, contentType: String(res.headers['content-type'] ?? '') }),
        );
        res.on('error', reject);
      },
    );
    // A write error after the answer arrived is the early close above; before it, a real failure.
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

/** mulberry32: small, seedable, good enough to spread cases. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type Rnd = ReturnType<typeof prng>;

type Format = 'modelyard' | 'oip-v2' | 'tfs' | 'mlflow';
const FORMATS: readonly Format[] = ['modelyard', 'oip-v2', 'tfs', 'mlflow'];

/** Each route's own error shape (PROTOCOLS.md). */
const SHAPE: Record<Format, (b: any) => boolean> = {
  modelyard: (b) =>
    typeof b?.error?.code === 'string' && typeof b.error.message === 'string' && typeof b.error.errorId === 'string',
  'oip-v2': (b) => typeof b?.error === 'string' && Object.keys(b).length === 1,
  tfs: (b) => typeof b?.error === 'string' && Object.keys(b).length === 1,
  mlflow: (b) => typeof b?.error_code === 'string' && typeof b.message === 'string',
};

const ROW = [5.1, 3.5, 1.4, 0.2];
const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
/** One valid body per format; every case below breaks it (or ignores it) so that it cannot be valid. */
const TEMPLATE: Record<Format, () => any> = {
  modelyard: () => ({ payload: [Object.fromEntries(COLUMNS.map((c, i) => [c, ROW[i]]))] }),
  'oip-v2': () => ({ inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [...ROW] }] }),
  tfs: () => ({ instances: [[...ROW]] }),
  mlflow: () => ({ dataframe_split: { columns: [...COLUMNS], data: [[...ROW]] } }),
};
/** Places whose value, replaced by anything in WRONG, makes the body invalid. */
const MUTABLE: Record<Format, (string | number)[][]> = {
  modelyard: [['payload'], ['payload', 0], ['payload', 0, 'sepal_length'], ['payload', 0, 'petal_width']],
  'oip-v2': [
    ['inputs'],
    ['inputs', 0],
    ['inputs', 0, 'name'],
    ['inputs', 0, 'shape'],
    ['inputs', 0, 'shape', 1],
    ['inputs', 0, 'datatype'],
    ['inputs', 0, 'data'],
    ['inputs', 0, 'data', 2],
  ],
  tfs: [['instances'], ['instances', 0], ['instances', 0, 1]],
  mlflow: [
    ['dataframe_split'],
    ['dataframe_split', 'columns'],
    ['dataframe_split', 'columns', 0],
    ['dataframe_split', 'data'],
    ['dataframe_split', 'data', 0],
    ['dataframe_split', 'data', 0, 3],
  ],
};
// No plain numbers (a number is right in most places) and no arrays that flatten into numbers.
const WRONG: unknown[] = [null, 'str', '', 'NaN', true, false, {}, [], { a: 1 }, [[[]]], [null], { float_input: null }];
const KEYS = [
  'payload',
  'inputs',
  'instances',
  'outputs',
  'name',
  'shape',
  'datatype',
  'data',
  'id',
  'dataframe_split',
  'dataframe_records',
  'columns',
  'params',
  'signature_name',
  'x',
  '',
];

function randomValue(rnd: Rnd, depth: number): unknown {
  switch (rnd.int(depth > 3 ? 4 : 7)) {
    case 0:
      return rnd.pick([0, -1, 1e308, -1e-308, 2 ** 53 + 1, 3.14, 42]);
    case 1:
      return rnd.pick(['', 'x', 'FP32', 'é', '\u0000', 'a'.repeat(300)]);
    case 2:
      return rnd.next() < 0.5;
    case 3:
      return null;
    case 4:
    case 5:
      return Array.from({ length: rnd.int(6) }, () => randomValue(rnd, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rnd.int(5) }, () => [rnd.pick(KEYS), randomValue(rnd, depth + 1)]),
      );
  }
}

function setAt(obj: any, path: (string | number)[], value: unknown) {
  let o = obj;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path[path.length - 1]!] = value;
  return obj;
}

/** The same nesting in the place each format reads values from. */
function deep(format: Format, depth: number, closed: boolean) {
  const nest = '['.repeat(depth) + (closed ? ']'.repeat(depth) : '');
  switch (format) {
    case 'modelyard':
      return `{"payload": ${nest}}`;
    case 'oip-v2':
      return `{"inputs": [{"name": "float_input", "shape": [1, 4], "datatype": "FP32", "data": ${nest}}]}`;
    case 'tfs':
      return `{"instances": ${nest}}`;
    case 'mlflow':
      return `{"inputs": ${nest}}`;
  }
}

/** maxRows + 1 well-formed rows: refused by the row limit, not by anything else. */
function tooManyRows(format: Format, rows: number) {
  const many = Array.from({ length: rows }, () => ROW);
  switch (format) {
    case 'modelyard':
      return JSON.stringify({ payload: many });
    case 'oip-v2':
      return JSON.stringify({
        inputs: [{ name: 'float_input', shape: [rows, 4], datatype: 'FP32', data: many.flat() }],
      });
    case 'tfs':
      return JSON.stringify({ instances: many });
    case 'mlflow':
      return JSON.stringify({ dataframe_split: { columns: COLUMNS, data: many } });
  }
}

/** contentType null: the request goes out without a Content-Type header. */
interface Case {
  format: Format;
  what: string;
  body: string | Blob;
  contentType: string | null;
}

function cases(rnd: Rnd): Case[] {
  const out: Case[] = [];
  for (const format of FORMATS) {
    const add = (what: string, body: string | Blob, contentType: string | null = 'application/json') =>
      out.push({ format, what, body, contentType });
    const valid = JSON.stringify(TEMPLATE[format]());
    for (let i = 0; i < 90; i++) add('random JSON', JSON.stringify(randomValue(rnd, 0)) ?? 'null');
    for (let i = 0; i < 80; i++) {
      const path = rnd.pick(MUTABLE[format]);
      const wrong = rnd.pick(WRONG);
      add(
        `wrong type at ${path.join('.')}: ${JSON.stringify(wrong)}`,
        JSON.stringify(setAt(TEMPLATE[format](), path, wrong)),
      );
    }
    for (let i = 0; i < 40; i++) add('truncated JSON', valid.slice(0, rnd.int(valid.length)));
    for (let i = 0; i < 20; i++) {
      const token = rnd.pick(['NaN', 'Infinity', '-Infinity', 'nan', '+1', '01', '1.', '.5', '0x10']);
      add(`bad number token ${token}`, valid.replace('1.4', token));
    }
    const types: (string | null)[] = [
      'text/plain',
      'application/xml',
      'application/octet-stream',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
      'text/csv',
      'application/vnd.api+json',
      null,
    ];
    if (format === 'mlflow') types.push('application/json; charset=latin-1', 'application/json; charset=utf-16');
    // OIP infer takes a raw body (the binary tensor extension: KServe's client sends application/octet-stream,
    // Triton's no content type), so a valid JSON body that way is a prediction there, not a malformed request.
    const refused = format === 'oip-v2' ? types.filter((t) => t !== 'application/octet-stream' && t !== null) : types;
    for (let i = 0; i < 30; i++) {
      const type = rnd.pick(refused);
      // A Blob without a type goes out with no Content-Type at all (a string would be sent as text/plain).
      add(`content type ${type ?? 'none'}`, type === null ? new Blob([valid]) : valid, type);
    }
    if (format === 'oip-v2') {
      // The raw-body path of the binary extension: without Inference-Header-Content-Length the body is all JSON.
      const octet = 'application/octet-stream';
      for (let i = 0; i < 20; i++) add('truncated JSON, raw', valid.slice(0, rnd.int(valid.length)), octet);
      for (let i = 0; i < 10; i++) {
        const bytes = new Uint8Array(rnd.int(64) + 1).map(() => rnd.int(256));
        add('random bytes, raw', new Blob([bytes]), rnd.pick([octet, null]));
      }
      const binary = { name: 'float_input', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } };
      add('binary_data_size without a binary part', JSON.stringify({ inputs: [binary] }), octet);
    }
    for (const scalar of ['null', '"str"', '1', 'true', '[]', '{}', '""', '[null]', '[[]]', `[${valid}]`])
      add(`top-level ${scalar.slice(0, 20)}`, scalar);
    const lists = { modelyard: 'payload', 'oip-v2': 'inputs', tfs: 'instances', mlflow: 'dataframe_records' } as const;
    for (const obj of [{}, { a: 1 }, { 0: ROW }, { length: 1, 0: ROW }, { float_input: ROW }])
      add(`object where a list belongs: ${JSON.stringify(obj)}`, JSON.stringify({ [lists[format]]: obj }));
    add('__proto__ key', valid.replace('{', '{"__proto__": {"polluted": true}, '));
    add('constructor.prototype key', valid.replace('{', '{"constructor": {"prototype": {"polluted": true}}, '));
    for (let i = 0; i < 20; i++) {
      const depth = rnd.pick([100, 1000, 5000, 10_000]);
      add(`${depth} levels of [`, deep(format, depth, rnd.next() < 0.6));
    }
    for (const extra of [1, 7]) add(`${MAX_ROWS + extra} rows`, tooManyRows(format, MAX_ROWS + extra));
    if (format === 'mlflow')
      add(
        `${MAX_ROWS + 1} CSV rows`,
        [COLUMNS.join(','), ...Array.from({ length: MAX_ROWS + 1 }, () => ROW.join(','))].join('\n'),
        'text/csv',
      );
    add('body over MAX_BODY_BYTES', `{"instances": [${'[1,2,3,4],'.repeat(Math.ceil(MAX_BODY / 10) + 10)}[1,2,3,4]]}`);
  }
  return out;
}

describe('serving fuzz: malformed bodies on every format', () => {
  let model: string;
  let urls: Record<Format, string[]>;
  before(async () => {
    const m = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    model = m.model;
    urls = {
      modelyard: [`/v1/models/${model}/predict`, `/v1/models/${model}/versions/${m.version}/predict`],
      'oip-v2': [`/v2/models/${model}/infer`, `/v2/models/${model}/versions/${m.version}/infer`],
      tfs: [`/v1/models/${model}:predict`, `/v1/models/${model}/versions/${m.version}:predict`],
      mlflow: [`/v1/models/${model}/invocations`],
    };
  });

  it(
    `answers >= 1,000 malformed bodies with a 4xx in the route's own JSON shape, then still serves (seed ${SEED})`,
    { timeout: 50_000 },
    async (t) => {
      const rnd = prng(SEED);
      const all = cases(rnd);
      assert.ok(all.length >= 1000, `only ${all.length} cases`);
      const failures: string[] = [];
      const statuses = new Map<number, number>();
      let next = 0;
      const worker = async () => {
        while (next < all.length) {
          const n = next++;
          const c = all[n]!;
          const url = urls[c.format][n % urls[c.format].length]!;
          const label = `case ${n} (seed ${SEED}) ${c.format} ${url}: ${c.what}`;
          try {
            const headers = {
              authorization: `Bearer ${env.adminApiKey}`,
              ...(c.contentType ? { 'content-type': c.contentType } : {}),
            };
            const res =
              typeof c.body === 'string' && Buffer.byteLength(c.body) > MAX_BODY
                ? await postEarlyAnswer(`${env.apiUrl}${url}`, c.body, headers)
                : await fetch(`${env.apiUrl}${url}`, {
                    method: 'POST',
                    body: c.body,
                    signal: AbortSignal.timeout(10_000),
                    headers,
                  }).then(async (r) => ({
                    status: r.status,
                    text: await r.text(),
                    contentType: r.headers.get('content-type') ?? '',
                  }));
            const { status, text } = res;
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            if (![400, 413, 415].includes(status)) failures.push(`${label}: status ${status} ${text.slice(0, 200)}`);
            else if (!res.contentType.startsWith('application/json') || !SHAPE[c.format](json))
              failures.push(`${label}: not ${c.format}'s error shape: ${text.slice(0, 200)}`);
          } catch (e) {
            failures.push(`${label}: ${(e as Error).message} (dropped connection?)`);
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      assert.deepEqual(
        failures.slice(0, 10),
        [],
        `${failures.length} of ${all.length} failed; statuses ${JSON.stringify([...statuses])}`,
      );
      t.diagnostic(`${all.length} malformed bodies, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);

      assert.equal((await http(env.apiUrl, 'GET', '/readyz')).status, 200);
      const s = samples('iris_logreg');
      const rows = s.input_data.float_input!.slice(0, 5);
      const expected = s.expected.label.slice(0, 5);
      const token = env.adminApiKey;
      const mk = await http(env.apiUrl, 'POST', urls.modelyard[0]!, {
        token,
        body: { payload: records(s).slice(0, 5) },
      });
      assert.deepEqual(mk.json.predictions, expected, mk.text);
      const oip = await http(env.apiUrl, 'POST', urls['oip-v2'][0]!, {
        token,
        body: { inputs: [{ name: 'float_input', shape: [5, 4], datatype: 'FP32', data: rows.flat() }] },
      });
      assert.deepEqual(oip.json.outputs.find((o: { name: string }) => o.name === 'label').data, expected, oip.text);
      const tfs = await http(env.apiUrl, 'POST', urls.tfs[0]!, { token, body: { instances: rows } });
      assert.deepEqual(
        tfs.json.predictions.map((p: { label: number }) => p.label),
        expected,
        tfs.text,
      );
      const mlflow = await http(env.apiUrl, 'POST', urls.mlflow[0]!, {
        token,
        body: { dataframe_split: { columns: COLUMNS, data: rows } },
      });
      assert.deepEqual(mlflow.json.predictions, expected, mlflow.text);
    },
  );
});
