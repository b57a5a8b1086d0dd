import { z } from 'zod';

import { ERROR_CODES, type ErrorCode } from './error-codes.js';

export { ERROR_CODES, type ErrorCode };
export const ZErrorCode = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

export const ZErrorResponse = z.object({
  error: z.object({
    code: ZErrorCode,
    message: z.string(),
    errorId: z.string(),
    details: z.unknown().optional(),
  }),
});
export type TErrorResponse = z.infer<typeof ZErrorResponse>;

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code];
}
