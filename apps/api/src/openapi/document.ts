import type { INestApplication, PipeTransform, Type } from '@nestjs/common';
import { ParseUUIDPipe } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants.js';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { ERROR_CODES, ZAliasName, ZModelName, type ErrorCode } from '@modelyard/contracts';
import {
  JSON_LINES_TYPES,
  PROTOCOLS,
  type PredictProtocol,
  type ProtocolErrors,
  type ProtocolRoute,
} from '@modelyard/server';
import { consumesOf, ZOD_DOC, type ZodDoc } from '../common/decorators.js';
import { ZodPipe } from '../common/zod.pipe.js';
import { errorProtocolOf } from '../serving/protocol-errors.js';
import { OPERATIONS, type OperationDoc } from './operations.js';
import { components, refsIn, resolveRefs, schemaOf } from './schemas.js';

/**
 * The OpenAPI 3.1 document at /docs/openapi.json. @nestjs/swagger finds every route (so none can be left out)
 * and reads the tags and the permission extensions; everything a client generator needs is then written here:
 * operationIds and summaries (operations.ts), path, query and header parameters from the routes' zod pipes,
 * bodies and answers as named components from the zod contracts (schemas.ts), the error answers each route
 * can give with their codes, and the two security schemes.
 */
export const API_VERSION = '0.1.0';
type Json = Record<string, unknown>;
type RouteArg = { index: number; data?: string; pipes?: (PipeTransform | Type<PipeTransform>)[] };

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const GUARDED = [{ apiKey: [] }, { session: [] }];

const TAGS: { name: string; description: string }[] = [
  { name: 'models', description: 'The registry: models, versions, stages, aliases, artifacts' },
  // Each request format's, from its PredictProtocol.
  ...PROTOCOLS.map((p) => p.tag),
  { name: 'deployments', description: 'Pilot and silent versions, revisions, rollbacks, comparisons' },
  { name: 'approvals', description: 'Approval requests for Production' },
  { name: 'jobs', description: 'Batch scoring, asynchronous predictions and schedules' },
  { name: 'streams', description: 'Stream deployments: records scored as they arrive on a stream' },
  { name: 'drift', description: 'Drift profiles, windows and reports' },
  { name: 'alerts', description: 'Alert rules, alerts and latency SLOs' },
  { name: 'performance', description: 'Ground truth (labels for predictions), model quality and pilot verdicts' },
  { name: 'metrics', description: 'Per-model time series and the Prometheus scrape' },
  { name: 'auth', description: 'Sign-in for the dashboard, and the caller' },
  { name: 'users', description: 'Users and roles' },
  { name: 'groups', description: 'Groups of users and service accounts' },
  { name: 'projects', description: 'Projects (the tenant boundary) and who has which role in them' },
  { name: 'service-accounts', description: 'Non-human principals' },
  { name: 'api-keys', description: 'API keys and their scopes' },
  { name: 'webhooks', description: 'Webhooks and their delivery log' },
  { name: 'audit', description: 'The audit log' },
  { name: 'health', description: 'Liveness and readiness probes' },
];

const STATUS_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};
/** What answers without touching a dependency: never a 503. */
const NO_DEPENDENCY = new Set(['getLiveness', 'oipServerLive', 'oipServerMetadata']);

/** The codes a route can answer with, by what it takes (see docs/ARCHITECTURE.md, "The OpenAPI document"). */
export function errorCodesOf(r: {
  id: string;
  method: string;
  hasParams: boolean;
  hasInput: boolean;
  hasBody: boolean;
  isPublic: boolean;
  predicts: boolean;
  extra?: ErrorCode[];
}): ErrorCode[] {
  const codes = new Set<ErrorCode>(['INTERNAL', ...(r.extra ?? [])]);
  if (!r.isPublic) codes.add('UNAUTHENTICATED').add('FORBIDDEN');
  // A cross-site state change is refused before anything else, public routes included (common/same-origin.ts).
  if (r.method !== 'get') codes.add('FORBIDDEN');
  if (r.hasInput) codes.add('VALIDATION_FAILED');
  if (r.hasBody) codes.add('BAD_REQUEST').add('PAYLOAD_TOO_LARGE').add('UNSUPPORTED_MEDIA_TYPE');
  if (r.hasParams) codes.add('NOT_FOUND');
  if (r.predicts) codes.add('BAD_REQUEST').add('RATE_LIMITED');
  if (!NO_DEPENDENCY.has(r.id)) codes.add('NOT_READY');
  return [...codes];
}

