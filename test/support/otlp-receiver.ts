import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP/HTTP JSON export carries it, flattened with its resource's service name. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  startNs: bigint;
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type KeyValue = { key: string; value: AnyValue };

const valueOf = (v: AnyValue) =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue ?? '';
const attributesOf = (kvs: KeyValue[] = []) => Object.fromEntries(kvs.map((kv) => [kv.key, valueOf(kv.value)]));
/** The JSON encoding writes ids in hex; protobuf's JSON mapping would write base64. Both become hex. */
const hexId = (id: string | undefined) =>
  !id
    ? ''
    : /^[0-9a-f]+$/i.test(id) && id.length % 16 === 0
      ? id.toLowerCase()
      : Buffer.from(id, 'base64').toString('hex');

/**
 * A local OpenTelemetry collector for tests: `POST /v1/traces` with the OTLP/HTTP JSON encoding
 * (OTEL_EXPORTER_OTLP_PROTOCOL=http/json), every span kept. Anything else is refused, so a test sending protobuf
 * by mistake fails on an empty receiver instead of passing on a misread one.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  refused = 0;
  private server: Server | null = null;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces' || !req.headers['content-type']?.includes('json')) {
          this.refused++;
          res.writeHead(415).end();
          return;
        }
        this.take(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop() {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  /** Polls until `test` holds for the spans received so far (exports come every OTEL_BSP_SCHEDULE_DELAY). */
  async waitFor(test: (spans: ReceivedSpan[]) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!test(this.spans)) {
      if (Date.now() > until) {
        const seen = this.spans.map((s) => `${s.service} ${s.name} ${s.traceId}`).join('\n');
        throw new Error(`the OTLP receiver did not get ${what} within ${timeoutMs} ms; it has:\n${seen}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private take(body: {
    resourceSpans?: {
      resource?: { attributes?: KeyValue[] };
      scopeSpans?: {
        spans?: {
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind: number;
          attributes?: KeyValue[];
          status?: { code?: number };
          startTimeUnixNano: string | number;
        }[];
      }[];
    }[];
  }) {
    for (const rs of body.resourceSpans ?? []) {
      const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            service,
            traceId: hexId(s.traceId),
            spanId: hexId(s.spanId),
            parentSpanId: hexId(s.parentSpanId),
            name: s.name,
            kind: s.kind,
            attributes: attributesOf(s.attributes),
            statusCode: s.status?.code ?? 0,
            startNs: BigInt(s.startTimeUnixNano),
          });
        }
      }
    }
  }
}
