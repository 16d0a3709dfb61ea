/**
 * The streaming entry's transport (lambda/runtime/stream-transport.ts): the REST proxy event
 * becomes the ALB event every route reads, and the route's StreamResponse becomes Lambda's
 * response stream (metadata through `HttpResponseStream.from`, then the body), with a
 * fake response stream in place of the Lambda runtime's.
 */
import { Writable } from 'node:stream';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { ChatStreamHandler } from '../../lambda/compose/handlers/chat-stream-contract';
import {
  API_GATEWAY_SOURCE,
  albEventOf,
  type HttpResponseStreamFrom,
  lambdaStreamResponse,
  streamEntry,
} from '../../lambda/runtime/stream-transport';
import { SECURITY_HEADERS } from '../../lambda/shared/http';
import { parseSse, SSE_HEADERS, sseEvent } from '../../lambda/shared/sse';

/** A REST proxy (v1) event as API Gateway sends it behind the load balancer's streaming rule. */
function restEvent(overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  return {
    resource: '/api/v1/chat',
    path: '/api/v1/chat',
    httpMethod: 'POST',
    headers: {
      Accept: 'text/event-stream',
      'Content-Type': 'application/json',
      'X-Amzn-Oidc-Accesstoken': 'eyJ.access.token',
      'X-Amzn-Oidc-Identity': 'user-sub',
      'X-Forwarded-For': '203.0.113.7, 10.10.0.25',
      Host: 'abc123.execute-api.eu-central-1.amazonaws.com',
    },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: '{"message":"hi"}',
    isBase64Encoded: false,
    requestContext: {
      stage: 'stream',
      identity: { sourceIp: '10.10.0.25' },
    } as APIGatewayProxyEvent['requestContext'],
    ...overrides,
  };
}

/** A response stream that records what Lambda would send, and `from` as Lambda's runtime does it. */
function fakeLambdaStream() {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      written.push(String(chunk));
      callback();
    },
  });
  const metadata: { statusCode: number; headers: Record<string, string> }[] = [];
  const from: HttpResponseStreamFrom = (responseStream, meta) => {
    metadata.push(meta);
    // The runtime writes the metadata JSON and an 8-byte NUL delimiter before the body.
    responseStream.write(`${JSON.stringify(meta)}\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000`);
    return responseStream;
  };
  const body = () => written.join('').split('\u0000'.repeat(8)).slice(1).join('');
  return { stream, written, metadata, from, body };
}

const invocation = { awsRequestId: 'req-1', functionName: 'chat-stream' };
const quietLog = () => ({ error: vi.fn() });

describe('albEventOf', () => {
  it('keeps method, path, body and base64 flag, and lower-cases every header', () => {
    const event = albEventOf(restEvent());
    expect(event.httpMethod).toBe('POST');
    expect(event.path).toBe('/api/v1/chat');
    expect(event.body).toBe('{"message":"hi"}');
    expect(event.isBase64Encoded).toBe(false);
    expect(event.headers).toMatchObject({
      accept: 'text/event-stream',
      'content-type': 'application/json',
      'x-amzn-oidc-accesstoken': 'eyJ.access.token',
      'x-amzn-oidc-identity': 'user-sub',
    });
    expect(Object.keys(event.headers ?? {}).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.requestContext.elb.targetGroupArn).toBe(API_GATEWAY_SOURCE);
  });

  it.each([
    ['/stream/api/v1/chat', '/api/v1/chat'],
    ['/api/v1/chat', '/api/v1/chat'],
    ['/stream', '/'],
    ['/streaming/api/v1/chat', '/streaming/api/v1/chat'],
  ])('path %s without the stage is %s', (path, expected) => {
    expect(albEventOf(restEvent({ path })).path).toBe(expected);
  });

  it('drops the connecting address the API appended, so the client address is last again', () => {
    expect(albEventOf(restEvent()).headers?.['x-forwarded-for']).toBe('203.0.113.7');
  });

  it.each([
    ['a single entry equal to the peer', '10.10.0.25', '10.10.0.25'],
    ['a last entry that is not the peer', '203.0.113.7', '203.0.113.7'],
    ['a spoofed first entry', '198.51.100.1, 203.0.113.7, 10.10.0.25', '198.51.100.1, 203.0.113.7'],
  ])('x-forwarded-for with %s', (_case, forwarded, expected) => {
    const event = restEvent({ headers: { 'X-Forwarded-For': forwarded } });
    expect(albEventOf(event).headers?.['x-forwarded-for']).toBe(expected);
  });

  it('joins multi-value headers and re-encodes the query as the ALB passes it', () => {
    const event = albEventOf(
      restEvent({
        multiValueHeaders: { 'X-Custom': ['a', 'b'] },
        queryStringParameters: { 'model id': 'a&b' },
      }),
    );
    expect(event.headers?.['x-custom']).toBe('a, b');
    expect(event.queryStringParameters).toEqual({ 'model%20id': 'a%26b' });
  });

  it('passes a base64 body through with its flag, and a missing body as empty', () => {
    expect(albEventOf(restEvent({ body: 'e30=', isBase64Encoded: true }))).toMatchObject({
      body: 'e30=',
      isBase64Encoded: true,
    });
    expect(albEventOf(restEvent({ body: null })).body).toBe('');
  });
});

