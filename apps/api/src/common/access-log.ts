import type { Logger } from 'pino';

/**
 * One access line per request, from the framework's response hook or the predict router. Predictions are the hot
 * path and are already counted per request in metrics and rollups: their lines go to debug (measured: about a
 * fifth of the throughput at info) and are only built when debug is on; their failures stay visible at warn.
 */
export function logAccess(
  log: Logger,
  prediction: boolean,
  reqId: string,
  method: string | undefined,
  url: string,
  status: number,
  ms: number,
) {
  const level = !prediction ? 'info' : status >= 500 ? 'warn' : 'debug';
  if (level === 'debug' && !log.isLevelEnabled('debug')) return;
  log[level]({ reqId, method, url: url.split('?')[0], status, ms: Math.round(ms) }, 'request');
}
