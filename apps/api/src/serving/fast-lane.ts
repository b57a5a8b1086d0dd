import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyAddr from 'proxy-addr';
import sjson from 'secure-json-parse';
import { errorCodes } from 'fastify';
import type { Logger } from 'pino';
import type { ApiConfig } from '@modelyard/config';
import { STAGES } from '@modelyard/contracts';
import {
  AppError,
  AuthService,
  OipBinaryAnswer,
  PredictionService,
  RollupsService,
  ServingMetrics,
  type PredictionLabels,
  type Principal,
  type VersionSelector,
} from '@modelyard/server';
import {
  MLFLOW_FORMAT,
  MODELYARD_FORMAT,
  OIP_FORMAT,
  predictCall,
  TFS_FORMAT,
  type PredictFormat,
} from './predict-call.js';
import { recordPrediction } from './prediction-metrics.js';
import { requestIdOf } from '../common/request-id.js';
import { logAccess } from '../common/access-log.js';
import { errorAnswer, type ErrorProtocol } from './protocol-errors.js';

const STAGE_NAMES = new Set<string>(STAGES.map((s) => s.toLowerCase()));

const BEARER = /^Bearer\s+(\S{16,512})$/i;
const NAME = '([a-z0-9][a-z0-9._-]{0,99})';
const ALIAS = '([a-z][a-z0-9_-]{0,63})';
const VERSION = '([1-9][0-9]{0,9})';

interface LaneRoute {
  pattern: RegExp;
  /** The route as Fastify registered it: the `route` label of the request metrics. */
  route: string;
  fmt: PredictFormat;
  /** The error shape: ours, or the outside protocol's (PROTOCOLS.md). */
  protocol: ErrorProtocol | null;
  /** What the second capture is, if any. */
  by?: 'version' | 'alias';
  /** Content types the route takes here; anything else goes to the framework, which answers 415. */
  csv?: boolean;
}

/** Every predict route of the four formats; names and aliases as ZModelName/ZAliasName allow (else the framework answers). */
const ROUTES: LaneRoute[] = [
  {
    pattern: new RegExp(`^/v1/models/${NAME}/predict$`),
    route: '/v1/models/:name/predict',
    fmt: MODELYARD_FORMAT,
    protocol: null,
  },
  {
    pattern: new RegExp(`^/v1/models/${NAME}/versions/${VERSION}/predict$`),
    route: '/v1/models/:name/versions/:version/predict',
    fmt: MODELYARD_FORMAT,
    protocol: null,
    by: 'version',
  },
  {
    pattern: new RegExp(`^/v1/models/${NAME}/aliases/${ALIAS}/predict$`),
    route: '/v1/models/:name/aliases/:alias/predict',
    fmt: MODELYARD_FORMAT,
    protocol: null,
    by: 'alias',
  },
  {
    pattern: new RegExp(`^/v2/models/${NAME}/infer$`),
    route: '/v2/models/:name/infer',
    fmt: OIP_FORMAT,
    protocol: 'oip-v2',
  },
  {
    pattern: new RegExp(`^/v2/models/${NAME}/versions/${VERSION}/infer$`),
    route: '/v2/models/:name/versions/:version/infer',
    fmt: OIP_FORMAT,
    protocol: 'oip-v2',
    by: 'version',
  },
  {
    pattern: new RegExp(`^/v1/models/${NAME}:predict$`),
    route: '/v1/models/:name(^[^/:]+)::predict',
    fmt: TFS_FORMAT,
    protocol: 'tfs',
  },
  {
    pattern: new RegExp(`^/v1/models/${NAME}/versions/${VERSION}:predict$`),
    route: '/v1/models/:name/versions/:version(^[^/:]+)::predict',
    fmt: TFS_FORMAT,
    protocol: 'tfs',
    by: 'version',
  },
  {
    pattern: new RegExp(`^/v1/models/${NAME}/labels/${ALIAS}:predict$`),
    route: '/v1/models/:name/labels/:label(^[^/:]+)::predict',
    fmt: TFS_FORMAT,
    protocol: 'tfs',
    by: 'alias',
  },
  {
    pattern: new RegExp(`^/v1/models/${NAME}/invocations$`),
    route: '/v1/models/:name/invocations',
    fmt: MLFLOW_FORMAT,
    protocol: 'mlflow',
    csv: true,
  },
];

