import { applyDecorators, createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ApiExtension, ApiResponse } from '@nestjs/swagger';
import type { z } from 'zod';
import type { Permission } from '@modelyard/contracts';
import type { Principal } from '@modelyard/server';
import type { FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';

export const IS_PUBLIC = 'modelyard:public';
export const PERMISSION = 'modelyard:permission';
export const SESSION_COOKIE = 'modelyard_session';

/** No credentials needed (health, login, docs). Everything else is guarded by default. */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension('x-modelyard-public', true));

/**
 * The permission a route needs. The guard refuses early (before body validation) so callers learn 403
 * rather than 400; the service checks again, because the worker calls services without this guard.
 * The extension in the OpenAPI document lets the authz matrix test walk every route; the document builder gives
 * every such route the API key and session security schemes.
 */
export const RequirePermission = (p: Permission) =>
  applyDecorators(SetMetadata(PERMISSION, p), ApiExtension('x-modelyard-permission', p));

export type AuthedRequest = FastifyRequest & { principal?: Principal | null; sessionToken?: string };

/** The authenticated caller; the guard guarantees it on every non-public route. */
export const Actor = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<AuthedRequest>().principal!;
});

/**
 * The media types a route's body may come in: its @ApiConsumes (kept by Nest's swagger under this key), else JSON.
 * The OpenAPI document describes them and MediaTypeGuard enforces them, so the two cannot disagree.
 */
export const consumesOf = (handler: object | undefined): string[] =>
  (handler && (Reflect.getMetadata('swagger/apiConsumes', handler) as string[] | undefined)) ?? ['application/json'];

/** The zod schemas of a route's body and answers, which the OpenAPI document builder (openapi/document.ts) reads. */
export const ZOD_DOC = 'modelyard:zod-doc';
export interface ZodDoc {
  body?: z.ZodType;
  responses: { status: number; schema: z.ZodType; description: string }[];
}

const addZodDoc =
  (f: (doc: ZodDoc) => void): MethodDecorator =>
  (_target, _key, descriptor) => {
    const doc: ZodDoc = Reflect.getMetadata(ZOD_DOC, descriptor.value as object) ?? { responses: [] };
    f(doc);
    Reflect.defineMetadata(ZOD_DOC, doc, descriptor.value as object);
  };

/** The request body's schema (a contracts schema becomes a named component). */
export const ApiZodBody = (schema: z.ZodType) => addZodDoc((d) => void (d.body = schema));
export const ApiZodResponse = (status: number, schema: z.ZodType, description = 'OK') =>
  applyDecorators(
    ApiResponse({ status, description }),
    addZodDoc((d) => void d.responses.push({ status, schema, description })),
  );
