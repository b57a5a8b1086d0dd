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
/**
 * Contexts open now. On Node 20 an enabled AsyncLocalStorage hooks every promise of the process (predictions
 * included: the serving bench lost a quarter of its requests/s), so, as `ScopedContext` does, the storage is on
 * only while a context is open and switched off when the last one closes. Predictions never open one.
 */
let open = 0;
const close = () => {
  if (--open === 0) storage.disable();
};

/**
 * Runs `fn(...args)` with `ctx` on every line it (and whatever it awaits or schedules) logs. The context stays
 * open until the promise `fn` returns settles, or, when `until` is given, until it emits 'close' (a response).
 */
export function withLogContext<A extends unknown[], R>(
  ctx: LogContext,
  until: { once(event: 'close', fn: () => void): unknown } | null,
  fn: (...args: A) => R,
  ...args: A
): R {
  open++;
  let result: R;
  try {
    result = storage.run(ctx, fn, ...args);
  } catch (e) {
    close();
    throw e;
  }
  if (until) until.once('close', close);
  else if (result instanceof Promise) void result.then(close, close);
  else close();
  return result;
}

/** The context of the code running now; an empty object outside any request or job. */
export function logContext(): LogContext {
  return open ? (storage.getStore() ?? EMPTY_LOG_CONTEXT) : EMPTY_LOG_CONTEXT;
}