/** The guard's words for a token that is no key (same message on both paths). */
const BAD_KEY = new AppError('UNAUTHENTICATED', 'Invalid, expired or revoked API key');

const isType = (ct: string, mime: string) => ct === mime || ct.startsWith(`${mime};`);

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

export interface FastLaneDeps {
  cfg: ApiConfig;
  log: Logger;
  auth: AuthService;
  predictions: PredictionService;
  metrics: ServingMetrics;
  rollups: RollupsService;
}

/**
 * The hot path, in front of Fastify and Nest: API-key predictions, in any of the four formats, are answered
 * straight from node:http. A request costs about half the CPU it costs through the framework: one-row
 * predictions at c=32 went from 0.37x to 0.80x of a bare node:http + onnxruntime server (bench/results).
 *
 * It takes only requests it can answer exactly as the Nest route would (same auth, engine, metrics, rollups,
 * errors and headers): anything unusual (a session cookie, no JSON content type, a chunked or oversized body,
 * a query string, an encoded path, a server shutting down) falls through to the framework, which stays the
 * reference and keeps the route in OpenAPI and the authz matrix.
 */
export class FastLane {
  private readonly trust: TrustFn | null;
  closing = false;

  constructor(private readonly d: FastLaneDeps) {
    this.trust = trustFnOf(d.cfg.http.trustProxy);
  }

  /** True when the lane took the request; false leaves it untouched for the framework. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST' || this.closing) return false;
    const url = req.url!;
    if (!url.startsWith('/v1/models/') && !url.startsWith('/v2/models/')) return false;
    let route: LaneRoute | undefined;
    let m: RegExpExecArray | null = null;
    for (const r of ROUTES) {
      m = r.pattern.exec(url);
      if (m) {
        route = r;
        break;
      }
    }
    if (!route || !m) return false;
    const h = req.headers;
    const auth = h.authorization;
    const ct = h['content-type'];
    const len = h['content-length'];
    if (!auth || !ct || !len || h['transfer-encoding'] !== undefined) return false;
    const csv = route.csv === true && isType(ct, 'text/csv');
    if (!csv && !isType(ct, 'application/json')) return false;
    const bytes = Number(len);
    if (!(bytes > 0 && bytes <= this.d.cfg.http.maxBodyBytes)) return false;
    const key = BEARER.exec(auth);
    if (!key) return false;
    const sel: VersionSelector & { routingKey?: string } = {};
    if (route.by === 'version') {
      sel.version = Number(m[2]);
      if (sel.version > 2_147_483_647) return false;
    } else if (route.by === 'alias') {
      // ZAliasName: not a version number or a stage name (the framework's 400 says so).
      if (/^v?\d+$/.test(m[2]!) || STAGE_NAMES.has(m[2]!)) return false;
      sel.alias = m[2]!;
    }
    const started = performance.now();
    const id = requestIdOf(h['x-request-id']);
    const ip = this.ip(req);
    const name = m[1]!;
    // The caller is known before the body is read: a bad key is answered 401 at once, and Node discards the
    // body it did not read instead of this process buffering up to MAX_BODY_BYTES for a caller it refuses.
    const actor = this.d.auth.cachedApiKey(key[1]!, ip);
    if (actor) {
      this.read(req, res, id, started, route, name, sel, actor, csv);
    } else if (actor === null) {
      this.refuse(req, res, id, started, route, BAD_KEY);
    } else {
      this.d.auth.resolveApiKey(key[1]!, ip).then(
        (p) => {
          if (p) this.read(req, res, id, started, route, name, sel, p, csv);
          else this.refuse(req, res, id, started, route, BAD_KEY);
        },
        (e: unknown) => this.refuse(req, res, id, started, route, e),
      );
    }
    return true;
  }

  private read(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    started: number,
    route: LaneRoute,
    name: string,
    sel: VersionSelector & { routingKey?: string },
    actor: Principal,
    csv: boolean,
  ) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      void this.answer(req, res, id, started, route, name, sel, actor, body, csv);
    });
  }

  /** An answer before the body was read (a bad key): not a prediction, so in no prediction metric. */
  private refuse(req: IncomingMessage, res: ServerResponse, id: string, started: number, route: LaneRoute, e: unknown) {
    const status = this.sendError(req, res, id, route, e).status;
    this.d.metrics.fastLaneNow[route.fmt.format]++;
    logAccess(this.d.log, true, id, req.method, req.url!, status, performance.now() - started);
  }

