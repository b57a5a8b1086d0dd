import { parseArgs } from 'node:util';
import { ApiError } from '@modelyard/contracts';
import { login, logout, whoami } from './commands/auth.js';
import { alias, FailedError, modelsCreate, modelsList, promote, register } from './commands/models.js';
import { deploy } from './commands/deploy.js';
import { score } from './commands/score.js';
import { EXIT, makeIo, UsageError } from './output.js';

const HELP = `modelyard: the Modelyard command line

Usage:
  modelyard login [--url URL] [--api-key KEY]   verify a key and save it (prompts for the key on a terminal)
  modelyard whoami                              who the saved key (or MODELYARD_API_KEY) belongs to
  modelyard logout                              forget the saved key
  modelyard models create NAME [--description D] [--requires-approval]
  modelyard models list [--search S]
  modelyard register --model NAME (--file model.onnx | --uri s3://b/k) [--backend local|s3|azure]
                     [--signature sig.json] [--reference ref.json] [--sample-input rows.json]
                     [--tag k=v]... [--metric k=v]...
                     [--git-commit SHA] [--run-id ID] [--ci-job-url URL] [--dataset-uri URI]
                     [--description D] [--stage Staging] [--wait] [--timeout SECONDS]
  modelyard promote --model NAME --version N [--stage Production] [--comment C] [--no-archive]
  modelyard alias set --model NAME --alias A --version N
  modelyard alias delete --model NAME --alias A
  modelyard deploy show --model NAME
  modelyard deploy pilot --model NAME --version N [--groups a,b] [--percentage P]
  modelyard deploy silent --model NAME --version N [--sample-rate R]
  modelyard deploy production --model NAME (--version N | --follow-stage)
  modelyard deploy rollback --model NAME [--revision R]
  modelyard score --model NAME --input (file.csv | file.jsonl | s3://b/k) [--version N | --alias A]
                  [--id-column C] [--store-entity C] [--wait] [--timeout SECONDS] [--output out.csv]

Options:
  --json        machine-readable output
  -h, --help    this text

Environment: MODELYARD_URL, MODELYARD_API_KEY (they override the saved login).
Exit codes: 0 ok, 1 failed, 2 usage error.`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        url: { type: 'string' }, 'api-key': { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
        model: { type: 'string' }, file: { type: 'string' }, uri: { type: 'string' }, signature: { type: 'string' },
        reference: { type: 'string' }, 'sample-input': { type: 'string' }, tag: { type: 'string', multiple: true }, metric: { type: 'string', multiple: true },
        'git-commit': { type: 'string' }, 'run-id': { type: 'string' }, 'ci-job-url': { type: 'string' }, 'dataset-uri': { type: 'string' },
        backend: { type: 'string' }, description: { type: 'string' }, stage: { type: 'string' }, wait: { type: 'boolean' },
        timeout: { type: 'string' }, version: { type: 'string' }, alias: { type: 'string' }, comment: { type: 'string' },
        'no-archive': { type: 'boolean' }, search: { type: 'string' }, 'requires-approval': { type: 'boolean' },
        groups: { type: 'string' }, percentage: { type: 'string' }, 'follow-stage': { type: 'boolean' }, 'sample-rate': { type: 'string' }, revision: { type: 'string' },
        input: { type: 'string' }, output: { type: 'string' }, 'id-column': { type: 'string' }, 'store-entity': { type: 'string' },
      },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP}\n`);
    return EXIT.USAGE;
  }
  const { values, positionals } = parsed;
  const io = makeIo(values.json ?? false);
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    io.out(HELP);
    return values.help ? EXIT.OK : EXIT.USAGE;
  }
  try {
    const maxPositionals: Record<string, number> = { models: 2, alias: 1, deploy: 1 };
    if (rest.length > (maxPositionals[command] ?? 0)) throw new UsageError(`unexpected argument: ${rest[rest.length - 1]}`);
    switch (command) {
      case 'login': await login(io, { url: values.url, apiKey: values['api-key'] }); break;
      case 'whoami': await whoami(io); break;
      case 'logout': logout(io); break;
      case 'models':
        if (rest[0] === 'create') await modelsCreate(io, rest[1], values);
        else if (rest[0] === 'list' && rest.length === 1) await modelsList(io, values);
        else throw new UsageError('usage: modelyard models create NAME | models list');
        break;
      case 'register': await register(io, values); break;
      case 'promote': await promote(io, values); break;
      case 'alias': await alias(io, rest[0], values); break;
      case 'deploy': await deploy(io, rest[0], values); break;
      case 'score': await score(io, values); break;
      default: throw new UsageError(`unknown command: ${command}`);
    }
    return EXIT.OK;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\n\n${HELP}`);
      return EXIT.USAGE;
    }
    if (e instanceof FailedError) {
      if (!io.json) io.err(`error: ${e.message}`);
      return EXIT.FAILED;
    }
    if (e instanceof ApiError) {
      if (io.json) io.out(JSON.stringify({ error: { code: e.code, message: e.message, status: e.status } }));
      else io.err(`error: ${e.message}${e.status ? ` (HTTP ${e.status})` : ''}`);
      return EXIT.FAILED;
    }
    io.err(`error: ${(e as Error).message}`);
    return EXIT.FAILED;
  }
}

process.exitCode = await main(process.argv.slice(2));
