/**
 * Every command's help text. The flags a command accepts are read off its usage lines (`flagsOf`), so the help,
 * the per-command flag check in main.ts and the shell completion cannot disagree.
 */
export interface CommandHelp {
  summary: string;
  usage: string;
  /** First positional words (`jobs list`, `deploy pilot`) offered by completion. */
  actions?: string[];
  /** More text after the usage: what the command does, its input and output. */
  details?: string;
}

export const COMMANDS: Record<string, CommandHelp> = {
  login: {
    summary: 'verify an API key and save it with the URL in the config file',
    usage: 'modelyard login [--url URL] [--api-key KEY]\nmodelyard login --sso [--url URL]',
    details:
      'Prompts for the key on a terminal. The key is checked against the API before anything is written.\n' +
      "--sso signs in at the API's identity provider instead (OpenID Connect device flow): open the link it prints,\n" +
      'approve, and the session it gets is saved (it ends when the provider no longer accepts you).',
  },
  whoami: { summary: 'who the saved key (or MODELYARD_API_KEY) belongs to', usage: 'modelyard whoami' },
  logout: { summary: 'forget the saved key', usage: 'modelyard logout' },
  models: {
    summary: 'create or list registered models',
    usage: 'modelyard models create NAME [--description D] [--requires-approval]\nmodelyard models list [--search S]',
    actions: ['create', 'list'],
  },
  register: {
    summary: 'upload (or reference) a model version, optionally wait for validation',
    usage: [
      'modelyard register --model NAME (--file model.onnx | --uri s3://b/k) [--backend local|s3|azure]',
      '                   [--signature sig.json] [--reference ref.json] [--sample-input rows.json]',
      '                   [--tag k=v]... [--metric k=v]...',
      '                   [--git-commit SHA] [--run-id ID] [--ci-job-url URL] [--dataset-uri URI]',
      '                   [--description D] [--stage Staging] [--comment C] [--wait] [--timeout SECONDS]',
    ].join('\n'),
    details: 'Exit 1 when the version fails validation.',
  },
  promote: {
    summary: 'move a version to a stage (approvers only)',
    usage: 'modelyard promote --model NAME --version N [--stage Production] [--comment C] [--no-archive]',
  },
  alias: {
    summary: 'point an alias at a version, or remove it',
    usage:
      'modelyard alias set --model NAME --alias A --version N [--comment C]\n' +
      'modelyard alias delete --model NAME --alias A [--comment C]',
    actions: ['set', 'delete'],
  },
  deploy: {
    summary: "show or change a model's deployment (pilots, silent versions, production)",
    usage: [
      'modelyard deploy show --model NAME',
      'modelyard deploy pilot --model NAME --version N [--groups a,b] [--percentage P] [--comment C]',
      'modelyard deploy silent --model NAME --version N [--sample-rate R] [--comment C]',
      'modelyard deploy production --model NAME (--version N | --follow-stage) [--comment C]',
      'modelyard deploy rollback --model NAME [--revision R] [--comment C]',
    ].join('\n'),
    actions: ['show', 'pilot', 'silent', 'production', 'rollback'],
  },
  predict: {
    summary: 'predict with a model on rows from a file or stdin (JSON or CSV), in any request format',
    usage:
      'modelyard predict MODEL [--version N | --alias A | --stage S]\n' +
      '                  [--format modelyard|mlflow|oip-v2|tfs] [FILE | -]',
    details: [
      'Reads FILE, or stdin when FILE is - or missing. The input is either a request body of one of the four',
      'formats (sent as is; --format defaults to the format the body is in) or plain rows: a JSON list of',
      '{feature: value} records or of value lists, JSON Lines, or CSV with a header row. Rows are wrapped in',
      'the --format request (default modelyard); CSV goes to the MLflow route as text/csv.',
      'Routes: modelyard /v1/models/M[/versions/N|/aliases/A]/predict,',
      'tfs /v1/models/M[/versions/N|/labels/A]:predict, oip-v2 /v2/models/M[/versions/N]/infer,',
      'mlflow /v1/models/M/invocations (the version the deployment picks only).',
      "--stage picks the newest version in that stage (needs models:read); oip-v2 from rows reads the version's",
      "signature (models:read) to build the tensors. Prints the API's answer as JSON; the version that answered",
      'goes to stderr.',
    ].join('\n'),
  },
  score: {
    summary: 'run a batch scoring job on a CSV/JSONL file or a storage URI',
    usage:
      'modelyard score --model NAME --input (file.csv | file.jsonl | s3://b/k) [--version N | --alias A]\n' +
      '                [--id-column C] [--store-entity C] [--contributions] [--wait] [--timeout SECONDS]\n' +
      '                [--output out.csv]',
  },
  jobs: {
    summary: 'list, inspect, cancel, retry, delete and download jobs',
    usage: [
      'modelyard jobs list [--model NAME] [--status S] [--type T] [--limit N]',
      'modelyard jobs show ID',
      'modelyard jobs cancel ID',
      'modelyard jobs retry ID',
      'modelyard jobs delete ID',
      'modelyard jobs download ID [--file output|errors|input] [--output PATH]',
    ].join('\n'),
    actions: ['list', 'show', 'cancel', 'retry', 'delete', 'download'],
    details:
      'delete removes a finished job with the files stored for it (its upload, output and errors). ' +
      'download writes to --output, or to stdout when it is missing or -.',
  },
  streams: {
    summary: 'create, list, pause, resume, rewind and delete stream deployments',
    usage: [
      'modelyard streams list [--model NAME]',
      'modelyard streams show NAME --model MODEL',
      'modelyard streams create NAME --model MODEL --source S --sink S [--dead-letter S] [--start earliest|latest]',
      '                         [--key-field F] [--ordered] [--payload-field F] [--copy-fields a,b]',
      '                         [--batch-size N] [--max-in-flight N] [--claim-idle-ms MS] [--sink-max-len N]',
      'modelyard streams pause NAME --model MODEL',
      'modelyard streams resume NAME --model MODEL',
      'modelyard streams rewind NAME --model MODEL (--from-id ID | --from-time 2026-01-01T00:00:00Z)',
      'modelyard streams delete NAME --model MODEL',
    ].join('\n'),
    actions: ['list', 'show', 'create', 'pause', 'resume', 'rewind', 'delete'],
    details: [
      'A stream deployment scores every record XADDed to the source stream (Redis key <REDIS_PREFIX>:streams:S)',
      "with the model's deployment and writes one result per record to the sink: source_id, key, the copied",
      'fields, prediction, probabilities, version and role. Records that cannot be scored go to the dead-letter',
      'stream (<sink>.dead by default) with the reason. list and show print lag, pending and dead letters.',
    ].join('\n'),
  },
  completion: {
    summary: 'print a shell completion script',
    usage: 'modelyard completion bash|zsh',
    actions: ['bash', 'zsh'],
    details: 'bash: source <(modelyard completion bash)   zsh: source <(modelyard completion zsh)',
  },
  help: { summary: 'help on a command', usage: 'modelyard help [COMMAND]' },
};

