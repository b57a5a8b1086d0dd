import type { Logger } from 'pino';

/**
 * SIGTERM/SIGINT: close the Nest app (stop accepting, let in-flight requests and running jobs finish, close
 * queues, Redis and the database) and exit 0. After `graceMs` we stop waiting and exit 1. Nest's own
 * enableShutdownHooks re-raises the signal after closing, which reports a clean stop as "killed".
 */
export function exitCleanlyOnSignals(app: { close(): Promise<void> }, logger: Logger, graceMs: number): void {
  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.warn({ graceMs }, 'shutdown grace period over; exiting');
      process.exit(1);
    }, graceMs).unref();
    app.close().then(
      () => {
        logger.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
