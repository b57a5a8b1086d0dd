import type { z } from 'zod';
import { AppError } from './errors.js';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/**
 * Paths of the fields of `raw` that parsing dropped: keys of a plain object missing from the parsed object at the
 * same place (zod strips keys a schema does not declare; records, `z.unknown()` and loose objects keep theirs).
 */
function droppedFields(raw: unknown, parsed: unknown, at: string): string[] {
  if (Array.isArray(raw) && Array.isArray(parsed))
    return raw.flatMap((r, i) => droppedFields(r, parsed[i], `${at}${i}.`));
  if (!isRecord(raw) || !isRecord(parsed)) return [];
  return Object.keys(raw).flatMap((k) =>
    Object.hasOwn(parsed, k) ? droppedFields(raw[k], parsed[k], `${at}${k}.`) : [`${at}${k}`],
  );
}

/**
 * Parses with a contracts schema; a VALIDATION_FAILED (400) naming each bad field instead of a raw ZodError. With
 * `strict`, a field the schema does not know is one too, anywhere in the value: a misspelt `requiresApproval` must
 * not answer 200 having changed nothing. Protocol bodies (MLflow, OIP, TF Serving) and queries stay lenient, as
 * their clients send fields of later versions.
 */
export function validate<T extends z.ZodType>(schema: T, value: unknown, opts: { strict?: boolean } = {}): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) {
    const dropped = opts.strict ? droppedFields(value, r.data, '') : [];
    if (!dropped.length) return r.data;
    const issues = dropped.map((path) => ({ path, message: 'Unknown field: this operation does not take it' }));
    throw new AppError('VALIDATION_FAILED', `Unknown field${dropped.length > 1 ? 's' : ''}: ${dropped.join(', ')}`, {
      issues,
    });
  }
  const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0]!;
  throw new AppError('VALIDATION_FAILED', first.path ? `${first.path}: ${first.message}` : first.message, { issues });
}
