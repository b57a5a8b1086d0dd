// First: V8's settings apply to everything loaded after them.
import './v8-flags.js';
import cluster from 'node:cluster';
import { ConfigError, loadApiConfig } from '@modelyard/config';
import { createLogger, exitCleanlyOnSignals, ServingMetrics, startTracing, stopTracing } from '@modelyard/server';
import { createApp } from './app.js';
import { joinCluster, runPrimary } from './cluster.js';

async function main() {
  let config;
  try {
    config = loadApiConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  const logger = createLogger(config.log, 'api');
  if (cluster.isPrimary && config.http.processes > 1)
    return runPrimary(config.http.processes, logger, config.http.shutdownGraceMs);
  // Before the app exists: its hooks are registered only when tracing is on.
  await startTracing(config.tracing, 'api', logger);
  const { app } = await createApp(config, logger);
  if (cluster.isWorker) joinCluster(app.get(ServingMetrics).registry);
  // The spans still buffered go out after the last request has been answered.
  exitCleanlyOnSignals({ close: () => app.close().then(stopTracing) }, logger, config.http.shutdownGraceMs);
  await app.listen({ port: config.http.port, host: config.http.host });
  logger.info({ port: config.http.port }, 'api listening');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