describe('lambdaStreamResponse', () => {
  it('writes the metadata once through from, then the body, then ends', async () => {
    const fake = fakeLambdaStream();
    const { response, signal } = lambdaStreamResponse(fake.stream, fake.from);
    response.start(200, SSE_HEADERS);
    response.write(sseEvent('meta', { conversationId: 'c1' }));
    response.write(sseEvent('done', { turnId: 't1' }));
    response.end();
    await new Promise((resolve) => fake.stream.once('finish', resolve));
    expect(fake.metadata).toHaveLength(1);
    expect(fake.metadata[0]!.statusCode).toBe(200);
    expect(fake.metadata[0]!.headers['Content-Type']).toBe('text/event-stream; charset=utf-8');
    // The route's Cache-Control wins; the other security headers are added.
    expect(fake.metadata[0]!.headers['Cache-Control']).toBe(SSE_HEADERS['Cache-Control']);
    expect(fake.metadata[0]!.headers['X-Content-Type-Options']).toBe('nosniff');
    expect(parseSse(fake.body()).map((e) => e.event)).toEqual(['meta', 'done']);
    expect(signal.aborted).toBe(false);
  });

  it('refuses a write before start, a second start and a write after end', () => {
    const fake = fakeLambdaStream();
    const { response } = lambdaStreamResponse(fake.stream, fake.from);
    expect(() => response.write('x')).toThrow(/before start/);
    expect(() => response.start(42, {})).toThrow(/not an HTTP status/);
    response.start(200, SSE_HEADERS);
    expect(() => response.start(200, SSE_HEADERS)).toThrow(/twice/);
    response.end();
    expect(() => response.write('x')).toThrow(/after end/);
  });

  it('aborts the signal when the stream closes before the end (client gone) and drops later writes', () => {
    const fake = fakeLambdaStream();
    const { response, signal } = lambdaStreamResponse(fake.stream, fake.from);
    response.start(200, SSE_HEADERS);
    response.write('event: delta\ndata: {"text":"a"}\n\n');
    fake.stream.destroy();
    fake.stream.emit('close');
    expect(signal.aborted).toBe(true);
    const before = fake.written.length;
    response.write('event: delta\ndata: {"text":"b"}\n\n');
    expect(fake.written.length).toBe(before);
  });

  it('aborts on a stream error without crashing', () => {
    const fake = fakeLambdaStream();
    const { signal } = lambdaStreamResponse(fake.stream, fake.from);
    fake.stream.emit('error', new Error('connection reset'));
    expect(signal.aborted).toBe(true);
  });

  it('does not abort when the stream closes after the route ended it', async () => {
    const fake = fakeLambdaStream();
    const { response, signal } = lambdaStreamResponse(fake.stream, fake.from);
    response.start(200, SSE_HEADERS);
    response.end();
    await new Promise((resolve) => fake.stream.once('close', resolve));
    expect(signal.aborted).toBe(false);
  });
});

