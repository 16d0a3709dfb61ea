/**
 * A STAND-IN for Amazon Bedrock ConverseStream, because no emulator of it exists (moto has no
 * bedrock-runtime). The smallest wire-compatible server the streaming adapter's tests need:
 * HTTP/2 cleartext on 127.0.0.1 answering `POST /model/{modelId}/converse-stream` with an
 * `application/vnd.amazon.eventstream` body in the AWS event-stream binary framing, so the
 * real `BedrockRuntimeClient` signs the request and decodes the frames exactly as it would
 * against AWS (the SDK's own decoder checks both CRCs of every frame).
 *
 * Frame layout (AWS event-stream encoding, as the SDK's codec reads it): total length (u32
 * BE), headers length (u32 BE), CRC32 of those 8 bytes, the headers (name length u8, name,
 * type u8 = 7 for string, value length u16 BE, value), the JSON payload, CRC32 of all before.
 * Events carry `:message-type: event` and `:event-type` (`messageStart`, `contentBlockDelta`,
 * `contentBlockStop`, `messageStop`, `metadata`); in-stream errors `:message-type: exception`
 * and `:exception-type` (`throttlingException`, `modelStreamErrorException`, ...).
 *
 * Stricter than Bedrock on purpose: an unsigned call, or one whose `guardrailConfig` does not
 * name the expected guardrail in `sync` stream-processing mode, is refused (403 / 400).
 */
import { createServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

/** What the stand-in streams for one call. */
export interface StreamScript {
  /** Text deltas, sent in order. */
  readonly deltas: readonly string[];
  /** Wait before each delta (default 0). */
  readonly delayMs?: number;
  readonly stopReason?: string;
  readonly usage?: { readonly inputTokens: number; readonly outputTokens: number };
  /** A `trace.guardrail` for the metadata event (JSON as Converse sends it). */
  readonly guardrailTrace?: Readonly<Record<string, unknown>>;
  /** Instead of finishing: an exception event after the deltas. */
  readonly exception?: { readonly type: string; readonly message: string };
  /** Instead of streaming: an HTTP error before any event (`x-amzn-errortype`). */
  readonly httpError?: { readonly status: number; readonly name: string; readonly message: string };
}

/** A call received, after its checks, and how it ended. */
export interface StreamCall {
  readonly modelId: string;
  readonly body: Record<string, unknown>;
  /** Deltas written before the stream ended or the client closed it. */
  deltasWritten: number;
  /** The client closed the stream before the stand-in finished it. */
  closedByClient: boolean;
}

/** A running stand-in. */
export interface ConverseStreamStandIn {
  readonly endpoint: string;
  readonly calls: StreamCall[];
  readonly refusals: string[];
  script(next: (body: Record<string, unknown>) => StreamScript): void;
  stop(): Promise<void>;
}

/** One event-stream frame with string headers. */
export function eventStreamFrame(headers: Readonly<Record<string, string>>, payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    const head = Buffer.alloc(1 + nameBytes.length + 1 + 2);
    head.writeUInt8(nameBytes.length, 0);
    nameBytes.copy(head, 1);
    head.writeUInt8(7, 1 + nameBytes.length);
    head.writeUInt16BE(valueBytes.length, 2 + nameBytes.length);
    parts.push(head, valueBytes);
  }
  const headerBytes = Buffer.concat(parts);
  const total = 12 + headerBytes.length + payload.length + 4;
  const prelude = Buffer.alloc(12);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(headerBytes.length, 4);
  prelude.writeUInt32BE(crc32(prelude.subarray(0, 8)), 8);
  const withoutCrc = Buffer.concat([prelude, headerBytes, payload]);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(crc32(withoutCrc), 0);
  return Buffer.concat([withoutCrc, trailer]);
}

const event = (type: string, body: unknown): Buffer =>
  eventStreamFrame(
    { ':message-type': 'event', ':event-type': type, ':content-type': 'application/json' },
    Buffer.from(JSON.stringify(body), 'utf8'),
  );

const PATH = /^\/model\/([^/]+)\/converse-stream$/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the stand-in; every call must name `guardrail` in sync mode. */
export async function startConverseStreamStandIn(guardrail: {
  identifier: string;
  version: string;
}): Promise<ConverseStreamStandIn> {
  const calls: StreamCall[] = [];
  const refusals: string[] = [];
  let decide: (body: Record<string, unknown>) => StreamScript = () => ({ deltas: ['Hello', ' there'] });
  const sessions = new Set<Http2Session>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const refuse = (status: number, name: string, message: string): void => {
          refusals.push(message);
          res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': name });
          res.end(JSON.stringify({ message }));
        };
        const match = PATH.exec(req.url ?? '');
        if (req.method !== 'POST' || match === null) return refuse(404, 'UnknownOperationException', 'route');
        if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential='))
          return refuse(403, 'MissingAuthenticationTokenException', 'unsigned request');
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        const config = body.guardrailConfig as Record<string, unknown> | undefined;
        if (
          config?.guardrailIdentifier !== guardrail.identifier ||
          config?.guardrailVersion !== guardrail.version ||
          config?.streamProcessingMode !== 'sync'
        ) {
          return refuse(400, 'ValidationException', 'stand-in: guardrail in sync mode required');
        }
        const call: StreamCall = {
          modelId: decodeURIComponent(match[1] ?? ''),
          body,
          deltasWritten: 0,
          closedByClient: false,
        };
        calls.push(call);
        const script = decide(body);
        if (script.httpError !== undefined) {
          res.writeHead(script.httpError.status, {
            'content-type': 'application/json',
            'x-amzn-errortype': `${script.httpError.name}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
          });
          res.end(JSON.stringify({ message: script.httpError.message }));
          return;
        }
        let closed = false;
        res.stream.once('close', () => {
          closed = true;
        });
        res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
        res.write(event('messageStart', { role: 'assistant' }));
        for (const text of script.deltas) {
          if (script.delayMs) await sleep(script.delayMs);
          if (closed || res.stream.destroyed) {
            call.closedByClient = true;
            return;
          }
          res.write(event('contentBlockDelta', { contentBlockIndex: 0, delta: { text } }));
          call.deltasWritten++;
        }
        if (script.exception !== undefined) {
          res.end(
            eventStreamFrame(
              {
                ':message-type': 'exception',
                ':exception-type': script.exception.type,
                ':content-type': 'application/json',
              },
              Buffer.from(JSON.stringify({ message: script.exception.message })),
            ),
          );
          return;
        }
        res.write(event('contentBlockStop', { contentBlockIndex: 0 }));
        res.write(event('messageStop', { stopReason: script.stopReason ?? 'end_turn' }));
        const usage = script.usage ?? { inputTokens: 10, outputTokens: script.deltas.length };
        res.end(
          event('metadata', {
            usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
            metrics: { latencyMs: 5 },
            ...(script.guardrailTrace === undefined ? {} : { trace: { guardrail: script.guardrailTrace } }),
          }),
        );
      })().catch((error: unknown) => {
        refusals.push(`stand-in failure: ${String(error)}`);
        if (!res.headersSent) {
          res.writeHead(500, { 'x-amzn-errortype': 'InternalServerException' });
          res.end('{}');
        }
      });
    });
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    refusals,
    script(next) {
      decide = next;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}
