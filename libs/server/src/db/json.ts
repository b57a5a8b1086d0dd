import type { Prisma } from './generated/client.js';

/**
 * A value for a JSON column. Services store what zod already parsed (contracts) or built from such values: JSON
 * by construction, which Prisma's input type cannot see through `unknown` and interfaces without an index
 * signature. The one place that says so, instead of a cast at every call.
 */
export const asJson = (value: unknown): Prisma.InputJsonValue => value as Prisma.InputJsonValue;
