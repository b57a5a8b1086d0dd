import { AppError } from '../platform/errors.js';

/**
 * MLflow's search filter (`name LIKE 'iris%' AND tags.team = 'fraud'`), the subset its registry search accepts:
 * clauses joined by AND, each `<key> <op> <value>` with op =, !=, LIKE, ILIKE or IN (...). Keys are `name`,
 * `run_id`, `source_path`, `version_number`, `tags.<key>` or `tag.<key>` (backquoted when it has dots or spaces)
 * and `attributes.<key>`.
 * Anything else is INVALID_PARAMETER_VALUE, never a 500: the string comes straight from the caller.
 */
export interface Clause {
  key: string;
  op: '=' | '!=' | 'LIKE' | 'ILIKE' | 'IN';
  values: string[];
}

export const invalidParameter = (message: string) =>
  new AppError('VALIDATION_FAILED', message, { mlflowErrorCode: 'INVALID_PARAMETER_VALUE' });

const TOKEN =
  /\s*(?:(?<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?<num>-?\d+(?:\.\d+)?)|(?<op>!=|=|\(|\)|,)|(?<word>(?:[A-Za-z_][\w.]*)(?:`[^`]*`)?))/y;

function tokens(filter: string): { kind: 'str' | 'num' | 'op' | 'word'; text: string }[] {
  const out: { kind: 'str' | 'num' | 'op' | 'word'; text: string }[] = [];
  TOKEN.lastIndex = 0;
  let i = 0;
  while (i < filter.length) {
    if (/^\s*$/.test(filter.slice(i))) break;
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(filter);
    if (!m?.groups)
      throw invalidParameter(`Invalid filter at character ${i}: ${JSON.stringify(filter.slice(i, i + 40))}`);
    const [kind, text] = Object.entries(m.groups).find(([, v]) => v !== undefined)! as [
      'str' | 'num' | 'op' | 'word',
      string,
    ];
    out.push({ kind, text: kind === 'str' ? text.slice(1, -1).replace(/\\(.)/g, '$1') : text });
    i = TOKEN.lastIndex;
  }
  return out;
}

const KEYS = new Set(['name', 'run_id', 'source_path', 'version_number']);

export function parseFilter(filter: string, allowed: ReadonlySet<string> = KEYS): Clause[] {
  const t = tokens(filter);
  const clauses: Clause[] = [];
  let i = 0;
  const next = () => t[i++];
  while (i < t.length) {
    const k = next()!;
    if (k.kind !== 'word') throw invalidParameter(`Invalid filter: expected a key, got ${JSON.stringify(k.text)}`);
    let key = k.text.replace(/^attributes\./, '');
    // MLflow's own client adds `tag.\`mlflow.prompt.is_prompt\` != 'true'` to registry searches: tag. = tags.
    const tag = /^tags?\.(.+)$/.exec(key);
    if (tag) key = `tags.${tag[1]!.replace(/^`(.*)`$/, '$1')}`;
    else if (!allowed.has(key))
      throw invalidParameter(`Invalid filter key ${JSON.stringify(key)}: use ${[...allowed].join(', ')} or tags.<key>`);
    const o = next();
    const opText = o?.text.toUpperCase();
    let op: Clause['op'];
    if (opText === '=' || opText === '!=' || opText === 'LIKE' || opText === 'ILIKE' || opText === 'IN') op = opText;
    else throw invalidParameter(`Invalid filter: unsupported comparator ${JSON.stringify(o?.text ?? '')}`);
    const values: string[] = [];
    if (op === 'IN') {
      if (next()?.text !== '(') throw invalidParameter('Invalid filter: IN takes a list in parentheses');
      for (;;) {
        const v = next();
        if (!v || (v.kind !== 'str' && v.kind !== 'num')) throw invalidParameter('Invalid filter: bad IN list');
        values.push(v.text);
        const sep = next()?.text;
        if (sep === ')') break;
        if (sep !== ',') throw invalidParameter('Invalid filter: bad IN list');
      }
    } else {
      const v = next();
      if (!v || (v.kind !== 'str' && v.kind !== 'num'))
        throw invalidParameter(`Invalid filter: ${key} ${op} needs a quoted value`);
      values.push(v.text);
    }
    clauses.push({ key, op, values });
    if (i < t.length && next()!.text.toUpperCase() !== 'AND')
      throw invalidParameter('Invalid filter: clauses are joined by AND');
  }
  if (clauses.length > 20) throw invalidParameter('Invalid filter: at most 20 clauses');
  return clauses;
}

/** SQL LIKE as a regular expression: % any run, _ one character, everything else literal. */
function likeRegex(pattern: string, flags: string): RegExp {
  const body = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.');
  return new RegExp(`^${body}$`, flags);
}

/** Whether a record (`name`, `run_id`, ..., `tags.<key>`) passes every clause; a missing field never matches. */
export function matches(clauses: Clause[], field: (key: string) => string | undefined): boolean {
  return clauses.every((c) => {
    const v = field(c.key);
    if (v === undefined) return c.op === '!=';
    switch (c.op) {
      case '=':
        return v === c.values[0];
      case '!=':
        return v !== c.values[0];
      case 'IN':
        return c.values.includes(v);
      case 'LIKE':
        return likeRegex(c.values[0]!, 's').test(v);
      case 'ILIKE':
        return likeRegex(c.values[0]!, 'is').test(v);
    }
  });
}
