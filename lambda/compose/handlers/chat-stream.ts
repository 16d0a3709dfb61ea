/**
 * The streaming chat route (issue 20): `POST /api/v1/chat` with `Accept: text/event-stream`
 * answers `text/event-stream` with `meta`, `delta`..., then `done`, `blocked` or `error`, and a
 * heartbeat comment whenever nothing was written for {@link SSE_HEARTBEAT_MS}.
 *
 * The request passes the same HTTP edge and claim check as every route: the route is served by
 * `createApiHandler` (lambda/runtime/api-handler.ts) like the whole-reply one, and its core
 * writes to the transport's response, which it finds in the invocation's context. A refusal
 * before the stream opens (bad input, 401/403, 429, a blocked prompt, the audit trail down) is
 * the edge's JSON error answer, status and headers as today. Any other request (no
 * `Accept: text/event-stream`, another route) is answered by the whole-reply handler.
 */
import type { ALBEvent, ALBResult, Context } from 'aws-lambda';
import { type ChatDeps, parseChatBody } from '../../chat/chat-service';
import { type ChatStreamEnd, chatStream } from '../../chat/chat-stream-service';
import { callerOf, createApiHandler, logRouteError } from '../../runtime/api-handler';
import { errorAnswer, normalizedHeaders, SECURITY_HEADERS } from '../../shared/http';
import {
  acceptsEventStream,
  SSE_HEADERS,
  SSE_HEARTBEAT_MS,
  sseEvent,
  startHeartbeat,
} from '../../shared/sse';
import { type BaseDeps, metaOf } from './base';
import type { ChatStreamHandler, StreamCallContext, StreamResponse } from './chat-stream-contract';

/** The whole-reply chat handler, which answers every request that is not a stream. */
export type WholeReplyHandler = (event: ALBEvent, context: Context) => Promise<ALBResult>;

/** Options of {@link chatStreamFunction}. */
export interface ChatStreamOptions {
  /** Longest silence before a heartbeat comment. @default SSE_HEARTBEAT_MS (15 s) */
  readonly heartbeatMs?: number;
}

/** The transport of one streamed invocation, carried to the route's core in its context. */
interface StreamTransport {
  readonly response: StreamResponse;
  readonly signal: AbortSignal;
  started: boolean;
}

const TRANSPORT = Symbol('chatStreamTransport');
type StreamingContext = Context & { [TRANSPORT]?: StreamTransport };

/** Whether the request is one the streaming route serves (the listener rule's conditions). */
export function isStreamRequest(event: ALBEvent): boolean {
  return (
    String(event.httpMethod ?? '').toUpperCase() === 'POST' &&
    event.path === '/api/v1/chat' &&
    acceptsEventStream(normalizedHeaders(event).accept)
  );
}

/** Writes a whole ALB result to a stream response (status, headers, body, end). */
export function writeWhole(response: StreamResponse, result: ALBResult): void {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  response.start(result.statusCode, headers);
  const body = result.body ?? '';
  // The chat routes answer JSON only; a base64 body would be text encoded by a proxy.
  const text = result.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (text !== '') response.write(text);
  response.end();
}

/** A Lambda context for the middy handlers, from the transport's call context. */
function lambdaContextOf(context: StreamCallContext): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: context.functionName ?? 'chat',
    functionVersion: '$LATEST',
    invokedFunctionArn: '',
    memoryLimitInMB: '',
    awsRequestId: context.awsRequestId,
    logGroupName: '',
    logStreamName: '',
    // Without it middy does not race the handler against the deadline.
    ...(context.getRemainingTimeInMillis
      ? { getRemainingTimeInMillis: context.getRemainingTimeInMillis }
      : {}),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  } as Context;
}

/** The streaming chat route, next to the whole-reply handler it hands other requests to. */
export function chatStreamFunction(
  deps: BaseDeps & { readonly chat: ChatDeps },
  whole: WholeReplyHandler,
  options: ChatStreamOptions = {},
): ChatStreamHandler {
  const heartbeatMs = options.heartbeatMs ?? SSE_HEARTBEAT_MS;
  const streaming = createApiHandler({
    claimCheck: deps.claimCheck,
    log: deps.log,
    routes: {
      'POST /api/v1/chat': async (call, context) => {
        const transport = (context as StreamingContext)[TRANSPORT];
        if (!transport) throw new Error('chat stream: the invocation has no transport');
        const { response, signal } = transport;
        const principal = callerOf(call);
        let heartbeat: ReturnType<typeof startHeartbeat> | undefined;
        const write = (frame: string): void => {
          // After the client left there is nobody to write to (the transport may refuse).
          if (signal.aborted) return;
          response.write(frame);
          heartbeat?.touch();
        };
        let end: ChatStreamEnd;
        try {
          end = await chatStream(
            principal,
            parseChatBody(call.request.body),
            metaOf(call),
            deps.chat,
            {
              open: (headers, meta) => {
                response.start(200, { ...SECURITY_HEADERS, ...headers, ...SSE_HEADERS });
                transport.started = true;
                heartbeat = startHeartbeat(write, heartbeatMs);
                write(sseEvent('meta', meta));
              },
              delta: (text) => write(sseEvent('delta', { text })),
            },
            signal,
          );
        } catch (error) {
          // Refused before the stream opened: the edge answers with the JSON error.
          if (!transport.started) throw error;
          end = { type: 'error', error };
        }
        heartbeat?.stop();
        const requestId = call.request.requestId;
        switch (end.type) {
          case 'done':
            write(sseEvent('done', end.done));
            break;
          case 'blocked':
            write(sseEvent('blocked', errorAnswer(end.error, requestId).body));
            break;
          case 'error': {
            const answer = errorAnswer(end.error, requestId);
            if (answer.status >= 500) logRouteError(deps.log, end.error, context);
            write(sseEvent('error', answer.body));
            break;
          }
          case 'aborted':
            break;
        }
        response.end();
        // Written already; what the edge makes of this result is not sent.
        return { statusCode: 200, body: '' };
      },
    },
  });

  return async (event, response, context) => {
    const lambdaContext = lambdaContextOf(context);
    const transport: StreamTransport = { response, signal: context.signal, started: false };
    try {
      if (!isStreamRequest(event)) {
        writeWhole(response, await whole(event, lambdaContext));
        return;
      }
      const result = await streaming(event, Object.assign(lambdaContext, { [TRANSPORT]: transport }));
      if (!transport.started) writeWhole(response, result);
    } catch (error) {
      // The middy edge answers every error; this is a failure of the transport itself.
      logRouteError(deps.log, error, lambdaContext);
      if (!transport.started) {
        const { status, body } = errorAnswer(error, context.awsRequestId);
        response.start(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' });
        response.write(JSON.stringify(body));
      }
      response.end();
    }
  };
}
