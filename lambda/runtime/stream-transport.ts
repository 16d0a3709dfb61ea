/**
 * The Lambda side of the streaming chat route (issue 20): API Gateway's REST proxy event in,
 * the route's {@link StreamResponse} out onto Lambda's response stream. Pure code (the
 * response stream and its `HttpResponseStream.from` are passed in), so it is tested without
 * the Lambda runtime; lambda/functions/chat-stream.ts wires it with `awslambda`.
 *
 * The request path is WAF -> ALB listener rule (authentication as for every route) -> the
 * `execute-api` interface endpoint -> the private REST API (a Lambda proxy integration in
 * `STREAM` response transfer mode) -> this function, invoked with InvokeWithResponseStream.
 * The event is the REST proxy input format (v1); the answer must be the metadata JSON
 * (status code, headers), a delimiter, then the body, which `HttpResponseStream.from` writes:
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
 */
import type { Writable } from 'node:stream';
import type { ALBEvent, APIGatewayProxyEvent } from 'aws-lambda';
import type { ChatStreamHandler, StreamResponse } from '../compose/handlers/chat-stream-contract';
import { ServiceUnavailableError } from '../shared/errors';
import { errorResponse, SECURITY_HEADERS } from '../shared/http';
import { sseEvent } from '../shared/sse';
import { type ErrorLog, logUnexpectedError } from './unexpected-error';

/** What the REST API passes as `requestContext.elb.targetGroupArn` (the route never reads it). */
export const API_GATEWAY_SOURCE = 'api-gateway:rest-stream';

/**
 * The REST proxy event as the ALB event every route reads: method, the path without the
 * stage, lower-case headers (the ALB's `x-amzn-oidc-*` and `x-forwarded-for` included), the
 * query, body and `isBase64Encoded`.
 *
 * `X-Forwarded-For`: the load balancer appends the client's address, and the API may append
 * the address its connection came from (the load balancer node's, when the request arrived
 * through the endpoint). The route takes the last entry as the client's
 * (lambda/shared/http.ts `clientAddressOf`), so an entry equal to the connecting address,
 * behind at least one other, is dropped: the client's address is last again.
 */
export function albEventOf(event: APIGatewayProxyEvent): ALBEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (typeof value === 'string') headers[name.toLowerCase()] = value;
  }
  // Multi-value headers carry every value; the ALB event's single-value form keeps them joined.
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (Array.isArray(values) && values.length > 0) headers[name.toLowerCase()] = values.join(', ');
  }
  const forwarded = headers['x-forwarded-for'];
  const peer = event.requestContext?.identity?.sourceIp;
  if (forwarded !== undefined && peer) {
    const entries = forwarded.split(',').map((entry) => entry.trim());
    if (entries.length > 1 && entries.at(-1) === peer)
      headers['x-forwarded-for'] = entries.slice(0, -1).join(', ');
  }

  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    // API Gateway decodes query values; the ALB passes them percent-encoded and the edge decodes.
    if (typeof value === 'string') query[encodeURIComponent(name)] = encodeURIComponent(value);
  }

  return {
    httpMethod: String(event.httpMethod ?? '').toUpperCase(),
    path: pathWithoutStage(event),
    headers,
    queryStringParameters: query,
    body: typeof event.body === 'string' ? event.body : '',
    isBase64Encoded: event.isBase64Encoded === true,
    requestContext: { elb: { targetGroupArn: API_GATEWAY_SOURCE } },
  };
}

/**
 * `event.path` is the resource path (no stage) on the API's own host name; on a host with a
 * base-path mapping or when the stage was kept, it starts with `/<stage>`, which is removed.
 */
function pathWithoutStage(event: APIGatewayProxyEvent): string {
  const path = typeof event.path === 'string' && event.path !== '' ? event.path : '/';
  const stage = event.requestContext?.stage;
  if (stage && (path === `/${stage}` || path.startsWith(`/${stage}/`))) {
    return path.slice(stage.length + 1) || '/';
  }
  return path;
}

/** Lambda's `awslambda.HttpResponseStream.from`: writes the metadata and the delimiter, returns the body stream. */
export type HttpResponseStreamFrom = (
  responseStream: Writable,
  metadata: { statusCode: number; headers: Record<string, string> },
) => Writable;

/** A {@link StreamResponse} over Lambda's response stream, and the signal its closing aborts. */
export interface LambdaStreamResponse {
  readonly response: StreamResponse;
  /** Aborted when the stream closes or fails before the route ended it (the client went away). */
  readonly signal: AbortSignal;
  /** Whether {@link StreamResponse.start} was called. */
  started(): boolean;
  /** Whether {@link StreamResponse.end} was called. */
  ended(): boolean;
  /** Whether the answer started is an event stream (`Content-Type: text/event-stream`). */
  isEventStream(): boolean;
}

