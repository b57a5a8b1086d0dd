import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { AppError } from '@modelyard/server';

/** Validates a body/query against a contracts schema; the 400 names each bad field. */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  constructor(private readonly schema: T) {}
  transform(value: unknown): z.output<T> {
    const r = this.schema.safeParse(value ?? {});
    if (r.success) return r.data;
    const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const first = issues[0]!;
    throw new AppError('VALIDATION_FAILED', first.path ? `${first.path}: ${first.message}` : first.message, { issues });
  }
}

export const zod = <T extends z.ZodType>(schema: T) => new ZodPipe(schema);
