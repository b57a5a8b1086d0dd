import { MAX_FEEDBACK_ITEMS, ZFeedbackItem, ZFeedbackList, type TFeedbackItem } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';
import { validate } from '../platform/validate.js';
import { mediaTypeOf } from '../serving/formats/protocol.js';

const CSV_COLUMNS = new Set(['predictionId', 'row', 'entityId', 'label']);

/** The names JSON Lines goes by. */
export const JSON_LINES_TYPES: readonly string[] = [
  'application/x-ndjson',
  'application/jsonl',
  'application/jsonlines',
];
/** The media types a feedback body may come in. */
export const FEEDBACK_TYPES = ['application/json', 'text/csv', ...JSON_LINES_TYPES];

/**
 * The labels of a feedback body: JSON (one item or `{labels: [...]}`), CSV with a header, or JSON Lines. Every
 * item is checked with ZFeedbackItem; the first bad one is a 400 naming its line (or index) and field.
 */
export function parseFeedback(body: unknown, contentType: string | undefined): TFeedbackItem[] {
  const type = mediaTypeOf(contentType);
  if (type === 'text/csv') return fromCsv(asText(body));
  if (JSON_LINES_TYPES.includes(type)) return fromJsonLines(asText(body));
  if (type !== 'application/json' && type !== '')
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Send labels as application/json, text/csv or application/x-ndjson (JSON Lines)',
    );
  // The two JSON shapes are told apart here, so a bad item's error names its field (a union's would not).
  if (body !== null && typeof body === 'object' && 'labels' in body) {
    const list = (body as { labels: unknown }).labels;
    if (Array.isArray(list) && list.length > MAX_FEEDBACK_ITEMS) tooMany();
    return validate(ZFeedbackList, body).labels;
  }
  return [item(body, 'body')];
}

function asText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  throw new AppError('BAD_REQUEST', 'The body could not be read as text');
}

function item(value: unknown, where: string): TFeedbackItem {
  const r = ZFeedbackItem.safeParse(value);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  const path = i.path.join('.');
  throw new AppError('VALIDATION_FAILED', `${where}: ${path ? `${path}: ` : ''}${i.message}`, {
    issues: r.error.issues.map((x) => ({ path: `${where}.${x.path.join('.')}`, message: x.message })),
  });
}

function tooMany(): never {
  throw new AppError('VALIDATION_FAILED', `At most ${MAX_FEEDBACK_ITEMS} labels per request: split the file`);
}

function fromJsonLines(text: string): TFeedbackItem[] {
  const out: TFeedbackItem[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (!line) continue;
    if (out.length >= MAX_FEEDBACK_ITEMS) tooMany();
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new AppError('VALIDATION_FAILED', `line ${n + 1}: not valid JSON`);
    }
    out.push(item(value, `line ${n + 1}`));
  }
  if (!out.length) throw new AppError('VALIDATION_FAILED', 'The upload holds no labels');
  return out;
}

/** RFC 4180 fields: quoted fields may hold commas, doubled quotes and line breaks. */
export function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
    i++;
  }
  if (quoted) throw new AppError('VALIDATION_FAILED', 'The CSV ends inside a quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0]!.trim() === ''));
}

const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function fromCsv(text: string): TFeedbackItem[] {
  const rows = csvRows(text.replace(/^\uFEFF/, ''));
  const header = rows[0]?.map((h) => h.trim());
  if (!header?.includes('label') || header.some((h) => !CSV_COLUMNS.has(h)))
    throw new AppError(
      'VALIDATION_FAILED',
      'The CSV needs a header of predictionId, row, entityId and label (label and one of the ids at least)',
    );
  if (new Set(header).size !== header.length)
    throw new AppError('VALIDATION_FAILED', 'The CSV header names a column twice');
  if (rows.length - 1 > MAX_FEEDBACK_ITEMS) tooMany();
  if (rows.length < 2) throw new AppError('VALIDATION_FAILED', 'The upload holds no labels');
  return rows.slice(1).map((cells, n) => {
    const where = `line ${n + 2}`;
    if (cells.length !== header.length)
      throw new AppError('VALIDATION_FAILED', `${where}: ${cells.length} fields for ${header.length} columns`);
    const value: Record<string, unknown> = {};
    header.forEach((h, c) => {
      const cell = cells[c]!.trim();
      if (cell === '') return;
      // A CSV has no types: a number-looking label is a number (a regressor's target, or a numeric class).
      if (h === 'row') value.row = NUMBER.test(cell) ? Number(cell) : cell;
      else if (h === 'label') value.label = NUMBER.test(cell) ? Number(cell) : cell;
      else value[h] = cell;
    });
    return item(value, where);
  });
}
