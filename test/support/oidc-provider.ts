import http from 'node:http';
import { randomBytes } from 'node:crypto';
/// <reference path="./oidc-provider-types.d.ts" />
import Provider, { type Configuration } from 'oidc-provider';
import { freePort } from './processes.js';

/** A person at the test IdP: their claims, changed by tests between sign-ins to move them in and out of groups. */
export interface TestAccount {
  email: string;
  name: string;
  groups: string[];
}

export interface TestIdp {
  issuer: string;
  accounts: Map<string, TestAccount>;
  /** ID token lifetime in seconds for tokens issued from now on (tests of expired tokens shorten it). */
  idTokenTtl: number;
  close(): Promise<void>;
}

export const WEB_CLIENT = { id: 'modelyard-web', secret: randomBytes(24).toString('hex') };
export const CLI_CLIENT = 'modelyard-cli';
export const OTHER_CLIENT = 'some-other-app';
export const TEST_SCOPES = 'openid email profile groups offline_access';

/**
 * A real OpenID Connect provider (the `oidc-provider` package) on 127.0.0.1, with the dashboard's confidential
 * client, the CLI's public device-flow client, another public client (for audience tests), and accounts whose
 * `groups` claim tests change. Its development sign-in pages accept any password for an account's id.
 */
export async function startTestIdp(redirectUris: string[]): Promise<TestIdp> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const accounts = new Map<string, TestAccount>();
  const state = { idTokenTtl: 300 };
  const deviceGrant = 'urn:ietf:params:oauth:grant-type:device_code';
  const config: Configuration = {
    clients: [
      {
        client_id: WEB_CLIENT.id,
        client_secret: WEB_CLIENT.secret,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      ...[CLI_CLIENT, OTHER_CLIENT].map((client_id) => ({
        client_id,
        token_endpoint_auth_method: 'none' as const,
        redirect_uris: [],
        grant_types: [deviceGrant, 'refresh_token'],
        response_types: [],
      })),
    ],
    async findAccount(_ctx, id) {
      const a = accounts.get(id);
      if (!a) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, email: a.email, email_verified: true, name: a.name, groups: [...a.groups] }),
      };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    // Claims in the ID token too (the CLI's exchange reads only the ID token).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, deviceFlow: { enabled: true } },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      IdToken: () => state.idTokenTtl,
      AccessToken: 300,
      AuthorizationCode: 60,
      DeviceCode: 300,
      RefreshToken: 3600,
      Interaction: 300,
      Session: 3600,
      Grant: 3600,
    },
    cookies: { keys: [randomBytes(16).toString('hex')] },
  };
  const provider = new Provider(issuer, config);
  const server = http.createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    accounts,
    get idTokenTtl() {
      return state.idTokenTtl;
    },
    set idTokenTtl(v: number) {
      state.idTokenTtl = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Cookies by name for one origin, as a browser would send them (paths ignored: one sign-in per jar). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  get(name: string) {
    return this.cookies.get(name);
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/**
 * Walks the IdP's pages as a person would: follows redirects on the IdP's origin, fills each form (the account id
 * as login, any password, consent and confirmations as offered) and stops at the first URL off the IdP (the
 * relying party's callback), which it returns unvisited; or, when a page has no form left (the device flow's
 * success page), returns null.
 */
export async function signInAtIdp(idp: TestIdp, start: string, accountId: string): Promise<URL | null> {
  const jar = new CookieJar();
  let url = new URL(start);
  let body: URLSearchParams | null = null;
  for (let i = 0; i < 20; i++) {
    if (url.origin !== idp.issuer) return url;
    const res = await fetch(url, {
      method: body ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: jar.header(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: body ?? undefined,
    });
    jar.store(res);
    body = null;
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url);
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`the IdP answered ${res.status} at ${url.pathname}: ${html.slice(0, 500)}`);
    const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
    if (!form) return null;
    url = new URL(form[1]!.replace(/&amp;/g, '&'), url);
    body = new URLSearchParams();
    for (const input of form[2]!.matchAll(/<input([^>]*)>/g)) {
      const name = /name="([^"]+)"/.exec(input[1]!)?.[1];
      const value = /value="([^"]*)"/.exec(input[1]!)?.[1] ?? '';
      if (!name) continue;
      body.set(name, name === 'login' ? accountId : name === 'password' ? 'any-password' : value);
    }
  }
  throw new Error('the IdP sign-in did not end within 20 steps');
}
