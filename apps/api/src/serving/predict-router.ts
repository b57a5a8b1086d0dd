import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyAddr from 'proxy-addr';
import sjson from 'secure-json-parse';
import { errorCodes } from 'fastify';
import type { Logger } from 'pino';
import type { ApiConfig } from '@modelyard/config';
import { ENTITY_ID_PATTERN, STAGES, ZAliasName, ZModelName } from '@modelyard/contracts';
import {
  AppError,
  AuthService,
  authorize,
  keyFor,
  type ExplainService,
  PredictionService,
  PROTOCOLS,
  RollupsService,
  ServingMetrics,
  tracing,
  validate,
  type BodyKind,
  type PredictionLabels,
  type PredictProtocol,
  type PredictRequest,
  type Principal,
  type ProtocolName,
  type ProtocolRoute,
  type VersionSelector,
} from '@modelyard/server';
import { recordPrediction } from './prediction-metrics.js';
import { errorAnswer } from './protocol-errors.js';
import { requestIdOf } from '../common/request-id.js';
import { logAccess } from '../common/access-log.js';
import { lingerAfterEarlyAnswer } from '../common/lingering-close.js';
import { refuseCrossSite } from '../common/same-origin.js';
import { SESSION_COOKIE } from '../common/decorators.js';
import { URL_PROJECT, type ProjectedRequest } from '../common/project-url.js';
import { tracePrediction } from '../common/tracing.js';
import { StageTimers, type Stage } from './stage-timers.js';

/** One predict route of one protocol, compiled: its path as a regex whose groups are the name and the target. */
interface PredictRoute {
  protocol: PredictProtocol<ProtocolName>;
  route: ProtocolRoute;
  pattern: RegExp;
  /**
   * The metrics `route` label: the path with `:name` for `{name}`, as the framework's routes were labelled, so
   * dashboards and alerts written against those labels keep working and the value has no braces.
   */
  label: string;
}

type Selector = VersionSelector & { routingKey?: string; entityIds?: string[] };

