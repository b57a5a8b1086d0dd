import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyAddr from 'proxy-addr';
import sjson from 'secure-json-parse';
import { errorCodes } from 'fastify';
import type { Logger } from 'pino';
import type { ApiConfig } from '@modelyard/config';
import {
  AppError, AuthService, parseModelyard, PredictionService, renderModelyardJson, RollupsService, ServingMetrics,
  type PredictionLabels, type Principal, type VersionSelector,
} from '@modelyard/server';
import { toErrorBody } from '../common/error.filter.js';
import { recordPrediction } from './prediction-metrics.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BEARER = /^Bearer\s+(\S{16,512})$/i;
/** The Modelyard contract's three predict routes; names as ZModelName/ZAliasName allow (anything else falls through). */
const PREDICT = /^\/v1\/models\/([a-z0-9][a-z0-9._-]{0,99})\/(?:(versions|aliases)\/([a-z0-9_-]{1,64})\/)?predict$/;
const ROUTES = { '': '/v1/models/:name/predict', versions: '/v1/models/:name/versions/:version/predict', aliases: '/v1/models/:name/aliases/:alias/predict' };

type TrustFn = (addr: string, i: number) => boolean;

function trustFnOf(tp: ApiConfig['http']['trustProxy']): TrustFn | null {
  if (tp === false) return null;
  if (tp === true) return () => true;
  return proxyAddr.compile(String(tp).split(',').map((s) => s.trim()));
}

function accessLine(reqId: string, req: IncomingMessage, status: number, ms: number) {
  return { reqId, method: req.method, url: req.url, status, ms: Math.round(ms) };
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
 * The hot path, in front of Fastify and Nest: API-key predictions in the Modelyard contract are answered
 * straight from node:http. A request costs about half the CPU it costs through the framework (measured with
 * bench/run.mjs), which is the difference between 0.4x and 0.7x of a bare onnxruntime server.
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
    const m = PREDICT.exec(req.url!);
    if (!m) return false;
    const h = req.headers;
    const auth = h.authorization;
    const ct = h['content-type'];
    const len = h['content-length'];
    if (!auth || !ct || !len || h['transfer-encoding'] !== undefined) return false;
    if (!(ct === 'application/json' || ct.startsWith('application/json;'))) return false;
    const bytes = Number(len);
    if (!(bytes > 0 && bytes <= this.d.cfg.http.maxBodyBytes)) return false;
    const key = BEARER.exec(auth);
    if (!key) return false;
    const sel: VersionSelector & { routingKey?: string } = {};
    if (m[2] === 'versions') {
      const v = Number(m[3]);
      if (!Number.isInteger(v) || v < 1 || v > 2_147_483_647 || !/^\d+$/.test(m[3]!)) return false;
      sel.version = v;
    } else if (m[2] === 'aliases') {
      if (!/^[a-z]/.test(m[3]!) || /^v?\d+$/.test(m[3]!)) return false;
      sel.alias = m[3]!;
    }
    const started = performance.now();
    const given = h['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      void this.answer(req, res, id, started, m[1]!, sel, ROUTES[(m[2] ?? '') as keyof typeof ROUTES], key[1]!, body);
    });
    return true;
  }

  private async answer(req: IncomingMessage, res: ServerResponse, id: string, started: number, name: string, sel: VersionSelector & { routingKey?: string }, route: string, key: string, text: string) {
    const { cfg, metrics } = this.d;
    const labels: PredictionLabels = { model: name, version: sel.version ? String(sel.version) : '', format: 'modelyard', role: '' };
    metrics.inFlightNow++;
    let status = 200;
    let code: string | undefined;
    try {
      let body: unknown;
      try {
        // As Fastify parses JSON, with its error: a body with __proto__ or constructor.prototype keys is refused.
        body = sjson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
      } catch {
        throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY();
      }
      const ip = this.ip(req);
      const actor: Principal | null = this.d.auth.cachedApiKey(key, ip) ?? (await this.d.auth.resolveApiKey(key, ip));
      if (!actor) throw new AppError('UNAUTHENTICATED', 'Invalid, expired or revoked API key');
      const rk = req.headers['x-routing-key'];
      if (typeof rk === 'string' && rk.length > 0 && rk.length <= 256) sel.routingKey = rk;
      const picked = this.d.predictions.select(actor, name, sel, cfg.serving.rateLimit);
      const { served, role } = picked instanceof Promise ? await picked : picked;
      labels.version = String(served.version);
      labels.role = role;
      const feeds = parseModelyard(body, served, cfg.serving);
      const outputs = await this.d.predictions.run(served, feeds, { timeoutMs: cfg.serving.timeoutMs, logSampleRate: cfg.serving.predictionLogSampleRate, silentCap: cfg.serving.silentMaxConcurrency, role });
      const json = renderModelyardJson(served, outputs);
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json),
        'x-request-id': id, 'x-model-version': String(served.version), 'x-deployment-role': role,
      });
      res.end(json);
    } catch (e) {
      const { status: s, body, unexpected } = toErrorBody(e, id);
      status = s;
      code = body.error.code;
      if (unexpected) this.d.log.error({ err: e, errorId: id, method: req.method, url: req.url }, 'unhandled error');
      const json = JSON.stringify(body);
      const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json), 'x-request-id': id };
      const retry = (body.error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
      if (status === 429 && retry) headers['retry-after'] = String(retry);
      if (!res.headersSent) {
        res.writeHead(status, headers);
        res.end(json);
      }
    }
    const ms = performance.now() - started;
    recordPrediction(metrics, this.d.rollups, labels, route, status, code, ms);
    // Access lines of predictions are debug (as on the framework path): metrics and rollups count them.
    if (status >= 500) this.d.log.warn(accessLine(id, req, status, ms), 'request');
    else if (this.d.log.isLevelEnabled('debug')) this.d.log.debug(accessLine(id, req, status, ms), 'request');
  }

  /** The caller's address as Fastify's request.ip has it (proxy-addr), without parsing when no proxy header came. */
  private ip(req: IncomingMessage): string | null {
    if (!this.trust || req.headers['x-forwarded-for'] === undefined) return req.socket.remoteAddress ?? null;
    return proxyAddr(req, this.trust);
  }
}