const GLOBAL = `Options for every command:
  --json        machine-readable output
  -h, --help    help on the command
  --project P   (before the command) act in project P: modelyard --project team-b models list

Environment: MODELYARD_URL, MODELYARD_API_KEY, MODELYARD_PROJECT (they override the config file),
MODELYARD_CONFIG (the config file; default ~/.config/modelyard/config.json, written 0600 by login).
Exit codes: 0 ok, 1 failed (the API's error code and message on stderr), 2 usage error.`;

/** Option names (without --) a command's usage lines mention. */
export function flagsOf(command: string): string[] {
  const usage = COMMANDS[command]?.usage ?? '';
  return [...new Set([...usage.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!))];
}

export function commandHelp(command: string): string {
  const c = COMMANDS[command]!;
  const details = c.details ? `\n${c.details}\n` : '';
  return `modelyard ${command}: ${c.summary}\n\nUsage:\n${indent(c.usage)}\n${details}\n${GLOBAL}`;
}

export function overview(version: string): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length)) + 2;
  const list = Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`)
    .join('\n');
  return `modelyard ${version}: the Modelyard command line

Usage: modelyard COMMAND [ARGS] [OPTIONS]

Commands:
${list}

Run \`modelyard help COMMAND\` or \`modelyard COMMAND --help\` for a command's options.
  --version     print the version

${GLOBAL}`;
}

function indent(text: string) {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