/**
 * Maps the route's writes onto the response stream: `start` writes the metadata (status and
 * headers) through `from`, `write` the body, `end` ends it. A write before `start`, a second
 * `start` or a write after `end` is a bug in the route and throws. The stream closing or
 * failing before `end` means the caller went away: the signal aborts, so the route stops the
 * model call and settles tokens, and later writes are dropped.
 */
export function lambdaStreamResponse(
  responseStream: Writable,
  from: HttpResponseStreamFrom,
): LambdaStreamResponse {
  const controller = new AbortController();
  let body: Writable | undefined;
  let done = false;
  let eventStream = false;
  const onGone = (reason: string) => () => {
    if (!done && !controller.signal.aborted) controller.abort(new Error(reason));
  };
  responseStream.once('close', onGone('The response stream closed before the reply ended.'));
  // Without a listener an 'error' event would crash the process; here it only aborts.
  responseStream.on('error', onGone('The response stream failed.'));

  const response: StreamResponse = {
    start(statusCode, headers) {
      if (body !== undefined) throw new Error('StreamResponse.start called twice.');
      if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
        throw new Error(`StreamResponse.start: status ${statusCode} is not an HTTP status.`);
      }
      body = from(responseStream, { statusCode, headers: { ...headers, ...securityHeadersBeside(headers) } });
      body.on('error', onGone('The response stream failed.'));
      eventStream = Object.entries(headers).some(
        ([name, value]) =>
          name.toLowerCase() === 'content-type' && value.toLowerCase().startsWith('text/event-stream'),
      );
    },
    write(chunk) {
      if (body === undefined) throw new Error('StreamResponse.write called before start.');
      if (done) throw new Error('StreamResponse.write called after end.');
      if (controller.signal.aborted || chunk === '') return;
      body.write(chunk);
    },
    end() {
      if (body === undefined) throw new Error('StreamResponse.end called before start.');
      if (done) return;
      done = true;
      body.end();
    },
  };
  return {
    response,
    signal: controller.signal,
    started: () => body !== undefined,
    ended: () => done,
    isEventStream: () => eventStream,
  };
}

/**
 * The security headers every answer carries (lambda/shared/http.ts), except `Cache-Control`
 * when the route set its own (a stream's `no-cache, no-store, no-transform`).
 */
function securityHeadersBeside(headers: Readonly<Record<string, string>>): Record<string, string> {
  const routeSet = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    if (!routeSet.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}

/** What {@link streamEntry} needs besides the event. */
export interface StreamEntryOptions {
  /** The composed chat function's streaming route; undefined until the route is wired. */
  readonly route: Promise<ChatStreamHandler | undefined>;
  readonly from: HttpResponseStreamFrom;
  readonly log: ErrorLog;
}

/** The part of Lambda's context the entry reads. */
export interface StreamInvocation {
  readonly awsRequestId: string;
  readonly functionName?: string;
}

/**
 * The streaming entry's handler: converts the event, runs the route, and guarantees one
 * complete answer. A composition that failed answers a JSON 500, a chat function composed
 * without a streaming route a JSON 503 (both in the API's error shape, logged once); a route
 * that throws (the contract says it never does) gets an `event: error` frame and the end of
 * the answer it started, or a JSON 500 if it started none.
 */
export function streamEntry(options: StreamEntryOptions) {
  // Observed now, so a failed composition is not an unhandled rejection before the first call.
  options.route.catch(() => undefined);
  return async (
    event: APIGatewayProxyEvent,
    responseStream: Writable,
    context: StreamInvocation,
  ): Promise<void> => {
    const stream = lambdaStreamResponse(responseStream, options.from);
    const requestId = context.awsRequestId;
    const site = {
      requestId,
      ...(context.functionName ? { functionName: context.functionName } : {}),
      method: String(event.httpMethod ?? ''),
      route: 'POST /api/v1/chat (stream)',
    };
    const answer = (error: unknown) => {
      const result = errorResponse(error, requestId);
      stream.response.start(result.statusCode, { ...(result.headers as Record<string, string>) });
      stream.response.write(String(result.body ?? ''));
      stream.response.end();
    };
    let route: ChatStreamHandler | undefined;
    try {
      route = await options.route;
    } catch (error) {
      logUnexpectedError(options.log, error, site);
      answer(error);
      return;
    }
    if (route === undefined) {
      const error = new ServiceUnavailableError(
        'Streaming replies are not available; send the request without Accept: text/event-stream.',
      );
      logUnexpectedError(options.log, error, site);
      answer(error);
      return;
    }
    try {
      await route(albEventOf(event), stream.response, {
        awsRequestId: requestId,
        ...(context.functionName ? { functionName: context.functionName } : {}),
        signal: stream.signal,
      });
    } catch (error) {
      logUnexpectedError(options.log, error, site);
      if (!stream.started()) answer(error);
      else if (!stream.ended() && stream.isEventStream()) {
        const body = errorResponse(error, requestId).body;
        stream.response.write(sseEvent('error', JSON.parse(String(body))));
      }
    }
    if (!stream.ended()) stream.response.end();
  };
}
