import { JOB_STATUSES, JOB_TYPES, ZStage } from '@modelyard/contracts';
import { COMMANDS, flagsOf } from './help.js';
import { FORMATS } from './commands/predict.js';

/** Values completed after a flag, where the set is closed. */
const VALUES: Record<string, readonly string[]> = {
  format: FORMATS,
  stage: ZStage.options,
  backend: ['local', 's3', 'azure'],
  status: JOB_STATUSES,
  type: JOB_TYPES,
  file: ['output', 'errors', 'input'],
};
/** Flags whose value is a path: the shell completes file names there. */
const PATH_FLAGS = ['signature', 'reference', 'sample-input', 'input', 'output'];

/** What may follow a command: its actions, then its flags and the global ones. */
function wordsOf(command: string) {
  return [...(COMMANDS[command]!.actions ?? []), ...flagsOf(command).map((f) => `--${f}`), '--json', '--help'].join(
    ' ',
  );
}

function table(fn: (name: string) => string) {
  return Object.keys(COMMANDS).map(fn).join('\n');
}

/** A bash script (also loaded by zsh through bashcompinit): commands, actions, per-command flags and values. */
export function bashCompletion(): string {
  const commands = Object.keys(COMMANDS).join(' ');
  return `# modelyard bash completion: source <(modelyard completion bash)
_modelyard() {
  local cur prev cmd words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands} --help --version" -- "$cur") )
    return
  fi
  case "$prev" in
${Object.entries(VALUES)
  .map(([f, v]) => `    --${f}) words="${v.join(' ')}" ;;`)
  .join('\n')}
    ${PATH_FLAGS.map((f) => `--${f}`).join('|')}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    *) words="" ;;
  esac
  if [ -n "$words" ]; then COMPREPLY=( $(compgen -W "$words" -- "$cur") ); return; fi
  case "$cmd" in
${table((c) => `    ${c}) words="${wordsOf(c)}" ;;`)}
    *) words="" ;;
  esac
  if [ "$cmd" = help ]; then words="${commands}"; fi
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  if [ "$cmd" = predict ] && [[ "$cur" != -* ]] && [ "$COMP_CWORD" -gt 2 ]; then
    COMPREPLY+=( $(compgen -f -- "$cur") )
  fi
}
complete -o default -F _modelyard modelyard
`;
}

export function zshCompletion(): string {
  return `#compdef modelyard
# modelyard zsh completion: source <(modelyard completion zsh), or save it as _modelyard in your $fpath
autoload -U +X bashcompinit && bashcompinit
${bashCompletion().split('\n').slice(1).join('\n')}`;
}
