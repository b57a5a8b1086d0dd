import { Body, Controller, Get, HttpCode, Inject, Post, Query, Redirect, Req, Res } from '@nestjs/common';
import { ApiExtension, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ZSsoExchangeRequest, ZSsoInfo, ZSsoSession, type TSsoExchangeRequest } from '@modelyard/contracts';
import { AuthService, SsoService } from '@modelyard/server';
import type { ApiConfig } from '@modelyard/config';
import { ApiZodBody, ApiZodResponse, Public, SESSION_COOKIE, type AuthedRequest } from '../common/decorators.js';
import { strict, zod } from '../common/zod.pipe.js';
import { API_CONFIG } from '../tokens.js';

/** The sealed state of a sign-in under way at the IdP (PKCE verifier, state, nonce, where to go back to). */
export const SSO_FLOW_COOKIE = 'modelyard_sso';

const LOCATION = { Location: { description: 'Where the browser goes next', schema: { type: 'string' as const } } };

const ZSsoLoginQuery = z.object({ next: z.string().max(2000).optional() });

/** OpenID Connect sign-in (issue 17): the dashboard's redirect flow and the CLI's token exchange. */
@ApiTags('auth')
@Controller('v1/auth/sso')
export class SsoController {
  constructor(
    private readonly sso: SsoService,
    private readonly auth: AuthService,
    @Inject(API_CONFIG) private readonly cfg: ApiConfig,
  ) {}

  @Public()
  @Get()
  @ApiZodResponse(200, ZSsoInfo)
  info() {
    return this.sso.info();
  }

  @Public()
  @Get('login')
  @Redirect()
  @ApiExtension('x-modelyard-redirect', true)
  @ApiResponse({ status: 302, description: "To the IdP's sign-in page", headers: LOCATION })
  async login(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Query(zod(ZSsoLoginQuery)) q: z.output<typeof ZSsoLoginQuery>,
  ) {
    const { url, flow, maxAgeSeconds } = await this.sso.begin(q.next);
    void reply.setCookie(SSO_FLOW_COOKIE, flow, { ...this.cookieFlags(req), maxAge: maxAgeSeconds });
    return { url, statusCode: 302 };
  }

  @Public()
  @Get('callback')
  @Redirect()
  @ApiExtension('x-modelyard-redirect', true)
  @ApiResponse({
    status: 302,
    description: 'Signed in: the session cookie is set; back to the page that asked',
    headers: LOCATION,
  })
  async callback(@Req() req: AuthedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const at = req.url.indexOf('?');
    const query = at < 0 ? '' : req.url.slice(at + 1);
    const flow = req.cookies[SSO_FLOW_COOKIE];
    // The flow cookie is spent whatever happens next.
    void reply.clearCookie(SSO_FLOW_COOKIE, this.cookieFlags(req));
    const ua = req.headers['user-agent'] ?? null;
    const { token, expiresAt, next } = await this.sso.finish(query, flow, req.ip, ua);
    void reply.setCookie(SESSION_COOKIE, token, { ...this.cookieFlags(req), expires: expiresAt });
    return { url: next, statusCode: 302 };
  }

  @Public()
  @Post('token')
  @HttpCode(200)
  @ApiZodBody(ZSsoExchangeRequest)
  @ApiZodResponse(200, ZSsoSession)
  async exchange(@Req() req: AuthedRequest, @Body(strict(ZSsoExchangeRequest)) tokens: TSsoExchangeRequest) {
    const ua = req.headers['user-agent'] ?? null;
    const s = await this.sso.exchange(tokens.idToken, tokens.refreshToken, req.ip, ua);
    return { sessionToken: s.token, expiresAt: s.expiresAt.toISOString(), me: this.auth.me(s.principal) };
  }

  /** As the password login's cookie: httpOnly, Lax (the IdP's redirect back is a top-level GET), Secure on https. */
  private cookieFlags(req: AuthedRequest) {
    const secure = this.cfg.auth.cookieSecure || req.protocol === 'https';
    return { httpOnly: true, sameSite: 'lax' as const, path: '/', secure };
  }
}
