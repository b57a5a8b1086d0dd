import { ApiError, ModelyardClient } from '@modelyard/contracts';
import { clearCliConfig, loadCliConfig, saveCliConfig } from '../config.js';
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

export async function whoami(io: Io) {
  const cfg = loadCliConfig();
  if (!cfg.apiKey)
    throw new ApiError(401, 'UNAUTHENTICATED', 'not logged in: run `modelyard login` or set MODELYARD_API_KEY');
  const me = await new ModelyardClient({ baseUrl: cfg.url, apiKey: cfg.apiKey, userAgent: 'modelyard-cli' }).me();
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
