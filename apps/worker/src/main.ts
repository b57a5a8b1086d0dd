import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadWorkerConfig } from '@modelyard/config';
import { createLogger, exitCleanlyOnSignals } from '@modelyard/server';
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
  // An application context, not an HTTP app: the worker never serves requests.
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, logger), { logger: false });
  exitCleanlyOnSignals(app, logger, 30_000);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
