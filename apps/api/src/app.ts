import 'reflect-metadata';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import fastifyCookie from '@fastify/cookie';
import fastifyMultipart from '@fastify/multipart';
import type { Logger } from 'pino';
import type { ApiConfig } from '@modelyard/config';
import { AppModule, CONTROLLERS } from './app.module.js';
import { buildOpenApiDocument } from './openapi/document.js';
import {
  AuthService,
  ExplainService,
  JSON_LINES_TYPES,
  PredictionService,
  RollupsService,
  ServingMetrics,
  tracing,
  withLogContext,
} from '@modelyard/server';
import { PredictRouter } from './serving/predict-router.js';
import { registerProtocolErrorHandlers } from './serving/protocol-errors.js';
import { registerMlflowArtifactUploads } from './mlflow/mlflow-artifacts.controller.js';
import { PinoNestLogger } from './common/nest-logger.js';
import { requestIdOf } from './common/request-id.js';
import { logAccess } from './common/access-log.js';
import { toErrorBody } from './common/error.filter.js';
import { lingerAfterEarlyAnswer } from './common/lingering-close.js';
import { takeUrlProject } from './common/project-url.js';
import { traceFramework } from './common/tracing.js';

/** Builds the api (not listening): main.ts listens on it, integration tests inject requests into it. */
export async function createApp(config: ApiConfig, logger: Logger): Promise<ApiApp> {
  // The predict router sits in front of Fastify on the same server; it exists once the app's services do.
  let router: PredictRouter | null = null;
  let auth: AuthService | null = null;
  let frameworkHandler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  /**
   * Every request of the api: predictions to the predict router, the rest to Fastify and Nest. The request's id is
   * decided once, here. The management API runs in a log context (log-context.ts), so every line logged while
   * serving it carries the id; predictions do not (their one access line names it), which keeps async hooks off
   * on the hot path.
   */
  const dispatch = (req: IncomingMessage, res: ServerResponse) => {
    const id = requestIdOf(req.headers['x-request-id']);
    (req as IdentifiedRequest)[REQUEST_ID] = id;
    takeUrlProject(req);
    if (router?.take(req, res, id)) return;
    if (auth && refuseLogin(auth, logger, req, res, id)) return;
    lingerAfterEarlyAnswer(req, res);
    withLogContext({ reqId: id }, res, frameworkHandler!, req, res);
  };
  const adapter = new FastifyAdapter({
    // Fastify applies none of its own timeouts to a server it did not create, so they are set here: without them
    // a client that never finishes its headers holds a socket for a minute or more (slow-loris).
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      frameworkHandler = handler;
      return createServer(
        {
          // Node refuses a headers timeout above the request timeout.
          headersTimeout: Math.min(config.http.headersTimeoutMs, config.http.requestTimeoutMs),
          requestTimeout: config.http.requestTimeoutMs,
          keepAliveTimeout: config.http.keepAliveTimeoutMs,
          // Node looks for expired requests only this often (30 s by default), which would stretch every timeout.
          connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(config.http.headersTimeoutMs / 4))),
        },
        dispatch,
      );
    },
    bodyLimit: config.http.maxBodyBytes,
    trustProxy: config.http.trustProxy,
    genReqId: (req: IdentifiedRequest) => req[REQUEST_ID] ?? requestIdOf(req.headers['x-request-id']),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, logger), adapter, {
    logger: new PinoNestLogger(logger),
    bufferLogs: false,
  });
  await app.register(fastifyCookie);
  // Uploads stream into storage, which enforces MAX_UPLOAD_BYTES itself (and removes partial blobs); the
  // multipart limit is only a backstop above it. One file per request, small fields.
  await app.register(fastifyMultipart, {
    limits: {
      files: 1,
      fields: 10,
      fieldSize: 64 * 1024 * 1024,
      fileSize: config.storage.maxUploadBytes * 2 + 1024,
      parts: 20,
    },
  });
  const fastify = app.getHttpAdapter().getInstance();
  // MLflow scoring takes CSV, as text: its adapter parses it (strictly). Other routes get a string body and refuse it.
  fastify.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  if (tracing.on) traceFramework(fastify);
  // Feedback uploads as JSON Lines: text, parsed line by line by the feedback service.
  fastify.addContentTypeParser([...JSON_LINES_TYPES], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  registerProtocolErrorHandlers(fastify, logger);
  registerMlflowArtifactUploads(fastify);
  // Fastify runs the route after the body's 'end' event, which Node emits in the connection's async context, not
  // the request's: re-enter the request's log context there (as @fastify/request-context does).
  fastify.addHook('preValidation', (req, _reply, done) => withLogContext({ reqId: req.id }, null, done));
  fastify.addHook('onSend', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });
  auth = app.get(AuthService);
  fastify.addHook('onResponse', async (req, reply) => {
    logAccess(logger, false, req.id, req.method, req.url, reply.statusCode, reply.elapsedTime);
  });
  app.get(ServingMetrics).keyLookups = () => auth!.keyLookups;
  router = new PredictRouter({
    cfg: config,
    log: logger,
    auth: app.get(AuthService),
    predictions: app.get(PredictionService),
    metrics: app.get(ServingMetrics),
    rollups: app.get(RollupsService),
    explain: app.get(ExplainService),
  });
  fastify.addHook('preClose', async () => {
    router!.closing = true;
  });
  // Built at the first request for it, not at boot: converting every contract schema takes a moment.
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app, CONTROLLERS), {
    jsonDocumentUrl: 'docs/openapi.json',
    useGlobalPrefix: false,
  });
  return { app, dispatch };
}

/** Where dispatch leaves a request's id for Fastify's genReqId, so the framework answers with the one logged. */
const REQUEST_ID = Symbol('modelyard.requestId');
type IdentifiedRequest = IncomingMessage & { [REQUEST_ID]?: string };

/** The Nest app, and the function its server hands every request to (integration tests inject into it). */
export interface ApiApp {
  app: NestFastifyApplication;
  dispatch(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * A login that cannot get a password check now (AuthService.loginRefusal) is answered 429 here, on the bare
 * node:http server like predictions, before Fastify parses anything: a login flood then costs the event loop
 * that also runs every prediction a few microseconds a request (through the framework it cost ~10x that).
 * The answer is the framework's (same JSON error, Retry-After, X-Request-Id); Node discards the unread body.
 */
function refuseLogin(
  auth: AuthService,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
): boolean {
  if (req.method !== 'POST') return false;
  const url = req.url!;
  if (!url.startsWith('/v1/auth/login') || (url.length > 14 && url[14] !== '?')) return false;
  const refusal = auth.loginRefusal();
  if (!refusal) return false;
  const started = performance.now();
  const json = JSON.stringify(toErrorBody(refusal, id).body);
  res.writeHead(refusal.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'x-request-id': id,
    'retry-after': String((refusal.details as { retryAfterSeconds: number }).retryAfterSeconds),
  });
  res.end(json);
  logAccess(logger, false, id, req.method, url, refusal.status, performance.now() - started);
  return true;
}
