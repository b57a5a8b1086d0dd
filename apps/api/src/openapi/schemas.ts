import { z } from 'zod';
import * as contracts from '@modelyard/contracts';

/**
 * Named component schemas: every zod schema `libs/contracts` exports is a component named after its export
 * without the `Z` (`ZModelVersion` -> `ModelVersion`), written by zod's own JSON Schema 2020-12 output, which is
 * OpenAPI 3.1's schema dialect. A schema that reads differently as a request (defaults make fields optional) gets
 * a second component, `<Name>Input`. Schemas declared beside a controller are inlined where they are used.
 */
export type Io = 'input' | 'output';
type Json = Record<string, unknown>;

const RENAMED: Record<string, string> = { ErrorResponse: 'Error' };
/** Marks a reference to a request-side component until we know whether it needs its own `Input` component. */
const INPUT_MARK = '@input';
const PREFIX = '#/components/schemas/';

let named: Map<z.ZodType, string> | null = null;

/**
 * The ids live in zod's global registry: that is where `.meta()` and `.describe()` put descriptions and examples,
 * and zod's converter reads one registry. Nothing else in the api converts schemas, so the ids disturb nobody.
 */
function namedSchemas(): Map<z.ZodType, string> {
  if (named) return named;
  named = new Map();
  for (const [exportName, value] of Object.entries(contracts)) {
    if (!(value instanceof z.ZodType) || !/^Z[A-Z]/.test(exportName) || named.has(value)) continue;
    const id = RENAMED[exportName.slice(1)] ?? exportName.slice(1);
    named.set(value, id);
    z.globalRegistry.add(value, { ...z.globalRegistry.get(value), id });
  }
  return named;
}

const mark = (io: Io) => (io === 'input' ? INPUT_MARK : '');

const convert = (schema: z.ZodType, io: Io) =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;

/** The whole registry, each component's references to others written as `#/components/schemas/<id>`. */
const convertRegistry = (io: Io) =>
  z.toJSONSchema(z.globalRegistry, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
    uri: (id: string) => `${PREFIX}${id}${mark(io)}`,
  }).schemas as Record<string, Json>;

function strip(s: Json): Json {
  const { $schema: _schema, $id: _id, ...rest } = s;
  return rest;
}

/**
 * The JSON Schema of one zod schema, with `$ref`s to the named components (still marked input or output; the
 * document builder resolves them with `resolveRefs`).
 */
export function schemaOf(schema: z.ZodType, io: Io): Json {
  const id = namedSchemas().get(schema);
  if (id) return { $ref: `${PREFIX}${id}${mark(io)}` };
  // A schema that is not a component itself: zod puts the components it uses in $defs, under their ids.
  const { $defs, ...rest } = strip(convert(schema, io));
  const ids = new Set(namedSchemas().values());
  const unnamed = Object.keys(($defs ?? {}) as Json).filter((d) => !ids.has(d));
  if (unnamed.length) throw new Error(`OpenAPI: schema definitions without a contracts name: ${unnamed.join(', ')}`);
  const json = JSON.stringify(rest).replace(/"#\/\$defs\/([^"]+)"/g, (_m, d: string) => `"${PREFIX}${d}${mark(io)}"`);
  return JSON.parse(json) as Json;
}

/** Every component, as output and as input, and which ids read differently as input. */
export function components(): { output: Record<string, Json>; input: Record<string, Json>; differs: Set<string> } {
  namedSchemas();
  const output = mapValues(convertRegistry('output'), strip);
  const input = mapValues(convertRegistry('input'), strip);
  const unmarked = (s: Json) => JSON.stringify(s).split(INPUT_MARK).join('');
  const differs = new Set(Object.keys(output).filter((id) => unmarked(input[id]!) !== JSON.stringify(output[id])));
  // An input schema that refers to an input that differs differs too.
  for (let grew = true; grew;) {
    grew = false;
    for (const id of Object.keys(input)) {
      if (differs.has(id)) continue;
      const refs = refsIn(input[id]!);
      if ([...refs].some((r) => r.endsWith(INPUT_MARK) && differs.has(r.slice(0, -INPUT_MARK.length)))) {
        differs.add(id);
        grew = true;
      }
    }
  }
  return { output, input, differs };
}

/** The component ids a schema refers to (input references keep their mark). */
export function refsIn(s: unknown): Set<string> {
  const out = new Set<string>();
  for (const m of JSON.stringify(s).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) out.add(m[1]!);
  return out;
}

/** Rewrites marked input references to `<Name>Input` where the input reads differently, else to `<Name>`. */
export function resolveRefs<T>(value: T, differs: Set<string>): T {
  const json = JSON.stringify(value).replace(
    /"#\/components\/schemas\/([^"@]+)@input"/g,
    (_m, id: string) => `"${PREFIX}${differs.has(id) ? `${id}Input` : id}"`,
  );
  return JSON.parse(json) as T;
}

function mapValues<V, W>(o: Record<string, V>, f: (v: V) => W): Record<string, W> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
