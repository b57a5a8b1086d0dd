import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { Multipart } from '@fastify/multipart';
import { AppError } from '@modelyard/server';

/**
 * The upload shape shared by version registration and batch jobs: a `spec` JSON field, then one `file` part,
 * which `onFile` streams somewhere as it arrives (the body is never held whole). Other parts are drained.
 * `fileSize` overrides the plugin's backstop limit when the service enforces its own.
 */
export async function specThenFile<T>(
  req: FastifyRequest,
  onFile: (spec: unknown, file: { stream: Readable; filename: string }) => Promise<T>,
  opts: { specRequired: boolean; missingFile: string; fileSize?: number },
): Promise<T> {
  let spec: unknown = opts.specRequired ? undefined : {};
  let result: { value: T } | null = null;
  const parts = parserErrorsAreTheClients(
    (opts.fileSize ? req.parts({ limits: { fileSize: opts.fileSize } }) : req.parts()) as AsyncIterable<Multipart>,
  );
  for await (const part of parts) {
    if (part.type === 'field') {
      if (part.fieldname !== 'spec') continue;
      if (result) throw new AppError('VALIDATION_FAILED', 'The `spec` field must come before the `file` part');
      // A field sent with Content-Type: application/json arrives already parsed; a plain text field does not.
      if (part.value !== null && typeof part.value === 'object') spec = part.value;
      else {
        try {
          spec = JSON.parse(String(part.value));
        } catch {
          throw new AppError('VALIDATION_FAILED', 'spec is not valid JSON');
        }
      }
    } else if (part.fieldname === 'file' && !result) {
      if (spec === undefined) {
        part.file.resume();
        throw new AppError('VALIDATION_FAILED', 'Send the `spec` field before the `file` part');
      }
      // A body that breaks off mid-file fails the file's stream, and with it whatever onFile was writing.
      let cut: unknown = null;
      part.file.once('error', (e) => (cut = e));
      try {
        result = { value: await onFile(spec, { stream: part.file, filename: part.filename }) };
      } catch (e) {
        throw cut && !(e instanceof AppError) ? malformed(cut) : e;
      }
    } else {
      part.file.resume(); // drain parts we do not use, so the request completes
    }
  }
  if (!result) throw new AppError('VALIDATION_FAILED', opts.missingFile);
  return result.value;
}

/**
 * The multipart parser's own errors (no boundary, a body that ends mid-part, a broken part header) describe the
 * request, so they are a 400 with the parser's words; the plugin's limits (FST_ codes) keep their own statuses.
 * Only the parser's errors pass through here: the caller's loop body throws past this generator, not into it.
 */
async function* parserErrorsAreTheClients<T>(parts: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* parts;
  } catch (e) {
    throw malformed(e);
  }
}

function malformed(e: unknown): unknown {
  if (e instanceof AppError || String((e as { code?: unknown })?.code).startsWith('FST_')) return e;
  return new AppError('VALIDATION_FAILED', `The multipart body is malformed: ${(e as Error)?.message ?? e}`);
}
