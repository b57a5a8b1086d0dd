import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { http, uniqueId } from '@modelyard/testing';

export const FIXTURES_DIR = path.resolve('test/fixtures/models');
export const FIXTURE_NAMES = ['iris_logreg', 'iris_rf', 'digits_mlp'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export interface Samples {
  feature_names: string[];
  inputs: { name: string; columns: string[] }[];
  outputs: { name: string }[];
  classes: (number | string)[];
  input_data: Record<string, number[][]>;
  records?: Record<string, number>[];
  expected: { label: (number | string)[]; probabilities: number[][] };
  tolerance: { probabilities: number };
}

export function samples(fixture: FixtureName): Samples {
  return JSON.parse(readFileSync(path.join(FIXTURES_DIR, fixture, 'samples.json'), 'utf8')) as Samples;
}

/** Rows as {feature: value} records (digits has none in its file: built from input_data and feature_names). */
export function records(s: Samples): Record<string, number>[] {
  if (s.records) return s.records;
  const input = s.inputs[0]!;
  return s.input_data[input.name]!.map((row) => Object.fromEntries(input.columns.map((c, i) => [c, row[i]!])));
}

export function assertClose(actual: number[][], expected: number[][], tol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: row count`);
  actual.forEach((row, r) =>
    row.forEach((v, c) => {
      assert.ok(
        Math.abs(v - expected[r]![c]!) <= tol,
        `${what}: row ${r} class ${c}: ${v} vs ${expected[r]![c]} (tolerance ${tol})`,
      );
    }),
  );
}

/** The fixture's reference.json (drift baseline): feature names, rows, and the model's predictions on them. */
export function reference(fixture: FixtureName): { feature_names: string[]; rows: number[][] } {
  return JSON.parse(readFileSync(path.join(FIXTURES_DIR, fixture, 'reference.json'), 'utf8'));
}

/**
 * `n` records drawn (seeded, so every run sends the same traffic) from a reference's rows, with `shift` added to
 * the named features: traffic like the training data, or deliberately drifted.
 */
export function drawFromReference(
  ref: { feature_names: string[]; rows: number[][] },
  n: number,
  shift: Record<string, number>,
  seed: number,
) {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  return Array.from({ length: n }, () => {
    const row = ref.rows[Math.floor(rnd() * ref.rows.length)]!;
    return Object.fromEntries(ref.feature_names.map((f, i) => [f, row[i]! + (shift[f] ?? 0)]));
  });
}

/**
 * Uploads a shared fixture as a new model, waits until it is ready, and (optionally) promotes it. With
 * `reference`, its reference.json goes along as the version's drift baseline.
 */
export async function registerFixture(
  apiUrl: string,
  adminKey: string,
  fixture: FixtureName,
  opts: { promote?: boolean; model?: string; reference?: boolean } = {},
) {
  const ref = opts.reference ? reference(fixture) : null;
  return registerFile(apiUrl, adminKey, path.join(FIXTURES_DIR, fixture, 'model.onnx'), {
    ...opts,
    model: opts.model ?? uniqueId(fixture.replace('_', '-')),
    spec: {
      sampleInput: records(samples(fixture)).slice(0, 3),
      ...(ref && { reference: { feature_names: ref.feature_names, rows: ref.rows } }),
    },
  });
}

/** Uploads any ONNX file as a new version, waits until it is ready, and (unless told not to) promotes it. */
export async function registerFile(
  apiUrl: string,
  adminKey: string,
  file: string,
  opts: { promote?: boolean; model?: string; spec?: unknown } = {},
) {
  const model =
    opts.model ??
    uniqueId(
      path
        .basename(file, '.onnx')
        .replace(/[^a-z0-9]/gi, '-')
        .toLowerCase(),
    );
  const form = new FormData();
  form.append('spec', JSON.stringify(opts.spec ?? {}));
  form.append('file', new Blob([readFileSync(file)]), 'model.onnx');
  const res = await fetch(`${apiUrl}/v1/models/${model}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}` },
    body: form,
  });
  const v = (await res.json()) as { version: number };
  assert.equal(res.status, 202, JSON.stringify(v));
  let status = 'pending';
  for (let i = 0; i < 100 && status === 'pending'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await http(apiUrl, 'GET', `/v1/models/${model}/versions/${v.version}`, { token: adminKey })).json.status;
  }
  assert.equal(status, 'ready', `${file} did not become ready`);
  if (opts.promote !== false) {
    const p = await http(apiUrl, 'POST', `/v1/models/${model}/versions/${v.version}/stage`, {
      token: adminKey,
      body: { stage: 'Production' },
    });
    assert.equal(p.status, 200, p.text);
  }
  return { model, version: v.version };
}

/** A CSV of `n` iris rows with an id column first (`<idPrefix><i>`), cycling through the fixture's sample records. */
export function irisCsv(n: number, idPrefix = 'r'): string {
  const s = samples('iris_logreg');
  const rows = records(s).map((r) => s.feature_names.map((f) => r[f]).join(','));
  const lines = [`id,${s.feature_names.join(',')}`];
  for (let i = 0; i < n; i++) lines.push(`${idPrefix}${i},${rows[i % rows.length]}`);
  return `${lines.join('\n')}\n`;
}

/** Uploads `csv` as a batch job (multipart, as the CLI does) and returns its id; asserts the 202. */
export async function submitBatchJob(
  apiUrl: string,
  token: string,
  spec: unknown,
  csv: string,
  filename = 'input.csv',
): Promise<string> {
  const form = new FormData();
  form.append('spec', JSON.stringify(spec));
  form.append('file', new Blob([csv]), filename);
  const res = await fetch(`${apiUrl}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const job = (await res.json()) as { id: string };
  assert.equal(res.status, 202, JSON.stringify(job));
  return job.id;
}
