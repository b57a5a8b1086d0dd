import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppError, mediaTypeOf } from '@modelyard/server';
import { consumesOf } from './decorators.js';

/** The any-media range: a route that declares it reads the bytes whatever their label (MLflow's artifact uploads). */
const ANY = '*/*';

/**
 * A body must come in a media type its route takes (its @ApiConsumes, else JSON), or the answer is 415. Without
 * this, the framework's form parser and the multipart plugin (which leaves the body for the route to read) hand a
 * JSON route an empty or meaningless body, and a PATCH sent as a form or multipart answered 200 having changed
 * nothing. A JSON `null` is refused too: validation reads an absent body as `{}`, and `null` must not pass for one.
 * Runs after AuthGuard, so a caller without access learns 401/403 first.
 */
@Injectable()
export class MediaTypeGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    if (!hasBody(req)) return true;
    const takes = consumesOf(ctx.getHandler());
    const type = mediaTypeOf(req.headers['content-type']);
    if (!takes.includes(type) && !takes.includes(ANY))
      throw new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        `This route takes ${takes.join(', ')}, not ${type || 'no Content-Type'}`,
      );
    if (req.body === null) throw new AppError('VALIDATION_FAILED', 'The body must be a JSON object, not null');
    return true;
  }
}

/** A body was sent: a declared length above zero, or chunks. */
function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
