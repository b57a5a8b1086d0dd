import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadWorkerConfig } from '@modelyard/config';
import { createLogger, exitCleanlyOnSignals, lowerProcessPriority, startTracing, stopTracing } from '@modelyard/server';
import { WorkerModule } from './worker.module.js';

async function main() {
  let config;
  try {
    config = loadWorkerConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(78);
    }
    throw e;
  }
  const logger = createLogger(config.log, 'worker');
  await startTracing(config.tracing, 'worker', logger);
  // An application context, not an HTTP app: the worker never serves requests.
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, logger), { logger: false });
  // After boot, so every thread started so far is lowered too; later ones inherit it (WORKER_NICE, issue 23).
  if (config.worker.nice > 0)
    logger.info(
      { nice: config.worker.nice, threads: lowerProcessPriority(config.worker.nice) },
      'worker priority lowered',
    );
  // The spans still buffered go out after the last job has finished.
  exitCleanlyOnSignals({ close: () => app.close().then(stopTracing) }, logger, 30_000);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
