import { applyDecorators, createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCookieAuth, ApiExtension, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
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
 * The extension in the OpenAPI document lets the authz matrix test walk every route.
 */
export const RequirePermission = (p: Permission) =>
  applyDecorators(SetMetadata(PERMISSION, p), ApiExtension('x-modelyard-permission', p), ApiBearerAuth(), ApiCookieAuth(SESSION_COOKIE));

export type AuthedRequest = FastifyRequest & { principal?: Principal | null; sessionToken?: string };

/** The authenticated caller; the guard guarantees it on every non-public route. */
export const Actor = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<AuthedRequest>().principal!;
});

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;

export const ApiZodBody = (schema: z.ZodType) => ApiBody({ schema: jsonSchema(schema, 'input') });
export const ApiZodResponse = (status: number, schema: z.ZodType, description = 'OK') =>
  ApiResponse({ status, description, schema: jsonSchema(schema, 'output') });
