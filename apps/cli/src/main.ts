import { parseArgs } from 'node:util';
import { ApiError } from '@modelyard/contracts';
import { login, loginSso, logout, whoami } from './commands/auth.js';
import { alias, FailedError, modelsCreate, modelsList, promote, register } from './commands/models.js';
import { deploy } from './commands/deploy.js';
import { jobs } from './commands/jobs.js';
import { predict } from './commands/predict.js';
import { score } from './commands/score.js';
import { streams } from './commands/streams.js';
import { bashCompletion, zshCompletion } from './completion.js';
import { commandHelp, COMMANDS, flagsOf, overview } from './help.js';
import { RemoteError } from './http.js';
import { EXIT, makeIo, UsageError } from './output.js';

/** Set by the bundle step (apps/cli/bundle.mjs) from package.json. */
declare const MODELYARD_CLI_VERSION: string | undefined;
const VERSION = typeof MODELYARD_CLI_VERSION === 'string' ? MODELYARD_CLI_VERSION : 'dev';

/** Every flag any command takes; main() then refuses those the command's usage does not list. */
const OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  sso: { type: 'boolean' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
  model: { type: 'string' },
  file: { type: 'string' },
  uri: { type: 'string' },
  signature: { type: 'string' },
  reference: { type: 'string' },
  'sample-input': { type: 'string' },
  tag: { type: 'string', multiple: true },
  metric: { type: 'string', multiple: true },
  'git-commit': { type: 'string' },
  'run-id': { type: 'string' },
  'ci-job-url': { type: 'string' },
  'dataset-uri': { type: 'string' },
  backend: { type: 'string' },
  description: { type: 'string' },
  stage: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  version: { type: 'string' },
  alias: { type: 'string' },
  comment: { type: 'string' },
  'no-archive': { type: 'boolean' },
  search: { type: 'string' },
  'requires-approval': { type: 'boolean' },
  groups: { type: 'string' },
  percentage: { type: 'string' },
  'follow-stage': { type: 'boolean' },
  'sample-rate': { type: 'string' },
  revision: { type: 'string' },
  input: { type: 'string' },
  output: { type: 'string' },
  'id-column': { type: 'string' },
  'store-entity': { type: 'string' },
  contributions: { type: 'boolean' },
  format: { type: 'string' },
  status: { type: 'string' },
  type: { type: 'string' },
  limit: { type: 'string' },
  source: { type: 'string' },
  sink: { type: 'string' },
  'dead-letter': { type: 'string' },
  'key-field': { type: 'string' },
  'payload-field': { type: 'string' },
  'copy-fields': { type: 'string' },
  start: { type: 'string' },
  ordered: { type: 'boolean' },
  'batch-size': { type: 'string' },
  'max-in-flight': { type: 'string' },
  'claim-idle-ms': { type: 'string' },
  'sink-max-len': { type: 'string' },
  'from-id': { type: 'string' },
  'from-time': { type: 'string' },
} as const;

/** How many positionals follow each command word (actions and names); more is a usage error. */
const MAX_POSITIONALS: Record<string, number> = {
  models: 2,
  alias: 1,
  deploy: 1,
  predict: 2,
  jobs: 2,
  streams: 2,
  completion: 1,
  help: 1,
};

