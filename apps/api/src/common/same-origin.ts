import { AppError } from '@modelyard/server';

/** Methods that change nothing; every other one is a state change. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the check needs from a request (Fastify's, with protocol and host already honouring a trusted proxy). */
export interface OriginFacts {
  method: string;
  protocol: string;
  host: string;
  headers: Record<string, string | string[] | undefined>;
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * CSRF defence for browser sessions, beside SameSite=Lax (which a sibling subdomain, a top-level form POST in an
 * old browser or a same-site page all slip past): a state change that does not carry an API key must come from
 * this site's own pages. Browsers say where a request comes from in Sec-Fetch-Site (all current ones) or Origin
 * (older ones); a request carrying neither is not from a browser page, and passes. API keys never ride along
 * ambiently, so requests with an Authorization header are not checked.
 *
 * `host` and `protocol` are the ones the browser used: behind the dashboard they come from its X-Forwarded-Host and
 * X-Forwarded-Proto, which Fastify only believes from a TRUST_PROXY peer.
 */
export function refuseCrossSite(req: OriginFacts): void {
  if (SAFE_METHODS.has(req.method) || req.headers.authorization !== undefined) return;
  const site = one(req.headers['sec-fetch-site']);
  if (site !== undefined) {
    // "none": the user typed or bookmarked it; "same-site" is a sibling origin, which may be another team's app.
    if (site === 'same-origin' || site === 'none') return;
    throw crossSite(`it came from a ${site} page`);
  }
  const origin = one(req.headers.origin);
  if (origin === undefined) return;
  const own = `${req.protocol}://${req.host}`;
  if (origin.toLowerCase() !== own.toLowerCase()) throw crossSite(`its Origin ${origin.slice(0, 100)} is not ${own}`);
}

function crossSite(why: string): AppError {
  return new AppError(
    'FORBIDDEN',
    `Cross-site request refused: ${why}. Changes made with the session cookie must come ` +
      'from the dashboard itself; scripts and other sites use an API key (Authorization: Bearer <key>)',
  );
}
