// `npm start`: install what is missing, provide Postgres + Redis, migrate, seed, run api + worker + web.
// The apps are supervised (platform.mjs launch): a crashed one is restarted with backoff; only Ctrl-C stops all.
import { bootstrap, log } from './bootstrap.mjs';

try {
  bootstrap();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const { provision, seed, launchApps, waitForHttp, portFree } = await import('./platform.mjs');

const apiPort = Number(process.env.API_PORT ?? 8080);
const webPort = Number(process.env.WEB_PORT ?? 3000);
for (const [what, port] of [
  ['API_PORT', apiPort],
  ['WEB_PORT', webPort],
]) {
  if (!(await portFree(port))) {
    console.error(`Port ${port} (${what}) is in use; stop whatever holds it or set ${what}.`);
    process.exit(1);
  }
}

const platform = await provision({ mode: 'dev' });
seed(platform.env);
const env = {
  ...platform.env,
  LOG_PRETTY: process.env.LOG_PRETTY ?? 'true',
  LOG_FILE: process.env.LOG_FILE ?? '.data/logs/modelyard.log',
};
const procs = launchApps(env, { apiPort, webPort });

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  await Promise.all(procs.map((p) => p.stop()));
  await platform.stop();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
try {
  await waitForHttp(`http://127.0.0.1:${apiPort}/healthz`, { proc: procs[0] });
  log(`api       http://127.0.0.1:${apiPort}   (OpenAPI: /docs)`);
  if (procs.find((p) => p.name === 'web')) {
    await waitForHttp(`http://127.0.0.1:${webPort}/login`, { proc: procs.find((p) => p.name === 'web') });
    log(`dashboard http://127.0.0.1:${webPort}`);
  }
  log('press Ctrl-C to stop');
} catch (e) {
  console.error(e.message);
  void shutdown(1);
}
