import type { z } from 'zod';
import { ZProtocolError, type ErrorCode } from '@modelyard/contracts';
import type { Feeds, Outputs, ServedVersion, ServingLimits } from '../../engine/index.js';
import { AppError } from '../../platform/errors.js';

/**
 * A request format (a "protocol": Modelyard's own, OIP v2, TF Serving, MLflow scoring) is one object of this
 * shape, in one file beside its parser and renderer, listed once in PROTOCOLS (protocols.ts). Everything that
 * differs between formats is here; everything else (auth, body reading, picking the version, running it,
 * metrics, access log) is the api's predict router, the same for all. Async predictions and the OpenAPI document
 * read the same objects.
 */
export interface PredictProtocol<N extends string = string> {
  /** The one name of the format: metrics label, `?format=` of async predictions, job rows, the CLI's --format. */
  readonly name: N;
  /** Names earlier releases used for it: still accepted from callers (`?format=v2`), never written. */
  readonly formerNames?: readonly string[];
  /** Its OpenAPI tag. */
  readonly tag: { readonly name: string; readonly description: string };
  /** Its predict routes (POST); every one is served by the predict router, for API keys and sessions alike. */
  readonly routes: readonly ProtocolRoute[];
  /** The OpenAPI schemas of a request body and a 200 answer (contracts). */
  readonly request: z.ZodType;
  readonly response: z.ZodType;
  /** The media types it takes, for the OpenAPI document: bodyKind is what decides. */
  readonly mediaTypes: readonly string[];
  /** How to read a body of this Content-Type (and headers); throws UNSUPPORTED_MEDIA_TYPE for one it does not take. */
  bodyKind(contentType: string | undefined, headers?: RequestHeaders): BodyKind;
  /** Request headers it reads, for the OpenAPI document (X-Routing-Key is every format's). */
  readonly requestHeaders?: readonly { readonly name: string; readonly description: string }[];
  /** Its error answers: null for Modelyard's `{"error": {code, message, errorId}}`. */
  readonly errors: ProtocolErrors | null;
  /**
   * True when its predict routes take `?explain=true`: the answer then also carries `explanation`, the rows'
   * per-feature contributions (ExplainService, issue 18). Modelyard's format only.
   */
  readonly explains?: boolean;
  /** Turns a parsed body into feeds for this version and says how to render the outputs. Throws InputError (400). */
  prepare(sv: ServedVersion, req: PredictRequest, limits: ServingLimits): Prepared;
}

/**
 * JSON bodies are parsed (prototype keys refused) before prepare sees them; text ones are handed over as a
 * string, bytes as a Buffer (OIP's binary tensors).
 */
export type BodyKind = 'json' | 'text' | 'bytes';

export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * Where a route's version comes from: the deployment rules (Production, pilots), a version number, an alias, or
 * either (OIP's model version is a string: a number is a version, anything else an alias).
 */
export type RouteTarget = 'model' | 'version' | 'alias' | 'version-or-alias';

export interface ProtocolRoute {
  /**
   * The path as OpenAPI writes it, `{name}` and `{version}` or `{alias}` as whole segments or before a literal
   * `:verb` suffix. It is also the `route` label of the request metrics.
   */
  readonly path: string;
  readonly target: RouteTarget;
  /** The stable OpenAPI operationId (generated clients name their methods after it) and summary. */
  readonly operationId: string;
  readonly summary: string;
}

export interface ProtocolErrors {
  /** The body of an error answer (`details`: the AppError's); the status code is always ours. */
  body(status: number, code: ErrorCode, message: string, details?: unknown): unknown;
  /** Its OpenAPI schema (contracts) and the prefix of its shared error responses (`MlflowNotFound`). */
  readonly schema: z.ZodType;
  readonly responsePrefix: string;
}

/** What a format needs from the request besides the version: the parsed body, its content type, the request id. */
export interface PredictRequest {
  body: unknown;
  contentType: string | undefined;
  requestId: string;
  /** The request's headers, for formats that read one (OIP's Inference-Header-Content-Length). */
  headers?: RequestHeaders;
}

export interface Prepared {
  feeds: Feeds;
  /** The OIP `outputs` filter; undefined = every output (and micro-batching allowed). */
  outputs?: string[];
  render(out: Outputs): unknown;
  /** The same answer already as JSON text, where a format writes it faster than JSON.stringify. */
  renderJson?(out: Outputs): string;
  /** An answer that is not JSON (OIP's binary tensors), when the request asked for one; null for JSON. */
  renderRaw?(out: Outputs): RawAnswer | null;
}

/** Bytes to send as they are, with the headers that describe them (Content-Type and the format's own). */
export interface RawAnswer {
  bytes: Buffer;
  headers: Record<string, string>;
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export const mediaTypeOf = (contentType: string | undefined) =>
  (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();

/** bodyKind of the formats that take JSON only. */
export function jsonOnly(contentType: string | undefined): BodyKind {
  if (mediaTypeOf(contentType) === 'application/json') return 'json';
  throw new AppError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Type must be application/json; got ${(contentType ?? 'none').slice(0, 100)}`,
  );
}

/** The error shape OIP v2 and TF Serving share: `{"error": "<message>"}`. */
export const MESSAGE_ERRORS: ProtocolErrors = {
  body: (_status, _code, message) => ({ error: message }),
  schema: ZProtocolError,
  responsePrefix: 'Protocol',
};
