import 'reflect-metadata';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import fastifyCookie from '@fastify/cookie';
import fastifyMultipart from '@fastify/multipart';
import type { Logger } from 'pino';
import type { ApiConfig } from '@modelyard/config';
import { AppModule } from './app.module.js';
import { AuthService, PredictionService, RollupsService, ServingMetrics } from '@modelyard/server';
import { FastLane } from './serving/fast-lane.js';
import { registerPredictionMetrics } from './serving/prediction-metrics.js';
import { registerProtocolErrorHandlers } from './serving/protocol-errors.js';
import { PinoNestLogger } from './common/nest-logger.js';
import { requestIdOf } from './common/request-id.js';
import { logAccess } from './common/access-log.js';
import { toErrorBody } from './common/error.filter.js';

/** Builds the api (not listening): main.ts listens on it, integration tests inject requests into it. */
export async function createApp(config: ApiConfig, logger: Logger): Promise<NestFastifyApplication> {
  // The fast lane sits in front of Fastify on the same server; it exists once the app's services do.
  let lane: FastLane | null = null;
  const adapter = new FastifyAdapter({
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
      createServer((req, res) => {
        if (!lane?.take(req, res)) handler(req, res);
      }),
    bodyLimit: config.http.maxBodyBytes,
    trustProxy: config.http.trustProxy,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => requestIdOf(req.headers['x-request-id']),
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
    limits: { files: 1, fields: 10, fieldSize: 64 * 1024 * 1024, fileSize: config.storage.maxUploadBytes * 2 + 1024, parts: 20 },
  });
  const fastify = app.getHttpAdapter().getInstance();
  // MLflow scoring takes CSV, as text: its adapter parses it (strictly). Other routes get a string body and refuse it.
  fastify.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  registerProtocolErrorHandlers(fastify, logger);
  fastify.addHook('onSend', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });
  registerPredictionMetrics(fastify, app.get(ServingMetrics), app.get(RollupsService));
  const auth = app.get(AuthService);
  // A login that cannot get a password check now is refused here, before its body is parsed and Nest's guards
  // run: a login flood then costs this event loop (which also runs every prediction) next to nothing.
  fastify.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'POST' || req.routeOptions.url !== '/v1/auth/login') return;
    const refusal = auth.loginRefusal();
    if (!refusal) return;
    const { status, body } = toErrorBody(refusal, String(req.id));
    const retry = (refusal.details as { retryAfterSeconds: number }).retryAfterSeconds;
    return reply.code(status).header('retry-after', String(retry)).send(body);
  });
  fastify.addHook('onResponse', async (req, reply) => {
    logAccess(logger, Boolean((req as { prediction?: unknown }).prediction), req.id, req.method, req.url, reply.statusCode, reply.elapsedTime);
  });
  app.get(ServingMetrics).keyLookups = () => auth.keyLookups;
  lane = new FastLane({
    cfg: config, log: logger, auth: app.get(AuthService), predictions: app.get(PredictionService),
    metrics: app.get(ServingMetrics), rollups: app.get(RollupsService),
  });
  fastify.addHook('preClose', async () => {
    lane!.closing = true;
  });
  const doc = SwaggerModule.createDocument(app, new DocumentBuilder()
    .setTitle('Modelyard API')
    .setDescription('Model registry, serving, deployments and jobs. Authenticate with `Authorization: Bearer <API key>` or the dashboard session cookie.')
    .setVersion('0.1.0')
    .addBearerAuth()
    .addCookieAuth('modelyard_session')
    .build());
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json', useGlobalPrefix: false });
  return app;
}
