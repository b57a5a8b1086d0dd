import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { CommonConfig } from '@modelyard/config';
import { EMPTY_LOG_CONTEXT, logContext } from './log-context.js';

/** Fields that must never reach a log line, wherever they appear in a logged object. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'passwordHash',
  '*.passwordHash',
  'token',
  '*.token',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'apiKey',
  '*.apiKey',
  '*.secretAccessKey',
  '*.connectionString',
  '*.secretCiphertext',
  // single sign-on (issue 17): the client secret and the IdP's tokens
  '*.clientSecret',
  'refreshToken',
  '*.refreshToken',
  'idToken',
  '*.idToken',
  '*.ssoRefreshSealed',
];

/**
 * JSON logs to stdout (pretty when asked) and, when LOG_FILE is set, to that file too. Both destinations
 * are asynchronous so a slow disk or terminal never holds a request.
 */
export function createLogger(cfg: CommonConfig['log'], name: string): Logger {
  const streams: pino.StreamEntry[] = [];
  const level = (cfg.level === 'silent' ? 'fatal' : cfg.level) as pino.Level;
  // pino-pretty as a stream (not a worker-thread transport) keeps lines ordered with the launcher's prefixes.
  const stdout = cfg.pretty
    ? pretty({
        colorize: process.stdout.isTTY,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
        singleLine: true,
        sync: false,
      })
    : pino.destination({ dest: 1, sync: false });
  streams.push({ stream: stdout, level });
  if (cfg.file) {
    mkdirSync(path.dirname(path.resolve(cfg.file)), { recursive: true });
    streams.push({ stream: pino.destination({ dest: cfg.file, sync: false, mkdir: true }), level });
  }
  return pino(
    {
      name,
      level: cfg.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      // The request or job being served (log-context.ts). Only called for lines that are written, and only a
      // lookup: the hot predict path, which logs at debug, pays nothing for it at the default level.
      mixin: logContext,
      // pino's default merge writes the line's fields into the mixin's object, which is the shared context here.
      mixinMergeStrategy: (line: object, ctx: object) => (ctx === EMPTY_LOG_CONTEXT ? line : { ...ctx, ...line }),
    },
    pino.multistream(streams),
  );
}
