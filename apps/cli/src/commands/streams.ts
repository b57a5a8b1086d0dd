import type { TCreateStreamRequest, TStreamDeployment } from '@modelyard/contracts';
import { clientFor, loadCliConfig } from '../config.js';
import { UsageError, type Io } from '../output.js';

export interface StreamsOpts {
  model?: string;
  source?: string;
  sink?: string;
  'dead-letter'?: string;
  'key-field'?: string;
  'payload-field'?: string;
  'copy-fields'?: string;
  start?: string;
  ordered?: boolean;
  'batch-size'?: string;
  'max-in-flight'?: string;
  'claim-idle-ms'?: string;
  'sink-max-len'?: string;
  'from-id'?: string;
  'from-time'?: string;
}

function int(v: string | undefined, what: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${what} must be a whole number from ${min} to ${max}`);
  return n;
}

function lag(s: TStreamDeployment): string {
  if (!s.stats) return 'lag ?';
  return `lag ${s.stats.lag ?? '?'}, pending ${s.stats.pending}, dead letters ${s.stats.deadLetterLength}`;
}

function line(s: TStreamDeployment): string {
  return `${s.model}/${s.name}  ${(s.paused ? 'paused' : 'running').padEnd(7)}  ${s.source} -> ${s.sink}  ${lag(s)}`;
}

function describe(s: TStreamDeployment): string {
  const o = s.options;
  return [
    `stream ${s.name} of ${s.model}: ${s.paused ? 'paused' : 'running'}`,
    `source:      ${s.source} (Redis key ${s.keys.source}, group ${s.keys.group})`,
    `sink:        ${s.sink} (${s.keys.sink}), trimmed to ~${o.sinkMaxLen || 'unlimited'} records`,
    `dead letter: ${s.deadLetter} (${s.keys.deadLetter})`,
    `key field:   ${o.keyField ?? '-'}${o.ordered ? ' (ordered)' : ''}; payload field: ${o.payloadField ?? '- (every field is a feature)'}`,
    `in flight:   ${o.maxInFlight} per worker, batches of ${o.batchSize}; claimed after ${o.claimIdleMs} ms idle`,
    `now:         ${lag(s)}`,
  ].join('\n');
}

/** `streams list|show|create|pause|resume|rewind|delete`: stream deployments, one API call each. */
export async function streams(io: Io, action: string | undefined, name: string | undefined, o: StreamsOpts) {
  const api = clientFor(loadCliConfig());
  if (action === 'list') {
    const all = await api.listStreams(o.model);
    io.result(all.length ? all.map(line).join('\n') : 'no stream deployments', all);
    return;
  }
  if (!['show', 'create', 'pause', 'resume', 'rewind', 'delete'].includes(action ?? ''))
    throw new UsageError('usage: modelyard streams list|show|create|pause|resume|rewind|delete');
  if (!name) throw new UsageError(`streams ${action} needs the stream deployment's NAME`);
  if (!o.model) throw new UsageError('--model is required');
  const model = o.model;
  switch (action) {
    case 'show': {
      const s = await api.getStream(model, name);
      io.result(describe(s), s);
      return;
    }
    case 'create': {
      if (!o.source || !o.sink) throw new UsageError('--source and --sink are required');
      if (o.start !== undefined && o.start !== 'earliest' && o.start !== 'latest')
        throw new UsageError('--start must be earliest or latest');
      const options: NonNullable<TCreateStreamRequest['options']> = {
        keyField: o['key-field'],
        payloadField: o['payload-field'],
        copyFields: o['copy-fields']
          ?.split(',')
          .map((f) => f.trim())
          .filter(Boolean),
        ordered: o.ordered,
        batchSize: int(o['batch-size'], 'batch-size', 1, 5000),
        maxInFlight: int(o['max-in-flight'], 'max-in-flight', 1, 100_000),
        claimIdleMs: int(o['claim-idle-ms'], 'claim-idle-ms', 100, 3_600_000),
        sinkMaxLen: int(o['sink-max-len'], 'sink-max-len', 0, 1_000_000_000),
      };
      const s = await api.createStream(model, {
        name,
        source: o.source,
        sink: o.sink,
        deadLetter: o['dead-letter'],
        startAt: o.start as 'earliest' | 'latest' | undefined,
        options: JSON.parse(JSON.stringify(options)) as typeof options,
      });
      io.result(`created stream ${s.name} of ${s.model}: producers XADD to ${s.keys.source}`, s);
      return;
    }
    case 'pause':
    case 'resume': {
      const s = action === 'pause' ? await api.pauseStream(model, name) : await api.resumeStream(model, name);
      io.result(`stream ${s.name} of ${s.model} is ${s.paused ? 'paused' : 'running'}`, s);
      return;
    }
    case 'rewind': {
      if ((o['from-id'] === undefined) === (o['from-time'] === undefined))
        throw new UsageError('give one of --from-id ID or --from-time ISO-8601');
      const s = await api.rewindStream(
        model,
        name,
        o['from-id'] !== undefined ? { fromId: o['from-id'] } : { fromTime: o['from-time']! },
      );
      io.result(`stream ${s.name} of ${s.model} rewound; ${lag(s)}`, s);
      return;
    }
    case 'delete':
      await api.deleteStream(model, name);
      io.result(`deleted stream ${name} of ${model}`, { deleted: true, model, name });
      return;
  }
}
