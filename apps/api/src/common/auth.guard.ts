import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Permission } from '@modelyard/contracts';
import { AppError, AuthService, authorize } from '@modelyard/server';
import { IS_PUBLIC, PERMISSION, SESSION_COOKIE, type AuthedRequest } from './decorators.js';
import { refuseCrossSite } from './same-origin.js';
import { URL_PROJECT, type ProjectedRequest } from './project-url.js';

/**
 * Global guard: resolves the caller from `Authorization: Bearer <key>` or the session cookie, then enforces
 * the route's declared permission. A route with neither @Public nor @RequirePermission is refused, so a
 * forgotten decorator fails closed. The caller acts in the project its URL names (common/project-url.ts), else
 * its key's, else `default`. State changes without an API key (the session cookie's, and login itself)
 * are refused first when a browser says they come from another site.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets);
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    refuseCrossSite(req);
    req.principal = await this.authenticate(req, !isPublic);
    if (isPublic) return true;
    if (!req.principal) throw new AppError('UNAUTHENTICATED', 'Log in or send an API key: Authorization: Bearer <key>');
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(PERMISSION, targets);
    if (!permission) throw new AppError('FORBIDDEN', 'This route declares no permission');
    authorize(req.principal, permission);
    return true;
  }

  private async authenticate(req: AuthedRequest, strict: boolean) {
    const named = (req.raw as ProjectedRequest)[URL_PROJECT];
    const header = req.headers.authorization;
    if (header) {
      const m = /^Bearer\s+(\S{16,512})$/i.exec(header);
      // resolveApiKey checks the token's shape and prefix before hashing it or asking Postgres.
      const principal = m ? await this.auth.resolveApiKey(m[1]!, req.ip) : null;
      // A bad key is an error even on public routes' neighbours: never fall back to the cookie silently.
      if (!principal && strict) throw new AppError('UNAUTHENTICATED', 'Invalid, expired or revoked API key');
      return principal && this.auth.keyIn(principal, named);
    }
    const token = req.cookies?.[SESSION_COOKIE];
    if (!token || token.length > 256) return null;
    req.sessionToken = token;
    return this.auth.resolveSessionIn(token, req.ip, named);
  }
}