describe('streamEntry', () => {
  it('answers a JSON 503 in the API error shape when the chat function has no streaming route', async () => {
    const fake = fakeLambdaStream();
    const log = quietLog();
    const entry = streamEntry({ route: Promise.resolve(undefined), from: fake.from, log });
    await entry(restEvent(), fake.stream, invocation);
    expect(fake.metadata[0]!.statusCode).toBe(503);
    expect(fake.metadata[0]!.headers['Content-Type']).toBe('application/json; charset=utf-8');
    expect(fake.metadata[0]!.headers['Retry-After']).toBeDefined();
    expect(JSON.parse(fake.body())).toEqual({
      error: { code: 'service_unavailable', message: expect.any(String), requestId: 'req-1' },
    });
    expect(log.error).toHaveBeenCalledOnce();
  });

  it('answers a JSON 500 when the composition failed, without its message', async () => {
    const fake = fakeLambdaStream();
    const log = quietLog();
    const route = Promise.reject(new Error('TABLE_AUDIT must be set'));
    const entry = streamEntry({ route, from: fake.from, log });
    await entry(restEvent(), fake.stream, invocation);
    expect(fake.metadata[0]!.statusCode).toBe(500);
    expect(fake.body()).not.toContain('TABLE_AUDIT');
    expect(JSON.parse(fake.body()).error).toMatchObject({ code: 'internal_error', requestId: 'req-1' });
    expect(log.error).toHaveBeenCalledOnce();
  });

  it('hands the route the converted event, the response and a live signal', async () => {
    const fake = fakeLambdaStream();
    const route = vi.fn<ChatStreamHandler>(async (event, response, context) => {
      expect(event.path).toBe('/api/v1/chat');
      expect(event.headers?.accept).toBe('text/event-stream');
      expect(context.awsRequestId).toBe('req-1');
      expect(context.signal.aborted).toBe(false);
      response.start(200, SSE_HEADERS);
      response.write(sseEvent('delta', { text: 'hello' }));
      response.end();
    });
    await streamEntry({ route: Promise.resolve(route), from: fake.from, log: quietLog() })(
      restEvent(),
      fake.stream,
      invocation,
    );
    expect(route).toHaveBeenCalledOnce();
    expect(parseSse(fake.body())).toEqual([{ event: 'delta', data: '{"text":"hello"}' }]);
  });

  it('ends a stream a throwing route started with an error event, and logs once', async () => {
    const fake = fakeLambdaStream();
    const log = quietLog();
    const route: ChatStreamHandler = async (_event, response) => {
      response.start(200, SSE_HEADERS);
      response.write(sseEvent('meta', { conversationId: 'c1' }));
      throw new Error('bug');
    };
    await streamEntry({ route: Promise.resolve(route), from: fake.from, log })(
      restEvent(),
      fake.stream,
      invocation,
    );
    const events = parseSse(fake.body());
    expect(events.map((e) => e.event)).toEqual(['meta', 'error']);
    expect(JSON.parse(events[1]!.data).error).toMatchObject({ code: 'internal_error', requestId: 'req-1' });
    expect(fake.stream.writableEnded).toBe(true);
    expect(log.error).toHaveBeenCalledOnce();
  });

  it('ends the answer a route forgot to end', async () => {
    const fake = fakeLambdaStream();
    const route: ChatStreamHandler = async (_event, response) => {
      response.start(200, SSE_HEADERS);
    };
    await streamEntry({ route: Promise.resolve(route), from: fake.from, log: quietLog() })(
      restEvent(),
      fake.stream,
      invocation,
    );
    expect(fake.stream.writableEnded).toBe(true);
  });

  it('keeps the security headers on every error answer', async () => {
    const fake = fakeLambdaStream();
    await streamEntry({ route: Promise.resolve(undefined), from: fake.from, log: quietLog() })(
      restEvent(),
      fake.stream,
      invocation,
    );
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      expect(fake.metadata[0]!.headers[name]).toBe(value);
    }
  });
});
