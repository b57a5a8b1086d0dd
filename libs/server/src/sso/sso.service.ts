import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { ROLES, ZName, type Role, type TSsoInfo } from '@modelyard/contracts';
import type { OidcConfig } from '@modelyard/config';
import { AppError } from '../platform/errors.js';
import { LOGGER, SECRET_KEY } from '../platform/tokens.js';
import { RedisService } from '../platform/redis.service.js';
import { DomainEvents } from '../events/domain-events.js';
import type { DomainEventInput } from '@modelyard/contracts';
import { AuthRepository } from '../auth/auth.repository.js';
import { AuthService, type DueSession } from '../auth/auth.service.js';
import { SecretBox } from '../webhooks/secret-box.js';
import { SsoRepository } from './sso.repository.js';

export const SSO_OPTIONS = Symbol('SSO_OPTIONS');

/** How long a started sign-in may take at the IdP before its state cookie is refused. */
const FLOW_TTL_MS = 10 * 60_000;
/** How fresh an ID token the CLI exchanges must be: it was just issued by the device flow. */
const CLI_TOKEN_MAX_AGE = '10m';
/** After an IdP that could not be reached (not a refusal), the next re-check of that session waits this long. */
const RETRY_UNREACHABLE_MS = 30_000;
const MAX_GROUPS = 200;

type Flow = { v: string; s: string; n: string; r: string; x: number };
type Claims = JWTPayload & Record<string, unknown>;
type Settled = NonNullable<Awaited<ReturnType<AuthRepository['findUserByEmail']>>>;

/**
 * OpenID Connect sign-in (issue 17). The dashboard uses the authorization code flow with PKCE, state and nonce
 * (openid-client validates the answer and the ID token); the CLI runs the device authorization grant at the IdP
 * itself and trades the ID token for a session here (`exchange`, verified with the IdP's keys). Either way the
 * user is created on first sign-in, their IdP groups become IdP-managed Modelyard groups, and the session keeps
 * the IdP's refresh token sealed so the user is re-checked at the IdP every OIDC_REFRESH_MINUTES.
 */
@Injectable()
export class SsoService {
  private web: oidc.Configuration | null = null;
  private cli: oidc.Configuration | null = null;
  private jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  private readonly box: SecretBox;

  constructor(
    private readonly repo: SsoRepository,
    private readonly users: AuthRepository,
    private readonly auth: AuthService,
    private readonly events: DomainEvents,
    private readonly redis: RedisService,
    @Inject(SECRET_KEY) secretKey: string,
    @Inject(SSO_OPTIONS) private readonly cfg: OidcConfig | null,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.box = new SecretBox(secretKey);
  }