  private sendError(req: IncomingMessage, res: ServerResponse, id: string, route: LaneRoute, e: unknown) {
    const a = errorAnswer(route.protocol, e, id);
    if (a.unexpected) this.d.log.error({ err: e, errorId: id, method: req.method, url: req.url }, 'unhandled error');
    const json = JSON.stringify(a.body);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(json),
      'x-request-id': id,
    };
    if (a.retryAfter) headers['retry-after'] = a.retryAfter;
    if (!res.headersSent) {
      res.writeHead(a.status, headers);
      res.end(json);
    }
    return a;
  }

  private async answer(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    started: number,
    route: LaneRoute,
    name: string,
    sel: VersionSelector & { routingKey?: string },
    actor: Principal,
    text: string,
    csv: boolean,
  ) {
    const { cfg, metrics } = this.d;
    // As on the framework path, a request is a prediction (in metrics and rollups) once its body parsed and its
    // caller is known: refusals before that (bad JSON, bad key) are not.
    let labels: PredictionLabels | null = null;
    let status = 200;
    let code: string | undefined;
    try {
      let body: unknown = text;
      if (!csv) {
        try {
          // As Fastify parses JSON, with its error: a body with __proto__ or constructor.prototype keys is refused.
          body = sjson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
        } catch {
          throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY();
        }
      }
      labels = { model: name, version: sel.version ? String(sel.version) : '', format: route.fmt.format, role: '' };
      metrics.inFlightNow++;
      const call = { body, contentType: req.headers['content-type'], requestId: id };
      route.fmt.precheck?.(call);
      const rk = req.headers['x-routing-key'];
      if (typeof rk === 'string' && rk.length > 0 && rk.length <= 256) sel.routingKey = rk;
      const r = await predictCall(this.d.predictions, cfg, route.fmt, actor, name, sel, call, labels);
      const answer = r.prepared.renderJson ? null : r.prepared.render(r.outputs);
      const ids = { 'x-request-id': id, 'x-model-version': String(r.served.version), 'x-deployment-role': r.role };
      if (answer instanceof OipBinaryAnswer) {
        // A JSON OIP request that asked for binary outputs (binary_data_output / binary_data).
        res.writeHead(200, { ...answer.headers(), 'content-length': answer.bytes.length, ...ids });
        res.end(answer.bytes);
      } else {
        const json = r.prepared.renderJson ? r.prepared.renderJson(r.outputs) : JSON.stringify(answer);
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(json),
          ...ids,
        });
        res.end(json);
      }
    } catch (e) {
      const a = this.sendError(req, res, id, route, e);
      status = a.status;
      code = a.code;
    }
    const ms = performance.now() - started;
    if (labels) recordPrediction(metrics, this.d.rollups, labels, route.route, status, code, ms);
    metrics.fastLaneNow[route.fmt.format]++;
    logAccess(this.d.log, true, id, req.method, req.url!, status, ms);
  }

  /** The caller's address as Fastify's request.ip has it (proxy-addr), without parsing when no proxy header came. */
  private ip(req: IncomingMessage): string | null {
    if (!this.trust || req.headers['x-forwarded-for'] === undefined) return req.socket.remoteAddress ?? null;
    return proxyAddr(req, this.trust);
  }
}
