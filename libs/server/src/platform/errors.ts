import { ERROR_CODES, type ErrorCode } from '@modelyard/contracts/error-codes';

/**
 * The only error type business code throws. It carries a code from the closed map in contracts; the HTTP
 * layer turns it into a status and a JSON body, the worker into a failed job. No HTTP exceptions in
 * libs/server, because the worker runs the same code.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
  get status(): number {
    return ERROR_CODES[this.code];
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (message = 'You do not have permission to do this') => new AppError('FORBIDDEN', message);
export const conflict = (message: string) => new AppError('CONFLICT', message);
