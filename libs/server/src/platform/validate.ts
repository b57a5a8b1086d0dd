import type { z } from 'zod';
import { AppError } from './errors.js';

/** Parses with a contracts schema; a VALIDATION_FAILED (400) naming each bad field instead of a raw ZodError. */
export function validate<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0]!;
  throw new AppError('VALIDATION_FAILED', first.path ? `${first.path}: ${first.message}` : first.message, { issues });
}
