import * as oidc from 'openid-client';
import { ApiError, ModelyardClient } from '@modelyard/contracts';
import { clearCliConfig, clientFor, loadCliConfig, saveCliConfig } from '../config.js';
import { UsageError, type Io } from '../output.js';
import { promptSecret } from '../prompt.js';

export async function login(io: Io, opts: { url?: string; apiKey?: string }) {
  const current = loadCliConfig();
  const url = opts.url ?? current.url;
  let apiKey = opts.apiKey ?? process.env.MODELYARD_API_KEY;
  if (!apiKey) {
    if (!process.stdin.isTTY) throw new UsageError('no API key: pass --api-key or set MODELYARD_API_KEY');
    apiKey = await promptSecret('API key: ');
  }
  // Verify before saving, so a typo is caught now rather than in the next pipeline step.
  const me = await new ModelyardClient({ baseUrl: url, apiKey, userAgent: 'modelyard-cli' }).me();
  const file = saveCliConfig({ url, apiKey });
  io.result(`Logged in to ${url} as ${me.name} (${me.role}). Saved to ${file}`, { url, me });
}

/**
 * Single sign-on for the CLI: the device authorization grant (RFC 8628) at the IdP the API names, then the API
 * trades the IdP's ID token (it checks signature, issuer, audience and expiry) for a session, saved like a key.
 */
export async function loginSso(io: Io, opts: { url?: string }) {
  const url = opts.url ?? loadCliConfig().url;
  const anonymous = new ModelyardClient({ baseUrl: url, userAgent: 'modelyard-cli' });
  const info = await anonymous.ssoInfo();
  if (!info.enabled || !info.issuer || !info.cliClientId)
    throw new ApiError(404, 'NOT_FOUND', `single sign-on is not configured on ${url}`);
  const issuer = new URL(info.issuer);
  // The API accepts an http issuer only on loopback (a test IdP); anything else is https.
  const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
  let tokens: Awaited<ReturnType<typeof oidc.pollDeviceAuthorizationGrant>>;
  try {
    const config = await oidc.discovery(issuer, info.cliClientId, undefined, oidc.None(), { execute });
    const device = await oidc.initiateDeviceAuthorization(config, { scope: info.scopes ?? 'openid email profile' });
    io.err(`To sign in, open ${device.verification_uri_complete ?? device.verification_uri}`);
    io.err(`and check that it shows the code ${device.user_code}. Waiting...`);
    tokens = await oidc.pollDeviceAuthorizationGrant(config, device);
  } catch (e) {
    const why = e instanceof oidc.ResponseBodyError ? e.error : (e as Error).message;
    throw new ApiError(401, 'INVALID_CREDENTIALS', `single sign-on at ${issuer.origin} failed: ${why}`);
  }
  if (!tokens.id_token) throw new ApiError(401, 'INVALID_CREDENTIALS', 'the identity provider sent no ID token');
  const session = await anonymous.exchangeSsoToken({ idToken: tokens.id_token, refreshToken: tokens.refresh_token });
  const file = saveCliConfig({ url, sessionToken: session.sessionToken });
  const me = session.me;
  io.result(`Logged in to ${url} as ${me.name} (${me.role}) by single sign-on. Saved to ${file}`, { url, me });
}

export async function whoami(io: Io) {
  const cfg = loadCliConfig();
  const me = await clientFor(cfg).me();
  const groups = me.groups.map((g) => g.name).join(', ') || '-';
  io.result(
    [
      `${me.name} (${me.kind === 'user' ? 'user' : 'service account'}, ${me.role})`,
      `url:    ${cfg.url}`,
      `scopes: ${me.scopes?.join(', ') ?? 'all of the role'}`,
      `groups: ${groups}`,
    ].join('\n'),
    { url: cfg.url, ...me },
  );
}

export function logout(io: Io) {
  clearCliConfig();
  io.result('Logged out (saved key removed).', { ok: true });
}
