import { errorCodes, type FastifyInstance } from 'fastify';

/** The OIP infer routes as Fastify registered them (the fast lane's `route` labels). */
export const OIP_INFER_ROUTES: ReadonlySet<string> = new Set([
  '/v2/models/:name/infer',
  '/v2/models/:name/versions/:version/infer',
]);

/**
 * Raw bodies for the OIP binary tensor extension, on the infer routes only: KServe's client sends a binary
 * request as `application/octet-stream`, Triton's sends no content type at all. Both reach the controller as a
 * Buffer (decodeOipBody splits it); any other route keeps answering 415 to either, as before.
 */
export function registerOipBinaryBodies(fastify: FastifyInstance) {
  fastify.addHook('onRequest', (req, _reply, done) => {
    const h = req.raw.headers;
    // Without a content type Fastify would answer 415 before any parser runs: name the one the body has.
    if (h['content-type'] === undefined && OIP_INFER_ROUTES.has(req.routeOptions.url ?? '')) {
      h['content-type'] = 'application/octet-stream';
    }
    done();
  });
  fastify.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (req, body, done) => {
    if (OIP_INFER_ROUTES.has(req.routeOptions.url ?? '')) done(null, body);
    else done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), undefined);
  });
}