  /** At boot (api only): read the IdP's discovery document; a wrong issuer stops the api like any bad config. */
  async start(): Promise<void> {
    const cfg = this.cfg;
    if (!cfg) return;
    const issuer = new URL(cfg.issuerUrl);
    // Config allows http only on loopback (a test IdP); openid-client refuses it unless told.
    const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
    const auth = cfg.clientSecret ? oidc.ClientSecretBasic(cfg.clientSecret) : oidc.None();
    this.web = await oidc.discovery(issuer, cfg.clientId, undefined, auth, { execute, timeout: 10 });
    this.cli = await oidc.discovery(issuer, cfg.cliClientId, undefined, oidc.None(), { execute, timeout: 10 });
    const jwksUri = this.web.serverMetadata().jwks_uri;
    if (!jwksUri) throw new Error(`the OIDC issuer ${cfg.issuerUrl} publishes no jwks_uri`);
    this.jwks = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 10_000 });
    this.auth.useSessionCheck((s) => this.check(s));
    this.log.info({ issuer: cfg.issuerUrl }, 'single sign-on enabled');
  }

  info(): TSsoInfo {
    const cfg = this.cfg;
    if (!cfg || !this.web) return { enabled: false, providerName: null, issuer: null, cliClientId: null, scopes: null };
    return {
      enabled: true,
      providerName: cfg.providerName,
      issuer: this.web.serverMetadata().issuer,
      cliClientId: cfg.cliClientId,
      scopes: cfg.scopes,
    };
  }

  /** The IdP's authorization URL and the sealed flow state the browser carries back in a cookie. */
  async begin(next: string | undefined): Promise<{ url: string; flow: string; maxAgeSeconds: number }> {
    const { cfg, web } = this.ready();
    const flow: Flow = {
      v: oidc.randomPKCECodeVerifier(),
      s: oidc.randomState(),
      n: oidc.randomNonce(),
      r: safeNext(next),
      x: Date.now() + FLOW_TTL_MS,
    };
    const url = oidc.buildAuthorizationUrl(web, {
      redirect_uri: cfg.redirectUrl,
      scope: cfg.scopes,
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.v),
      code_challenge_method: 'S256',
      state: flow.s,
      nonce: flow.n,
      // offline_access needs consent at most IdPs before they issue a refresh token.
      ...(cfg.scopes.split(/\s+/).includes('offline_access') ? { prompt: 'consent' } : {}),
    });
    return { url: url.href, flow: this.box.seal(JSON.stringify(flow)), maxAgeSeconds: FLOW_TTL_MS / 1000 };
  }

  /**
   * The IdP sent the browser back: the flow cookie must be ours, fresh and unused; openid-client then checks
   * state, the issuer of the answer, trades the code with the PKCE verifier and validates the ID token (signature,
   * issuer, audience, expiry, nonce). Anything wrong is a 4xx and no session.
   */
  async finish(query: string, sealedFlow: string | undefined, ip: string | null, userAgent: string | null) {
    const { cfg, web } = this.ready();
    const flow = this.openFlow(sealedFlow);
    // One use per flow: a replayed callback (code and cookie copied) is refused before the IdP is asked.
    const fresh = await this.redis.client.set(this.redis.key('sso-flow', flow.s), '1', 'PX', FLOW_TTL_MS, 'NX');
    if (fresh !== 'OK') throw refused('this sign-in was already used; start again');
    const current = new URL(cfg.redirectUrl);
    current.search = query;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(web, current, {
        pkceCodeVerifier: flow.v,
        expectedState: flow.s,
        expectedNonce: flow.n,
        idTokenExpected: true,
      });
    } catch (err) {
      throw this.idpRefusal(err);
    }
    const claims = await this.withUserInfo(web, tokens.claims() as Claims, tokens.access_token);
    const user = await this.settle(claims);
    const session = await this.auth.openSession(user, ip, userAgent, {
      refreshSealed: tokens.refresh_token ? this.box.seal(tokens.refresh_token) : null,
      client: 'web',
      checkAt: new Date(Date.now() + cfg.refreshSeconds * 1000),
      via: 'sso',
    });
    // Absolute, on the origin the IdP sent the browser back to (the dashboard's): the dashboard's proxy would
    // read a bare path as one on the API.
    return { ...session, next: new URL(flow.r, cfg.redirectUrl).href };
  }

  /**
   * The CLI's device flow ended at the IdP with an ID token for the CLI client: verified here against the IdP's
   * published keys (signature, issuer, audience, expiry, at most CLI_TOKEN_MAX_AGE old) and usable once. A
   * refresh token, when given, is kept sealed so the session is re-checked like a dashboard one; without one the
   * session ends at its first re-check.
   */
  async exchange(idToken: string, refreshToken: string | undefined, ip: string | null, userAgent: string | null) {
    const { cfg, cli } = this.ready();
    let claims: Claims;
    try {
      const verified = await jwtVerify(idToken, this.jwks!, {
        issuer: cli.serverMetadata().issuer,
        audience: cfg.cliClientId,
        maxTokenAge: CLI_TOKEN_MAX_AGE,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      claims = verified.payload as Claims;
    } catch (err) {
      throw refused(`the IdP token was refused (${err instanceof Error ? err.message : 'invalid'})`);
    }
    const digest = createHash('sha256').update(idToken).digest('hex');
    const ttl = Math.max(1, (claims.exp ?? 0) * 1000 - Date.now());
    const fresh = await this.redis.client.set(this.redis.key('sso-idt', digest), '1', 'PX', ttl, 'NX');
    if (fresh !== 'OK') throw refused('this IdP token was already exchanged');
    const user = await this.settle(claims);
    return this.auth.openSession(user, ip, userAgent, {
      refreshSealed: refreshToken ? this.box.seal(refreshToken) : null,
      client: 'cli',
      checkAt: new Date(Date.now() + cfg.refreshSeconds * 1000),
      via: 'sso-cli',
    });
  }

  /**
   * A session's re-check at the IdP (AuthService calls it when ssoCheckAt has passed): the refresh token grant,
   * then the user's groups and role as the IdP now says. The IdP refusing (a revoked grant, a disabled user, a
   * lost allowed group) ends the session; an IdP that cannot be reached leaves it for a later try.
   */
  private async check(s: DueSession): Promise<boolean> {
    const end = async (why: string) => {
      this.log.info({ sessionId: s.id, userId: s.userId, why }, 'single sign-on session ended at its re-check');
      await this.repo.deleteSession(s.id);
      return false;
    };
    if (!this.cfg || !this.web || !this.cli || !s.ssoRefreshSealed) return end('no refresh token');
    const config = s.ssoClient === 'cli' ? this.cli : this.web;
    let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
    try {
      tokens = await oidc.refreshTokenGrant(config, this.box.open(s.ssoRefreshSealed));
    } catch (err) {
      if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError)
        return end(`the IdP refused: ${err.error}`);
      this.log.warn({ err, sessionId: s.id }, 'could not re-check a single sign-on session; trying again later');
      await this.repo.markChecked(s.id, {
        ssoRefreshSealed: s.ssoRefreshSealed,
        ssoCheckAt: new Date(Date.now() + RETRY_UNREACHABLE_MS),
      });
      return true;
    }
    try {
      const idClaims = tokens.claims() as Claims | undefined;
      const claims = await this.withUserInfo(config, idClaims, tokens.access_token);
      const user = await this.settle(claims);
      if (user.id !== s.userId) return end('the IdP answered for another user');
    } catch (err) {
      if (err instanceof AppError) return end(err.message);
      throw err;
    }
    await this.repo.markChecked(s.id, {
      // IdPs may rotate refresh tokens: keep the newest.
      ssoRefreshSealed: this.box.seal(tokens.refresh_token ?? this.box.open(s.ssoRefreshSealed)),
      ssoCheckAt: new Date(Date.now() + this.cfg.refreshSeconds * 1000),
    });
    return true;
  }

  /** The groups claim may be only in userinfo (IdPs that keep ID tokens small): read it there when missing. */
  private async withUserInfo(config: oidc.Configuration, claims: Claims | undefined, accessToken: string) {
    const cfg = this.cfg!;
    if (claims && claims[cfg.groupsClaim] !== undefined && claims.email) return claims;
    if (!config.serverMetadata().userinfo_endpoint) {
      if (!claims) throw refused('the IdP returned no ID token');
      return claims;
    }
    try {
      const info = await oidc.fetchUserInfo(config, accessToken, claims?.sub ?? oidc.skipSubjectCheck);
      return { ...(claims ?? {}), ...info } as Claims;
    } catch (err) {
      throw this.idpRefusal(err);
    }
  }

  /**
   * The user as the IdP describes them now: found by (issuer, sub), or created on first sign-in; email, name and
   * role (OIDC_GROUP_ROLES over OIDC_DEFAULT_ROLE) updated; IdP-managed group memberships made equal to the
   * claim. Local groups are never touched. A local account with the same email is not taken over.
   */
  private async settle(claims: Claims): Promise<Settled> {
    const cfg = this.cfg!;
    const issuer = this.web!.serverMetadata().issuer;
    if (typeof claims.sub !== 'string' || !claims.sub) throw refused('the IdP token names no subject');
    const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
    if (!email) throw refused('the IdP gave no email for this user (request the "email" scope)');
    const groups = groupNames(claims[cfg.groupsClaim]);
    if (cfg.allowedGroups.length > 0 && !groups.some((g) => cfg.allowedGroups.includes(g)))
      throw new AppError('FORBIDDEN', 'Your IdP groups do not allow you to sign in to Modelyard');
    const role = roleFor(groups, cfg);
    const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 200) : email;
    const subject = `${issuer} ${claims.sub}`;
    let changed = false;
    await this.events.change(
      null,
      async () => {
        const out: DomainEventInput[] = [];
        let user = await this.repo.findUserBySubject(subject);
        if (!user) {
          if (await this.repo.findUserByEmail(email))
            throw new AppError('CONFLICT', `A local account already uses ${email}; an admin must remove or rename it`);
          user = await this.repo.createUser({ email, name, role, ssoSubject: subject });
          out.push({ type: 'user.created', objectId: user.id, data: { email, role, via: 'sso' } });
        } else if (user.email !== email || user.name !== name || user.role !== role) {
          if (user.role !== role) changed = true;
          user = await this.repo.updateUser(user.id, { email, name, role });
          out.push({ type: 'user.updated', objectId: user.id, data: { role, via: 'sso' } });
        }
        const { groups: wanted, created } = await this.repo.ensureIdpGroups(groups);
        for (const g of created)
          out.push({ type: 'group.created', objectId: g.id, data: { name: g.name, via: 'sso' } });
        const have = await this.repo.idpMemberships(user.id);
        const add = wanted.filter((g) => !have.some((m) => m.groupId === g.id));
        const remove = have.filter((m) => !wanted.some((g) => g.id === m.groupId));
        if (add.length)
          await this.repo.addMembers(
            user.id,
            add.map((g) => g.id),
          );
        if (remove.length)
          await this.repo.removeMembers(
            user.id,
            remove.map((m) => m.groupId),
          );
        for (const g of add) out.push({ type: 'group.member_added', objectId: g.id, data: { userId: user.id } });
        for (const m of remove)
          out.push({ type: 'group.member_removed', objectId: m.groupId, data: { userId: user.id } });
        if (add.length || remove.length) changed = true;
        return out;
      },
      (out) => out,
    );
    // API keys cache their owner's role and groups: every process drops them.
    if (changed) await this.auth.invalidate();
    const user = await this.users.findUserByEmail(email);
    if (!user || user.disabled) throw new AppError('FORBIDDEN', 'This account is disabled');
    return user;
  }

  private ready() {
    if (!this.cfg || !this.web || !this.cli) throw new AppError('NOT_FOUND', 'Single sign-on is not configured');
    return { cfg: this.cfg, web: this.web, cli: this.cli };
  }

  private openFlow(sealed: string | undefined): Flow {
    try {
      if (!sealed) throw new Error('missing');
      const flow = JSON.parse(this.box.open(sealed)) as Flow;
      if (typeof flow.x !== 'number' || flow.x <= Date.now()) throw new Error('expired');
      return flow;
    } catch {
      throw refused('this sign-in expired or was started in another browser; start again');
    }
  }

  private idpRefusal(err: unknown): AppError {
    if (err instanceof AppError) return err;
    if (err instanceof oidc.AuthorizationResponseError || err instanceof oidc.ResponseBodyError)
      return refused(`the IdP answered ${err.error}`);
    if (err instanceof oidc.ClientError) {
      // The check that failed (oauth4webapi's error, e.g. 'unexpected ID Token "nonce" claim value') is the cause.
      return refused(err.cause instanceof Error ? err.cause.message : err.message);
    }
    this.log.warn({ err }, 'single sign-on: the IdP could not be reached');
    return new AppError('NOT_READY', 'The identity provider could not be reached; try again');
  }
}

