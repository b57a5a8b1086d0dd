/** One CSV record: its fields, and its text as it was in the file (for copying input columns to the output). */
export interface CsvRecord {
  fields: string[];
  raw: string;
}

const NO_FIELDS: string[] = [];
const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/**
 * RFC 4180 records from text that arrives in pieces (a file streamed from storage): `push` returns the records
 * completed so far and keeps the unfinished tail, `end` flushes it. Quoted fields may hold commas, quotes (`""`)
 * and line breaks. Blank lines are skipped. A malformed record (text after a closing quote, a quote inside an
 * unquoted field) comes back with `error` set instead of failing the whole file: batch jobs set such rows aside.
 */
export class CsvRecordReader {
  private carry = '';
  private first = true;
  private records = 0;

  /**
   * `fields: false` splits only the first record (the header) into fields and returns the others with their raw
   * text and no fields: enough to find record boundaries (quoted line breaks included) at a fraction of the cost.
   */
  constructor(private readonly opts: { fields: boolean } = { fields: true }) {}

  push(text: string): (CsvRecord & { error?: string })[] {
    return this.scan(this.carry + text, false);
  }

  end(): (CsvRecord & { error?: string })[] {
    const out = this.scan(this.carry, true);
    this.carry = '';
    return out;
  }

  private scan(text: string, final: boolean): (CsvRecord & { error?: string })[] {
    const out: (CsvRecord & { error?: string })[] = [];
    let i = 0;
    if (this.first && text.length) {
      if (text.charCodeAt(0) === 0xfeff) i = 1;
      this.first = false;
    }
    const n = text.length;
    while (i < n) {
      const lf = text.indexOf('\n', i);
      if (lf < 0 && !final) break;
      const lineEnd = lf < 0 ? n : lf;
      const line = text.slice(i, lineEnd > i && text.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd);
      if (line.indexOf('"') < 0) {
        // The common case: no quotes, so the record is the line.
        i = lineEnd + 1;
        if (line.length)
          out.push({ fields: this.opts.fields || this.records === 0 ? line.split(',') : NO_FIELDS, raw: line });
        if (line.length) this.records++;
        continue;
      }
      const r = quoted(text, i, final);
      if (r === null) break; // a quoted field runs past what has arrived
      i = r.next;
      out.push(r.record);
      this.records++;
    }
    this.carry = i < n ? text.slice(i) : '';
    return out;
  }
}

/** One record starting at `from` with quotes somewhere in it; null when it is not complete yet. */
function quoted(
  text: string,
  from: number,
  final: boolean,
): { record: CsvRecord & { error?: string }; next: number } | null {
  const n = text.length;
  const fields: string[] = [];
  let i = from;
  let error: string | undefined;
  for (;;) {
    if (text.charCodeAt(i) === QUOTE) {
      let value = '';
      let at = i + 1;
      for (;;) {
        const q = text.indexOf('"', at);
        if (q < 0) {
          if (!final) return null;
          error = 'a quoted field is not closed';
          value += text.slice(at);
          i = n;
          break;
        }
        if (q + 1 >= n && !final) return null; // cannot tell `"` from `""` yet
        if (text.charCodeAt(q + 1) === QUOTE) {
          value += text.slice(at, q + 1);
          at = q + 2;
          continue;
        }
        value += text.slice(at, q);
        i = q + 1;
        break;
      }
      fields.push(value);
      const c = text.charCodeAt(i);
      if (i < n && c !== COMMA && c !== LF && c !== CR) {
        error ??= 'text after a closing quote';
        while (i < n && text.charCodeAt(i) !== COMMA && text.charCodeAt(i) !== LF) i++;
      }
    } else {
      let j = i;
      for (; j < n; j++) {
        const c = text.charCodeAt(j);
        if (c === COMMA || c === LF || c === CR) break;
        if (c === QUOTE) error ??= 'a quote inside an unquoted field (quote the whole field)';
      }
      fields.push(text.slice(i, j));
      i = j;
    }
    if (i >= n && !final) return null;
    if (text.charCodeAt(i) !== COMMA) break;
    i++;
  }
  const end = i;
  if (text.charCodeAt(i) === CR) i++;
  if (i < n && text.charCodeAt(i) !== LF && !error) error = 'a stray carriage return';
  if (text.charCodeAt(i) === LF) i++;
  else if (i >= n && !final) return null;
  return { record: { fields, raw: text.slice(from, end), ...(error && { error }) }, next: i };
}

/** A value as a CSV field: quoted when it holds a comma, quote or line break. */
export function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
