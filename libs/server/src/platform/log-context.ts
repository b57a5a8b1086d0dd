import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What a process is serving right now, added to every log line written while it does (createLogger's mixin): the
 * api's request id, the worker's job id and name. Carried by AsyncLocalStorage, so services log as they always
 * did and the line still says which request or job it belongs to.
 */
export interface LogContext {
  reqId?: string;
  jobId?: string;
  job?: string;
}

const storage = new AsyncLocalStorage<LogContext>();
/** What logContext() answers outside any request or job (one object, so a logger can tell it apart cheaply). */
export const EMPTY_LOG_CONTEXT: LogContext = Object.freeze({});

/** Runs `fn(...args)` with `ctx` on every line it (and whatever it awaits or schedules) logs. */
export function withLogContext<A extends unknown[], R>(ctx: LogContext, fn: (...args: A) => R, ...args: A): R {
  return storage.run(ctx, fn, ...args);
}

/** The context of the code running now; an empty object outside any request or job. */
export function logContext(): LogContext {
  return storage.getStore() ?? EMPTY_LOG_CONTEXT;
}
