/**
 * The closed set of error codes the platform answers with. Every thrown AppError names one of these;
 * the HTTP status is decided here and nowhere else, so api, worker and web agree on what a code means.
 *
 * Without zod: modules that only need the codes (the batch pool's threads) import this alone.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  NOT_READY: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