/** A shared error response: in our shape, or a protocol's (OIP v2 and TF Serving share one, so share these). */
function errorResponse(status: number, errors: ProtocolErrors | null): Json {
  const codes = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c] === status);
  const headers =
    status === 429 || status === 503
      ? { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } } }
      : undefined;
  const example = (code: ErrorCode) =>
    errors
      ? errors.body(status, code, `An example ${code} message`)
      : { error: { code, message: `An example ${code} message`, errorId: 'req-7f3a9c' } };
  return {
    description: `${words(STATUS_NAMES[status]!)}: ${codes.join(' or ')}${errors ? " (the protocol's shape)" : ''}`,
    ...(headers && { headers }),
    content: {
      'application/json': {
        schema: errors ? schemaOf(errors.schema, 'output') : { $ref: '#/components/schemas/Error' },
        examples: Object.fromEntries(codes.map((c) => [c, { value: example(c) }])),
      },
    },
  };
}

/** The error answers of a route that can give `codes`, as shared responses (`#/components/responses/...`). */
function errorResponses(codes: ErrorCode[], errors: ProtocolErrors | null, responses: Json) {
  const shared = new Map<string, Json>();
  for (const status of [...new Set(codes.map((c) => ERROR_CODES[c]))].sort()) {
    if (responses[status]) continue; // the route documents this status itself (readiness answers 503 with its checks)
    const name = `${errors?.responsePrefix ?? ''}${STATUS_NAMES[status]}`;
    shared.set(name, errorResponse(status, errors));
    responses[status] = { $ref: `#/components/responses/${name}` };
  }
  return shared;
}

/** `PayloadTooLarge` -> `Payload too large`. */
const words = (name: string) => name.replace(/(?<=[a-z])([A-Z])/g, ' $1').replace(/ [A-Z]/g, (m) => m.toLowerCase());

function pipeSchema(pipes: RouteArg['pipes']): Json {
  for (const p of pipes ?? []) {
    if (p instanceof ZodPipe) return schemaOf(p.schema, 'input');
    if (p === ParseUUIDPipe || p instanceof ParseUUIDPipe) return { type: 'string', format: 'uuid' };
  }
  return { type: 'string' };
}

/** Query parameters: each field of a zod-validated query object; required when the schema refuses its absence. */
function queryParams(args: (RouteArg & { type: number })[]): Json[] {
  const out: Json[] = [];
  for (const a of args.filter((x) => x.type === RouteParamtypes.QUERY)) {
    const zp = a.pipes?.find((p): p is ZodPipe<z.ZodType> => p instanceof ZodPipe);
    if (a.data) {
      out.push({ name: a.data, in: 'query', required: false, schema: pipeSchema(a.pipes) });
    } else if (zp && zp.schema instanceof z.ZodObject) {
      for (const [name, field] of Object.entries(zp.schema.shape as Record<string, z.ZodType>)) {
        const required = !field.safeParse(undefined).success;
        out.push({ name, in: 'query', required, schema: schemaOf(field, 'input') });
      }
    } else {
      // The whole query string, unvalidated: the stored-prediction route takes any feature name.
      out.push({
        name: 'features',
        in: 'query',
        required: false,
        style: 'form',
        explode: true,
        description: 'Feature values by name (for a live prediction when nothing is stored)',
        schema: { type: 'object', additionalProperties: { type: 'string' } },
      });
    }
  }
  return out;
}

function requestBody(schema: z.ZodType, consumes: string[]): Json {
  const content: Json = {};
  for (const ct of consumes) {
    if (ct === 'multipart/form-data') {
      content[ct] = {
        schema: {
          type: 'object',
          required: ['file'],
          properties: {
            spec: { ...schemaOf(schema, 'input'), description: 'JSON, sent before the file part' },
            file: { type: 'string', contentMediaType: 'application/octet-stream' },
          },
        },
        encoding: { spec: { contentType: 'application/json' } },
      };
    } else if (ct === 'text/csv') {
      content[ct] = { schema: { type: 'string', description: 'CSV with a header row' } };
    } else if (JSON_LINES_TYPES.includes(ct)) {
      content[ct] = { schema: { type: 'string', description: 'JSON Lines: one JSON object a line' } };
    } else if (ct === 'application/octet-stream') {
      const description = 'A JSON part of Inference-Header-Content-Length bytes, then the raw tensors';
      content[ct] = { schema: { type: 'string', contentMediaType: ct, description } };
    } else {
      content[ct] = { schema: schemaOf(schema, 'input') };
    }
  }
  return { required: true, content };
}

interface Built {
  op: Json;
  errorResponses: Map<string, Json>;
}

