import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiError, ModelyardClient } from '@modelyard/contracts';

export interface CliConfig {
  url: string;
  apiKey?: string;
  /** A session from `login --sso` (single sign-on), sent as the session cookie; an API key wins over it. */
  sessionToken?: string;
  /** The project to act in (`--project`, MODELYARD_PROJECT); unset: the key's own, or `default`. */
  project?: string;
}

/** What authenticates the CLI's requests: the API key, or else the single sign-on session. */
export type Credential = Pick<CliConfig, 'apiKey' | 'sessionToken'>;

export function credentialHeaders(c: Credential): Record<string, string> {
  if (c.apiKey) return { authorization: `Bearer ${c.apiKey}` };
  if (c.sessionToken) return { cookie: `modelyard_session=${c.sessionToken}` };
  return {};
}

/** The typed client with the saved credential; fails when there is none. */
export function clientFor(cfg: CliConfig): ModelyardClient {
  if (!cfg.apiKey && !cfg.sessionToken)
    throw new ApiError(401, 'UNAUTHENTICATED', 'not logged in: run `modelyard login` or set MODELYARD_API_KEY');
  const cookie = cfg.apiKey ? undefined : credentialHeaders(cfg).cookie;
  return new ModelyardClient({
    baseUrl: cfg.url,
    apiKey: cfg.apiKey,
    cookie,
    userAgent: 'modelyard-cli',
    project: cfg.project,
  });
}

/**
 * `$MODELYARD_CONFIG`, else `$XDG_CONFIG_HOME/modelyard/config.json` (or ~/.config/...), written 0600 because it
 * holds a key.
 */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MODELYARD_CONFIG) return path.resolve(env.MODELYARD_CONFIG);
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'modelyard', 'config.json');
}

/** Environment wins over the file, so CI can run with MODELYARD_URL / MODELYARD_API_KEY and no login step. */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  let file: Partial<CliConfig> = {};
  const p = configPath(env);
  if (existsSync(p)) {
    try {
      file = JSON.parse(readFileSync(p, 'utf8')) as Partial<CliConfig>;
    } catch {
      file = {};
    }
  }
  const apiKey = env.MODELYARD_API_KEY || file.apiKey;
  return {
    url: env.MODELYARD_URL || file.url || 'http://127.0.0.1:8080',
    apiKey,
    // A key in the environment is meant for this run: the saved session does not go along with it.
    sessionToken: env.MODELYARD_API_KEY ? undefined : file.sessionToken,
    project: env.MODELYARD_PROJECT || file.project || undefined,
  };
}

export function saveCliConfig(cfg: CliConfig, env: NodeJS.ProcessEnv = process.env): string {
  const p = configPath(env);
  mkdirSync(path.dirname(p), { recursive: true, mode: 0o700 });
  // The mode option applies only when the file is created: an older file with looser bits is tightened too.
  writeFileSync(p, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  chmodSync(p, 0o600);
  return p;
}

export function clearCliConfig(env: NodeJS.ProcessEnv = process.env): void {
  rmSync(configPath(env), { force: true });
}

/** A client for the saved login (or MODELYARD_URL / MODELYARD_API_KEY); fails when there is no key. */
export function apiClient(): { cfg: CliConfig; api: ModelyardClient } {
  const cfg = loadCliConfig();
  return { cfg, api: clientFor(cfg) };
}

/**
 * `route` (no leading slash) joined onto the configured base URL, which may itself have a path, in the chosen
 * project (`/projects/{p}/<route>` serves every route of every format in that project).
 */
export function apiUrl(cfg: CliConfig, route: string): URL {
  const scoped = cfg.project ? `projects/${encodeURIComponent(cfg.project)}/${route}` : route;
  return new URL(scoped, cfg.url.replace(/\/?$/, '/'));
}
