import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { AppError } from './errors.js';
import { validate } from './validate.js';

const Schema = z.object({
  name: z.string(),
  requiresApproval: z.boolean().default(false),
  tags: z.record(z.string(), z.string()).default({}),
  rules: z.array(z.object({ metric: z.string() })).default([]),
  extra: z.unknown().optional(),
});
const refused = (message: RegExp, paths: string[]) => (e: unknown) =>
  e instanceof AppError &&
  e.code === 'VALIDATION_FAILED' &&
  message.test(e.message) &&
  JSON.stringify((e.details as { issues: { path: string }[] }).issues.map((i) => i.path)) === JSON.stringify(paths);

describe('validate', () => {
  it('drops fields the schema does not know unless strict', () => {
    assert.deepEqual(validate(Schema, { name: 'm', requireApproval: true }), {
      name: 'm',
      requiresApproval: false,
      tags: {},
      rules: [],
    });
  });

  it('refuses, when strict, a misspelt field and unknown fields at any depth, naming each path', () => {
    assert.throws(
      () => validate(Schema, { name: 'm', requireApproval: true }, { strict: true }),
      refused(/^Unknown field: requireApproval$/, ['requireApproval']),
    );
    assert.throws(
      () => validate(Schema, { name: 'm', rules: [{ metric: 'x' }, { metric: 'y', treshold: 1 }] }, { strict: true }),
      refused(/^Unknown field: rules\.1\.treshold$/, ['rules.1.treshold']),
    );
  });

  it('keeps, when strict, what records and unknown-typed fields take, and defaults it adds', () => {
    const body = { name: 'm', tags: { any: 'key' }, extra: { free: { form: [1] } } };
    assert.deepEqual(validate(Schema, body, { strict: true }), { ...body, requiresApproval: false, rules: [] });
  });
});