function buildOperation(path: string, method: string, base: Json, cls: Type | undefined, key: string): Built {
  const doc: OperationDoc | undefined = OPERATIONS[key];
  const handler = key.slice(key.indexOf('.') + 1);
  const fn = cls?.prototype[handler] as object | undefined;
  const zodDoc: ZodDoc = (fn && Reflect.getMetadata(ZOD_DOC, fn)) ?? { responses: [] };
  const argMeta: Record<string, RouteArg> = (cls && Reflect.getMetadata(ROUTE_ARGS_METADATA, cls, handler)) ?? {};
  const args = Object.entries(argMeta).map(([k, v]) => ({ ...v, type: Number(k.split(':')[0]) }));
  const errors = errorProtocolOf(fn && Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, fn))?.errors ?? null;
  const consumes = consumesOf(fn);
  const isPublic = base['x-modelyard-public'] === true;

  const pathVars = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const parameters: Json[] = pathVars.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: pipeSchema(args.find((a) => a.type === RouteParamtypes.PARAM && a.data === name)?.pipes),
  }));
  parameters.push(...queryParams(args));
  for (const h of doc?.headers ?? []) {
    parameters.push({ ...h, in: 'header', required: false, schema: { type: 'string' } });
  }

  const responses: Json = {};
  for (const [status, r] of Object.entries((base.responses ?? {}) as Record<string, Json>)) {
    const description = r.description || (status === '204' ? 'No content' : 'OK');
    // A redirect's Location (single sign-on) is the whole answer.
    responses[status] = r.headers ? { description, headers: r.headers as Json } : { description };
  }
  for (const r of zodDoc.responses) {
    const content = { 'application/json': { schema: schemaOf(r.schema, 'output') } };
    responses[r.status] = { description: r.description, content };
  }
  if (doc?.download) {
    const ok = Object.keys(responses).find((s) => s.startsWith('2')) ?? '200';
    const type = doc.download.contentType;
    responses[ok] = {
      description: doc.download.description,
      content: { [type]: { schema: { type: 'string', contentMediaType: type } } },
    };
  }

  const hasBody = zodDoc.body !== undefined || args.some((a) => a.type === RouteParamtypes.BODY);
  const predicts = base['x-modelyard-permission'] === 'predict';
  const codes = errorCodesOf({
    id: doc?.id ?? key,
    method,
    isPublic,
    predicts,
    extra: doc?.errors,
    hasBody: hasBody || predicts,
    hasParams: pathVars.length > 0,
    hasInput: pathVars.length > 0 || parameters.length > 0 || hasBody || predicts,
  });
  const shared = errorResponses(codes, errors, responses);

  const op: Json = {
    // A route missing from OPERATIONS keeps the framework's `Controller.method`, which the tests refuse.
    operationId: doc?.id ?? key,
    summary: doc?.summary ?? '',
    tags: base.tags ?? [],
    ...(parameters.length && { parameters }),
    ...(zodDoc.body
      ? { requestBody: requestBody(zodDoc.body, consumes) }
      : base.requestBody
        ? { requestBody: base.requestBody }
        : {}),
    responses,
    security: isPublic ? [] : GUARDED,
  };
  for (const [k, v] of Object.entries(base)) if (k.startsWith('x-')) op[k] = v;
  return { op, errorResponses: shared };
}

const ROUTING_KEY = {
  name: 'X-Routing-Key',
  in: 'header',
  required: false,
  description: 'Keeps one end user on one pilot or production version (sticky routing), up to 256 characters',
  schema: { type: 'string', maxLength: 256 },
};

const ENTITY_ID = {
  name: 'X-Entity-Id',
  in: 'header',
  required: false,
  description:
    'Your own id of each row (comma-separated, one per row, each 1-128 of letters, digits and . _ : @ / -), to send ' +
    'labels for later (POST /v1/models/{name}/feedback); such requests are always logged',
  schema: { type: 'string' },
};

