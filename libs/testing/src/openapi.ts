import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';

type Json = Record<string, any>;
// ajv-formats is CommonJS: under ESM its function is the namespace's default, itself wrapping a default.
const addFormats = ajvFormats.default.default;

/**
 * Checks real answers against what an OpenAPI 3.1 document says a route answers, with a JSON Schema 2020-12
 * validator (OpenAPI 3.1's schema dialect). `check(method, path, status, body)` names the route by its
 * documented path (`/v1/models/{name}`) and returns the validation errors, or [] when the answer fits.
 */
export function openApiResponses(doc: Json) {
  const ajv = new Ajv2020({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  // The components as $defs of every compiled schema, so `#/...` references resolve inside it.
  const defs = JSON.parse(JSON.stringify(doc.components.schemas).replaceAll('#/components/schemas/', '#/$defs/'));
  const cache = new Map<string, ValidateFunction>();
  const resolve = (r: Json): Json => (r.$ref ? doc.components.responses[r.$ref.split('/').pop()] : r);

  return {
    /** The documented JSON schema of an answer; throws when the route or status is not documented. */
    schema(method: string, path: string, status: number): Json {
      const op = doc.paths[path]?.[method.toLowerCase()];
      if (!op) throw new Error(`${method} ${path} is not in the document`);
      const r = op.responses[String(status)];
      if (!r) throw new Error(`${method} ${path} does not document status ${status}`);
      const schema = resolve(r).content?.['application/json']?.schema;
      if (!schema) throw new Error(`${method} ${path} ${status} has no JSON schema`);
      return schema;
    },
    check(method: string, path: string, status: number, body: unknown): string[] {
      const key = `${method} ${path} ${status}`;
      let validate = cache.get(key);
      if (!validate) {
        const json = JSON.stringify(this.schema(method, path, status));
        const schema = JSON.parse(json.replaceAll('#/components/schemas/', '#/$defs/'));
        validate = ajv.compile({ ...schema, $defs: defs });
        cache.set(key, validate);
      }
      if (validate(body)) return [];
      return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
    },
  };
}
