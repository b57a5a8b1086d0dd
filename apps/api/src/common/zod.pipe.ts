import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { validate } from '@modelyard/server';

/** Validates a body/query against a contracts schema; the 400 names each bad field (and, when strict, each unknown one). */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  /** Public: the OpenAPI document describes a route's parameters from its pipes' schemas. */
  constructor(
    readonly schema: T,
    private readonly strict = false,
  ) {}
  transform(value: unknown): z.output<T> {
    return validate(this.schema, value, { strict: this.strict });
  }
}

/** A query, or a protocol's body (MLflow, OIP, TF Serving, predictions): fields the schema does not know are dropped. */
export const zod = <T extends z.ZodType>(schema: T) => new ZodPipe(schema);

/** A body of Modelyard's own API: a field the schema does not know is a 400, never silently ignored. */
export const strict = <T extends z.ZodType>(schema: T) => new ZodPipe(schema, true);