function refused(why: string) {
  return new AppError('INVALID_CREDENTIALS', `Single sign-on failed: ${why}`);
}

/**
 * Only a path on the same origin comes back from a sign-in, as the login page's `next`: resolved as a browser
 * would, with control characters and backslashes refused (`/%09/evil.example` is `//evil.example` to a browser).
 */
export function safeNext(next: string | undefined): string {
  const placeholder = 'http://modelyard.invalid';
  if (!next || !next.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(next)) return '/';
  try {
    const url = new URL(next, placeholder);
    return url.origin === placeholder ? (url.pathname + url.search + url.hash).slice(0, 2000) : '/';
  } catch {
    return '/';
  }
}

/** The claim's group names that can be Modelyard group names (IdPs differ: a list, or one string). */
function groupNames(claim: unknown): string[] {
  const list = Array.isArray(claim) ? claim : typeof claim === 'string' ? [claim] : [];
  const names = list.filter((g): g is string => typeof g === 'string' && ZName.safeParse(g).success);
  return [...new Set(names.map((g) => g.trim()))].slice(0, MAX_GROUPS);
}

function roleFor(groups: string[], cfg: OidcConfig): Role {
  let best = ROLES.indexOf(cfg.defaultRole);
  for (const { group, role } of cfg.groupRoles) if (groups.includes(group)) best = Math.max(best, ROLES.indexOf(role));
  return ROLES[best]!;
}