/** A route of the predict router: everything about it is in its protocol (PredictProtocol). */
function predictOperation(protocol: PredictProtocol, route: ProtocolRoute): Built {
  const [, target] = [...route.path.matchAll(/\{([a-z]+)\}/g)].map((m) => m[1]!);
  const parameters: Json[] = [{ name: 'name', in: 'path', required: true, schema: schemaOf(ZModelName, 'input') }];
  if (route.target === 'version') {
    const schema = { type: 'integer', minimum: 1, maximum: 2_147_483_647 };
    parameters.push({ name: target, in: 'path', required: true, schema });
  } else if (route.target === 'alias') {
    parameters.push({ name: target, in: 'path', required: true, schema: schemaOf(ZAliasName, 'input') });
  } else if (route.target === 'version-or-alias') {
    const description = 'A version number, or an alias (the version it points to)';
    parameters.push({ name: target, in: 'path', required: true, description, schema: { type: 'string' } });
  }
  parameters.push(ROUTING_KEY, ENTITY_ID);
  if (protocol.explains) {
    const description =
      "true: the answer also carries `explanation`, each row's per-feature contributions (as POST …/explain answers)";
    parameters.push({ name: 'explain', in: 'query', required: false, description, schema: { type: 'boolean' } });
  }
  for (const h of protocol.requestHeaders ?? []) {
    parameters.push({ ...h, in: 'header', required: false, schema: { type: 'string' } });
  }
  const responses: Json = {
    200: {
      description:
        'The prediction; X-Model-Version says which version answered, X-Deployment-Role in which role, ' +
        'X-Prediction-Id names this answer (labels for it go to POST /v1/models/{name}/feedback)',
      headers: {
        'X-Model-Version': { schema: { type: 'string' } },
        'X-Deployment-Role': { schema: { type: 'string' } },
        'X-Prediction-Id': { schema: { type: 'string', format: 'uuid' } },
      },
      content: { 'application/json': { schema: schemaOf(protocol.response, 'output') } },
    },
  };
  const codes = errorCodesOf({
    id: route.operationId,
    method: 'post',
    isPublic: false,
    predicts: true,
    hasBody: true,
    hasParams: true,
    hasInput: true,
  });
  const shared = errorResponses(codes, protocol.errors, responses);
  const op: Json = {
    operationId: route.operationId,
    summary: route.summary,
    tags: [protocol.tag.name],
    parameters,
    requestBody: requestBody(protocol.request, [...protocol.mediaTypes]),
    responses,
    security: GUARDED,
    'x-modelyard-permission': 'predict',
  };
  return { op, errorResponses: shared };
}

export function buildOpenApiDocument(app: INestApplication, controllers: readonly Type[]): OpenAPIObject {
  const scanned = SwaggerModule.createDocument(app, new DocumentBuilder().build(), {
    // The framework's ids are only a key into OPERATIONS here.
    operationIdFactory: (controller, method) => `${controller}.${method}`,
  });
  const classes = new Map(controllers.map((c) => [c.name, c]));
  const paths: Record<string, Json> = {};
  const responses = new Map<string, Json>();
  for (const [path, item] of Object.entries(scanned.paths)) {
    for (const method of METHODS) {
      const base = (item as Json)[method] as Json | undefined;
      if (!base) continue;
      const key = String(base.operationId);
      const built = buildOperation(path, method, base, classes.get(key.slice(0, key.indexOf('.'))), key);
      (paths[path] ??= {})[method] = built.op;
      for (const [name, r] of built.errorResponses) responses.set(name, r);
    }
  }
  for (const protocol of PROTOCOLS) {
    for (const route of protocol.routes) {
      const built = predictOperation(protocol, route);
      (paths[route.path] ??= {}).post = built.op;
      for (const [name, r] of built.errorResponses) responses.set(name, r);
    }
  }

  // Components: what the paths and responses refer to, and what those refer to in turn.
  const { output, input, differs } = components();
  const all: Record<string, Json> = { ...output };
  for (const id of differs) {
    if (all[`${id}Input`]) throw new Error(`OpenAPI: ${id}Input names both a contract and ${id}'s input form`);
    all[`${id}Input`] = input[id]!;
  }
  const resolved = resolveRefs({ paths, responses: Object.fromEntries(responses), all }, differs);
  const schemas: Record<string, Json> = {};
  const todo = [...refsIn(resolved.paths), ...refsIn(resolved.responses)];
  while (todo.length) {
    const id = todo.pop()!;
    if (schemas[id]) continue;
    if (!resolved.all[id]) throw new Error(`OpenAPI: no schema ${id}`);
    schemas[id] = resolved.all[id];
    todo.push(...refsIn(schemas[id]));
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Modelyard API',
      version: API_VERSION,
      description:
        'Model registry, serving, deployments and jobs. Authenticate with `Authorization: Bearer <API key>` ' +
        'or the dashboard\'s session cookie. Errors answer `{"error": {"code", "message", "errorId"}}` with a code ' +
        'from a closed list; the outside protocols (OIP v2, TF Serving, MLflow) answer errors in their own shapes.',
    },
    tags: TAGS,
    security: GUARDED,
    paths: resolved.paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'my_<prefix>_<secret>', description: 'An API key' },
        session: { type: 'apiKey', in: 'cookie', name: 'modelyard_session', description: 'The dashboard session' },
      },
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
      responses: Object.fromEntries(Object.entries(resolved.responses).sort(([a], [b]) => a.localeCompare(b))),
    },
  } satisfies Json as unknown as OpenAPIObject;
}
