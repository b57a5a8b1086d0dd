import { AppError } from './errors.js';

/**
 * Failure reasons are stored and shown to users (a version's failureReason, a job's error, webhook payloads).
 * Raw errors from drivers, storage SDKs, the network and onnxruntime carry file paths, hostnames, ports and
 * addresses: those go to the log, and the stored reason keeps only what the user can act on.
 */
export function scrubInternals(text: string): string {
  return (
    text
      .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>')
      // Absolute and relative paths (anything with a slash or backslash between characters), Windows drives too.
      .replace(/(?:[A-Za-z]:)?[\w.~-]*(?:[/\\][\w.~@%+=,:-]*)+/g, (m) =>
        /[/\\]/.test(m) && m.length > 1 ? '<path>' : m,
      )
      .replace(/\[?[0-9a-f]*:[0-9a-f:]*:[0-9a-f.:]*\]?(?::\d+)?/gi, (m) =>
        // Two colons and a hex letter or "::": an IPv6 address, not a time or a ratio.
        (m.match(/:/g) ?? []).length >= 2 && (m.includes('::') || /[a-f]/i.test(m)) ? '<address>' : m,
      )
      .replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, '<address>')
      .replace(/\b(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*:\d{1,5}\b/gi, '<address>')
      // Stack lines (`    at fn (file:line)`), not an "at" inside a sentence.
      .replace(/^\s+at .*$/gm, '')
      .trim()
  );
}

/** Error codes of Node, Prisma and cloud SDKs: the failure was infrastructure, not the user's input. */
function isInfrastructure(e: unknown): boolean {
  const err = e as { code?: unknown; $metadata?: unknown; name?: unknown; errno?: unknown } | null;
  if (!err || typeof err !== 'object') return false;
  return (
    (typeof err.code === 'string' && /^(E[A-Z]+|P\d{4}|ERR_)/.test(err.code)) ||
    err.$metadata !== undefined ||
    typeof err.errno === 'number' ||
    (typeof err.name === 'string' && /^Prisma|RestError|S3ServiceException/.test(err.name))
  );
}

/**
 * The reason to store for a failure: an AppError's message (scrubbed, since some embed raw text), a generic
 * sentence for infrastructure errors, otherwise `prefix` and the scrubbed message.
 */
export function publicReason(e: unknown, prefix: string): string {
  if (e instanceof AppError) return scrubInternals(e.message);
  if (isInfrastructure(e))
    return `${prefix}: an internal error (storage, database or network); the details are in the server log`;
  const message = scrubInternals(e instanceof Error ? e.message : String(e));
  return message ? `${prefix}: ${message}` : prefix;
}