function errorLine(code: string | undefined, status: number, message: string) {
  const why = [code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ');
  return `error: ${message}${why ? ` (${why})` : ''}`;
}

async function main(argv: string[]): Promise<number> {
  // Global words before a command: `modelyard --version`, `modelyard --help`, `modelyard --json whoami`.
  let i = 0;
  let jsonFirst = false;
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const a = argv[i]!;
    if (a === '--version' || a === '-V') {
      process.stdout.write(`${VERSION}\n`);
      return EXIT.OK;
    }
    if (a === '--help' || a === '-h') {
      process.stdout.write(`${overview(VERSION)}\n`);
      return EXIT.OK;
    }
    if (a === '--json') jsonFirst = true;
    else if (a === '--project' || a.startsWith('--project=')) {
      // Every command acts in this project; the environment is how the config loader hears it.
      const p = a === '--project' ? argv[++i] : a.slice('--project='.length);
      if (!p || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(p)) {
        process.stderr.write(`error: --project needs a project name (lower-case letters, digits, "-")\n`);
        return EXIT.USAGE;
      }
      process.env.MODELYARD_PROJECT = p;
    } else {
      process.stderr.write(`error: unknown option ${a}\n\n${overview(VERSION)}\n`);
      return EXIT.USAGE;
    }
  }
  const command = argv[i];
  if (!command) {
    process.stderr.write(`${overview(VERSION)}\n`);
    return EXIT.USAGE;
  }
  if (!COMMANDS[command]) {
    process.stderr.write(`error: unknown command: ${command}\n\nRun \`modelyard --help\` for the list of commands.\n`);
    return EXIT.USAGE;
  }
  const usageError = (message: string) => {
    process.stderr.write(`error: ${message}\n\n${commandHelp(command)}\n`);
    return EXIT.USAGE;
  };
  let parsed;
  try {
    parsed = parseArgs({ args: argv.slice(i + 1), allowPositionals: true, strict: true, options: OPTIONS });
  } catch (e) {
    return usageError((e as Error).message);
  }
  const { values, positionals: rest } = parsed;
  if (values.help) {
    process.stdout.write(`${commandHelp(command)}\n`);
    return EXIT.OK;
  }
  const allowed = new Set([...flagsOf(command), 'json', 'help']);
  const stray = Object.keys(values).find((k) => !allowed.has(k));
  if (stray) return usageError(`${command} takes no --${stray}`);
  if (rest.length > (MAX_POSITIONALS[command] ?? 0)) return usageError(`unexpected argument: ${rest[rest.length - 1]}`);

  const io = makeIo(jsonFirst || (values.json ?? false));
  try {
    switch (command) {
      case 'help': {
        const topic = rest[0];
        if (topic && !COMMANDS[topic]) throw new UsageError(`unknown command: ${topic}`);
        io.out(topic ? commandHelp(topic) : overview(VERSION));
        break;
      }
      case 'completion':
        if (rest[0] === 'bash') io.out(bashCompletion());
        else if (rest[0] === 'zsh') io.out(zshCompletion());
        else throw new UsageError('usage: modelyard completion bash|zsh');
        break;
      case 'login':
        if (values.sso) await loginSso(io, { url: values.url });
        else await login(io, { url: values.url, apiKey: values['api-key'] });
        break;
      case 'whoami':
        await whoami(io);
        break;
      case 'logout':
        logout(io);
        break;
      case 'models':
        if (rest[0] === 'create') await modelsCreate(io, rest[1], values);
        else if (rest[0] === 'list' && rest.length === 1) await modelsList(io, values);
        else throw new UsageError('usage: modelyard models create NAME | models list');
        break;
      case 'register':
        await register(io, values);
        break;
      case 'promote':
        await promote(io, values);
        break;
      case 'alias':
        await alias(io, rest[0], values);
        break;
      case 'deploy':
        await deploy(io, rest[0], values);
        break;
      case 'score':
        await score(io, values);
        break;
      case 'predict':
        await predict(io, rest[0], rest[1], values);
        break;
      case 'jobs':
        await jobs(io, rest[0], rest[1], values);
        break;
      case 'streams':
        await streams(io, rest[0], rest[1], values);
        break;
    }
    return EXIT.OK;
  } catch (e) {
    if (e instanceof UsageError) return usageError(e.message);
    if (e instanceof FailedError) {
      if (!io.json) io.err(`error: ${e.message}`);
      return EXIT.FAILED;
    }
    if (e instanceof ApiError || e instanceof RemoteError) {
      if (io.json) io.out(JSON.stringify({ error: { code: e.code ?? null, message: e.message, status: e.status } }));
      else io.err(errorLine(e.code, e.status, e.message));
      return EXIT.FAILED;
    }
    io.err(`error: ${(e as Error).message}`);
    return EXIT.FAILED;
  }
}

process.exitCode = await main(process.argv.slice(2));