/** `{name}` and the target's placeholder match one path segment each, percent-encoded or not. */
function compile(protocol: PredictProtocol<ProtocolName>, route: ProtocolRoute): PredictRoute {
  const source = route.path
    .split(/(\{[a-z]+\})/)
    .map((part) => (part.startsWith('{') ? '([^/]+)' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('');
  return { protocol, route, pattern: new RegExp(`^${source}$`), label: route.path.replace(/\{([a-z]+)\}/g, ':$1') };
}

export const PREDICT_ROUTES: readonly PredictRoute[] = PROTOCOLS.flatMap((p) => p.routes.map((r) => compile(p, r)));

// The contracts' rules as plain regexes for the hot path; zod decides (and words the 400) only when these miss.
const NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const ALIAS = /^[a-z][a-z0-9_-]{0,63}$/;
const VERSION = /^[1-9][0-9]{0,9}$/;
const MAX_VERSION = 2_147_483_647;
const EXPLAIN_QUERY = /(?:^|&)explain=true(?:&|$)/;
const STAGE_NAMES = new Set<string>(STAGES.map((s) => s.toLowerCase()));

const BEARER = /^Bearer\s+(\S{16,512})$/i;
const BAD_KEY = new AppError('UNAUTHENTICATED', 'Invalid, expired or revoked API key');
const NO_CALLER = new AppError('UNAUTHENTICATED', 'Log in or send an API key: Authorization: Bearer <key>');
const CLOSING = new AppError('NOT_READY', 'This api process is shutting down: retry (another one will answer)');

type TrustFn = (addr: string, i: number) => boolean;

function trustFnOf(tp: ApiConfig['http']['trustProxy']): TrustFn | null {
  if (tp === false) return null;
  if (tp === true) return () => true;
  return proxyAddr.compile(
    String(tp)
      .split(',')
      .map((s) => s.trim()),
  );
}

/** A proxy header as Fastify reads it from a trusted peer: its last entry. */
const lastEntry = (v: string | string[] | undefined) => {
  const s = Array.isArray(v) ? v[v.length - 1]! : v!;
  return s.slice(s.lastIndexOf(',') + 1).trim();
};

export interface PredictRouterDeps {
  cfg: ApiConfig;
  log: Logger;
  auth: AuthService;
  predictions: PredictionService;
  metrics: ServingMetrics;
  rollups: RollupsService;
  explain: Pick<ExplainService, 'explainFeeds'>;
}

/** One request on its way through the router. */
interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  id: string;
  /** The log context dispatch opened for this request (its id on every line). */
  started: number;
  at: PredictRoute;
  name: string;
  sel: Selector;
  /** The request id was made here (the caller sent none): it is unique to this answer, so it is the prediction id. */
  ownId: boolean;
  /** `?explain=true` on a Modelyard route: the answer also carries the rows' explanations (ExplainService). */
  explain: boolean;
  /** When the current stage began (performance.now() ms), with SERVING_STAGE_TIMERS on. */
  lap: number;
}

/**
 * Every predict route of every protocol (PROTOCOLS), for API keys and sessions alike, answered straight from
 * node:http in front of Fastify and Nest, which keep the management API. A prediction costs about half the CPU
 * it cost through the framework (bench/results). The steps are the same for every format: the caller (API key,
 * or session cookie with the cross-site check), the route's parameters, the Content-Type the protocol takes,
 * the body (at most MAX_BODY_BYTES, declared or chunked), the version (rate limit, pilots), the run, the answer
 * and errors in the protocol's shape, one metrics observation and one access line.
 */
export class PredictRouter {
  private readonly trust: TrustFn | null;
  /** Per-stage timers for diagnosis (SERVING_STAGE_TIMERS); null, and one test per stage, when off. */
  private readonly stages: StageTimers | null;
  closing = false;

  constructor(private readonly d: PredictRouterDeps) {
    this.trust = trustFnOf(d.cfg.http.trustProxy);
    this.stages = d.cfg.serving.stageTimers ? new StageTimers(d.metrics.registry) : null;
  }

  private lap(call: Call, stage: Stage) {
    if (this.stages) call.lap = this.stages.lap(stage, call.lap);
  }

  /** True when the request is a prediction and this router answers it; false leaves it to the framework. */
  take(req: IncomingMessage, res: ServerResponse, id = requestIdOf(req.headers['x-request-id'])): boolean {
    if (req.method !== 'POST') return false;
    const url = req.url!;
    if (!url.startsWith('/v1/models/') && !url.startsWith('/v2/models/')) return false;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let at: PredictRoute | undefined;
    let m: RegExpExecArray | null = null;
    for (const r of PREDICT_ROUTES) {
      m = r.pattern.exec(path);
      if (m) {
        at = r;
        break;
      }
    }
    if (!at || !m) return false;
    const started = performance.now();
    const call: Call = {
      req,
      res,
      id,
      started,
      at,
      name: '',
      sel: {},
      ownId: id !== req.headers['x-request-id'],
      explain: q !== -1 && at.protocol.explains === true && EXPLAIN_QUERY.test(url.slice(q + 1)),
      lap: started,
    };
    // The only cost of tracing here when it is off (OTEL_*): this test.
    if (tracing.on) tracePrediction(req, res, at.label, call.id, at.protocol.name, () => call.name);
    try {
      if (this.closing) throw CLOSING;
      this.authenticate(call, (actor) => this.admit(call, actor, m));
    } catch (e) {
      this.refuse(call, e);
    }
    return true;
  }

  /** What is checked before the body is read, in the order the framework checked it: permission, path, media type. */
  private admit(call: Call, actor: Principal, m: RegExpExecArray) {
    this.lap(call, 'auth');
    try {
      authorize(actor, 'predict');
      this.params(call, m);
      this.read(call, actor, call.at.protocol.bodyKind(call.req.headers['content-type'], call.req.headers));
    } catch (e) {
      this.refuse(call, e);
    }
  }

  /** The model name and the version or alias from the path, as the contracts allow them (else 400). */
  private params(call: Call, m: RegExpExecArray) {
    call.name = NAME.test(m[1]!) ? m[1]! : validate(ZModelName, decoded(m[1]!));
    let target = call.at.route.target;
    if (target === 'version-or-alias') target = VERSION.test(m[2]!) ? 'version' : 'alias';
    if (target === 'version') {
      const v = m[2]!;
      const n = VERSION.test(v) ? Number(v) : NaN;
      if (!(n <= MAX_VERSION))
        throw new AppError('VALIDATION_FAILED', `The version must be a whole number from 1 to ${MAX_VERSION}`);
      call.sel.version = n;
    } else if (target === 'alias') {
      // ZAliasName also refuses version numbers and stage names, which the regex lets through.
      const a = m[2]!;
      const plain = ALIAS.test(a) && !/^v?\d+$/.test(a) && !STAGE_NAMES.has(a);
      call.sel.alias = plain ? a : validate(ZAliasName, decoded(a));
    }
    const rk = call.req.headers['x-routing-key'];
    if (typeof rk === 'string' && rk.length > 0 && rk.length <= 256) call.sel.routingKey = rk;
    const ent = call.req.headers['x-entity-id'];
    if (typeof ent === 'string' && ent.length > 0) call.sel.entityIds = entityIds(ent);
  }

  /**
   * The caller, before the body is read: a refused one is answered at once and Node discards the body instead of
   * this process buffering up to MAX_BODY_BYTES for it. An API key never falls back to the cookie.
   */
  private authenticate(call: Call, then: (actor: Principal) => void) {
    const { req } = call;
    const header = req.headers.authorization;
    const named = (req as ProjectedRequest)[URL_PROJECT];
    const ip = this.ip(req);
    let pending: Promise<Principal | null>;
    if (header !== undefined) {
      const key = BEARER.exec(header);
      if (!key) throw BAD_KEY;
      const known = this.d.auth.cachedApiKey(key[1]!, ip);
      if (known) {
        const actor = this.d.auth.keyIn(known, named);
        if (!(actor instanceof Promise)) return then(actor);
        pending = actor;
      } else {
        if (known === null) throw BAD_KEY;
        pending = this.d.auth.resolveApiKey(key[1]!, ip).then((p) => p && this.d.auth.keyIn(p, named));
      }
    } else {
      const token = sessionCookie(req.headers.cookie);
      if (!token) throw NO_CALLER;
      // The cookie rides along on any request a browser makes: a state change must come from our own pages.
      refuseCrossSite({ method: 'POST', protocol: this.protocol(req), host: this.host(req), headers: req.headers });
      pending = this.d.auth.resolveSessionIn(token, ip, named);
    }
    pending.then(
      (p) => {
        if (p) then(p);
        else this.refuse(call, header !== undefined ? BAD_KEY : NO_CALLER);
      },
      (e: unknown) => this.refuse(call, e),
    );
  }

  private read(call: Call, actor: Principal, kind: BodyKind) {
    const { req } = call;
    const max = this.d.cfg.http.maxBodyBytes;
    const declared = req.headers['content-length'];
    if (declared !== undefined && !(Number(declared) <= max)) return this.refuse(call, tooLarge(max));
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      // Only a chunked body can get here: a declared length was checked above, and Node reads no more than it.
      if (size > max) {
        over = true;
        chunks.length = 0;
        call.res.setHeader('connection', 'close');
        this.refuse(call, tooLarge(max));
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => undefined); // a client gone mid-body: nothing to answer, nothing to record
    req.on('end', () => {
      if (over) return;
      this.lap(call, 'body');
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      void this.answer(call, actor, raw, kind);
    });
  }

  /** An answer before the body was read: not a prediction, so in no prediction metric. */
  private refuse(call: Call, e: unknown) {
    if (!call.req.complete) lingerAfterEarlyAnswer(call.req, call.res);
    const status = this.sendError(call, e).status;
    logAccess(this.d.log, true, call.id, 'POST', call.req.url!, status, performance.now() - call.started);
  }

  private sendError({ req, res, id, at }: Call, e: unknown) {
    const a = errorAnswer(at.protocol.errors, e, id);
    if (a.unexpected) this.d.log.error({ err: e, errorId: id, method: req.method, url: req.url }, 'unhandled error');
    const json = JSON.stringify(a.body);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(json),
      'x-request-id': id,
    };
    if (a.retryAfter) headers['retry-after'] = a.retryAfter;
    if (this.closing) headers.connection = 'close';
    if (!res.headersSent) {
      res.writeHead(a.status, headers);
      res.end(json);
    }
    return a;
  }

  private async answer(call: Call, actor: Principal, raw: Buffer, kind: BodyKind) {
    const { metrics } = this.d;
    const { req, res, id, at, name, sel } = call;
    // A request is a prediction (in metrics and rollups) once its body parsed and its caller is known: refusals
    // before that (bad JSON, bad key) are not.
    let labels: PredictionLabels | null = null;
    let status = 200;
    let code: string | undefined;
    try {
      let body: unknown = raw;
      if (kind === 'text') body = raw.toString('utf8');
      else if (kind === 'json') {
        try {
          // Bodies with __proto__ or constructor.prototype keys are refused, as Fastify's JSON parser refuses them.
          body = sjson.parse(raw.toString('utf8'), null, { protoAction: 'error', constructorAction: 'error' });
        } catch {
          throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY();
        }
      }
      this.lap(call, 'parse');
      // Metrics and rollups key on the model's key: two projects' models of one name never share a series.
      const model = keyFor(actor, name);
      labels = { model, version: sel.version ? String(sel.version) : '', format: at.protocol.name, role: '' };
      metrics.inFlightNow++;
      const r = await this.predict(call, actor, {
        body,
        contentType: req.headers['content-type'],
        headers: req.headers,
        requestId: id,
        labels,
      });
      this.lap(call, 'run');
      const bytes = r.prepared.renderRaw?.(r.outputs);
      if (bytes && !call.explain) {
        res.writeHead(200, {
          ...bytes.headers,
          ...answered(call, r, bytes.headers['content-type']!, bytes.bytes.length),
        });
        res.end(bytes.bytes);
      } else {
        let json: string;
        if (call.explain) {
          const explanation = await this.d.explain.explainFeeds(r.served, r.prepared.feeds);
          json = JSON.stringify({ ...(r.prepared.render(r.outputs) as object), explanation });
        } else {
          json = r.prepared.renderJson
            ? r.prepared.renderJson(r.outputs)
            : JSON.stringify(r.prepared.render(r.outputs));
        }
        res.writeHead(200, answered(call, r, 'application/json; charset=utf-8', Buffer.byteLength(json)));
        res.end(json);
      }
      this.lap(call, 'render');
    } catch (e) {
      const a = this.sendError(call, e);
      status = a.status;
      code = a.code;
    }
    const ms = performance.now() - call.started;
    if (labels) recordPrediction(metrics, this.d.rollups, labels, at.label, status, code, ms);
    logAccess(this.d.log, true, id, 'POST', req.url!, status, ms);
    this.lap(call, 'record');
  }

  /**
   * Pick the version (rate limit, pilots), prepare the body for it, run within the budget. `labels` is filled in
   * as the version is known, so a failure later is still counted against the version that was chosen. Not an
   * async function: on the hot path the version is picked without a promise, and the run's is the only one.
   */
  private predict(call: Call, actor: Principal, r: PredictRequest & { labels: PredictionLabels }) {
    const { predictions, cfg } = this.d;
    const { name, sel } = call;
    const protocol = call.at.protocol;
    const run = ({ served, role }: Awaited<ReturnType<PredictionService['select']>>) => {
      this.lap(call, 'select');
      r.labels.version = String(served.version);
      r.labels.role = role;
      const prepared = protocol.prepare(served, r, cfg.serving);
      this.lap(call, 'prepare');
      const rows = prepared.feeds[served.signature.inputs[0]!.name]?.dims[0] ?? 0;
      if (sel.entityIds && sel.entityIds.length !== rows)
        throw new AppError(
          'VALIDATION_FAILED',
          `X-Entity-Id names ${sel.entityIds.length} entities for ${rows} rows: give one id per row, comma-separated`,
        );
      // Every answer carries an id of its own: the request id when it was made here, else a new one (a caller's
      // request id may be reused across retries).
      const predictionId = call.ownId ? call.id : randomUUID();
      const trace = { predictionId, entityIds: sel.entityIds ?? [], callerGroups: actor.groups.map((g) => g.name) };
      return predictions
        .run(served, prepared.feeds, {
          timeoutMs: cfg.serving.timeoutMs,
          outputs: prepared.outputs,
          logSampleRate: cfg.serving.predictionLogSampleRate,
          silentCap: cfg.serving.silentMaxConcurrency,
          role,
          trace,
        })
        .then((outputs) => ({ served, role, prepared, outputs, predictionId }));
    };
    try {
      const picked = predictions.select(actor, name, sel, cfg.serving.rateLimit);
      return picked instanceof Promise ? picked.then(run) : run(picked);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The caller's address as Fastify's request.ip has it (proxy-addr), without parsing when no proxy header came. */
  private ip(req: IncomingMessage): string | null {
    if (!this.trust || req.headers['x-forwarded-for'] === undefined) return req.socket.remoteAddress ?? null;
    return proxyAddr(req, this.trust);
  }

  private trusted(req: IncomingMessage) {
    return this.trust !== null && this.trust(req.socket.remoteAddress ?? '', 0);
  }

  /** As Fastify's request.protocol and request.host: the proxy's headers only from a trusted peer. */
  private protocol(req: IncomingMessage) {
    const fwd = req.headers['x-forwarded-proto'];
    if (fwd && this.trusted(req)) return lastEntry(fwd);
    return (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  }

  private host(req: IncomingMessage) {
    const fwd = req.headers['x-forwarded-host'];
    if (fwd && this.trusted(req)) return lastEntry(fwd);
    return req.headers.host ?? '';
  }
}

/** X-Entity-Id: the caller's id per row, comma-separated (at most MAX_ENTITY_IDS), each of ENTITY_ID_PATTERN. */
const MAX_ENTITY_IDS = 10_000;
function entityIds(header: string): string[] {
  const ids = header.split(',').map((s) => s.trim());
  if (ids.length > MAX_ENTITY_IDS || !ids.every((s) => ENTITY_ID_PATTERN.test(s)))
    throw new AppError(
      'VALIDATION_FAILED',
      `X-Entity-Id must be at most ${MAX_ENTITY_IDS} comma-separated ids of 1 to 128 letters, digits and . _ : @ / -`,
    );
  return ids;
}

/** The headers of a prediction's answer, in one object literal (Node walks its keys once; no spread copies). */
function answered(
  { id }: Call,
  r: { served: { version: number }; role: string; predictionId: string },
  type: string,
  length: number,
): Record<string, string | number> {
  return {
    'content-type': type,
    'content-length': length,
    'x-request-id': id,
    'x-model-version': String(r.served.version),
    'x-deployment-role': r.role,
    'x-prediction-id': r.predictionId,
  };
}

const tooLarge = (max: number) =>
  new AppError('PAYLOAD_TOO_LARGE', `The body is larger than MAX_BODY_BYTES (${max} bytes)`);

/** A path segment as the framework decodes it; a malformed escape is the caller's 400. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AppError('VALIDATION_FAILED', `The path segment ${segment.slice(0, 100)} is not valid percent-encoding`);
  }
}

/** The session token from a Cookie header (@fastify/cookie's reading: the first of that name, URI-decoded). */
export function sessionCookie(header: string | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    try {
      v = decodeURIComponent(v);
    } catch {
      return null;
    }
    return v.length > 0 && v.length <= 256 ? v : null;
  }
  return null;
}
