import { parseArgs } from 'node:util';
import { ApiError } from '@modelyard/contracts';
import { login, logout, whoami } from './commands/auth.js';
import { EXIT, makeIo, UsageError } from './output.js';

const HELP = `modelyard: the Modelyard command line

Usage:
  modelyard login [--url URL] [--api-key KEY]   verify a key and save it (prompts for the key on a terminal)
  modelyard whoami                              who the saved key (or MODELYARD_API_KEY) belongs to
  modelyard logout                              forget the saved key

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
      options: { url: { type: 'string' }, 'api-key': { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
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
    if (rest.length) throw new UsageError(`unexpected argument: ${rest[0]}`);
    switch (command) {
      case 'login': await login(io, { url: values.url, apiKey: values['api-key'] }); break;
      case 'whoami': await whoami(io); break;
      case 'logout': logout(io); break;
      default: throw new UsageError(`unknown command: ${command}`);
    }
    return EXIT.OK;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\n\n${HELP}`);
      return EXIT.USAGE;
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
