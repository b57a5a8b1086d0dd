import { Controller, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ZLoginRequest, ZMeResponse } from '@modelyard/contracts';
import { AuthService, type Principal } from '@modelyard/server';
import {
  Actor,
  ApiZodBody,
  ApiZodResponse,
  Public,
  RequirePermission,
  SESSION_COOKIE,
  type AuthedRequest,
} from '../common/decorators.js';
import { LoginGuard } from './login.guard.js';
import { API_CONFIG } from '../tokens.js';
import type { ApiConfig } from '@modelyard/config';

type LoginResult = Awaited<ReturnType<AuthService['login']>>;

@ApiTags('auth')
@Controller('v1')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    @Inject(API_CONFIG) private readonly cfg: ApiConfig,
  ) {}

  @Public()
  @UseGuards(LoginGuard)
  @Post('auth/login')
  @HttpCode(200)
  @ApiZodBody(ZLoginRequest)
  @ApiZodResponse(200, ZMeResponse)
  login(@Req() req: AuthedRequest & { user: LoginResult }, @Res({ passthrough: true }) reply: FastifyReply) {
    const { token, expiresAt, principal } = req.user;
    void reply.setCookie(SESSION_COOKIE, token, { ...this.cookieFlags(req), expires: expiresAt });
    return this.auth.me(principal);
  }

  @Public()
  @Post('auth/logout')
  @HttpCode(204)
  async logout(@Req() req: AuthedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    await this.auth.logout(req.sessionToken, req.principal ?? null);
    void reply.clearCookie(SESSION_COOKIE, this.cookieFlags(req));
  }

  /**
   * Secure whenever the browser came over https: COOKIE_SECURE, or X-Forwarded-Proto: https from a TRUST_PROXY
   * peer (the dashboard passes on the scheme it was reached with), so a deployment behind TLS cannot forget it.
   */
  private cookieFlags(req: AuthedRequest) {
    const secure = this.cfg.auth.cookieSecure || req.protocol === 'https';
    return { httpOnly: true, sameSite: 'lax' as const, path: '/', secure };
  }

  @RequirePermission('me.read')
  @Get('me')
  @ApiZodResponse(200, ZMeResponse)
  me(@Actor() actor: Principal) {
    return this.auth.me(actor);
  }
}
