import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { validate } from '@modelyard/server';

/** Validates a body/query against a contracts schema; the 400 names each bad field. */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  /** Public: the OpenAPI document describes a route's parameters from its pipes' schemas. */
  constructor(readonly schema: T) {}
  transform(value: unknown): z.output<T> {
    return validate(this.schema, value);
  }
}

export const zod = <T extends z.ZodType>(schema: T) => new ZodPipe(schema);
