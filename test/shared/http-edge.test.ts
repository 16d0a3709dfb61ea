import middy from '@middy/core';
import type { ALBEvent, ALBResult, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ServiceUnavailableError, ValidationError } from '../../lambda/shared/errors';
import {
  type EdgeContext,
  httpEdge,
  jsonResponse,
  MAX_BODY_BYTES,
  parsedRequest,
  SECURITY_HEADERS,
} from '../../lambda/shared/http';

const context = { awsRequestId: 'req-1' } as Context;

function event(overrides: Partial<ALBEvent> = {}): ALBEvent {
  return {
    requestContext: {
      elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-central-1:111111111111:targetgroup/x/1' },
    },
    httpMethod: 'POST',
    path: '/api/v1/chat',
    queryStringParameters: {},
    headers: { 'content-type': 'application/json' },
    body: '{"message":"hi"}',
    isBase64Encoded: false,
    ...overrides,
  };
}

/** A handler that echoes what the edge parsed, or throws what it is told to. */
function handlerThatDoes(action: (ctx: EdgeContext) => Promise<ALBResult>) {
  return middy<ALBEvent, ALBResult, Error, EdgeContext>()
    .use(httpEdge({ onUnexpectedError: () => undefined }))
    .handler(async (_e, ctx) => action(ctx));
}

const echo = handlerThatDoes(async (ctx) => jsonResponse(200, parsedRequest(ctx)));
const body = (r: ALBResult) => JSON.parse(r.body ?? '{}');

describe('HTTP edge', () => {
  it('parses JSON, lower-cases headers and decodes the query', async () => {
    const result = await echo(
      event({
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        queryStringParameters: { limit: '5', q: 'a%20b' },
      }),
      context,
    );
    expect(result.statusCode).toBe(200);
    expect(body(result)).toMatchObject({
      method: 'POST',
      body: { message: 'hi' },
      query: { limit: '5', q: 'a b' },
      requestId: 'req-1',
    });
  });

  it('decodes base64 bodies before measuring and parsing them', async () => {
    const result = await echo(
      event({ body: Buffer.from('{"a":1}').toString('base64'), isBase64Encoded: true }),
      context,
    );
    expect(body(result).body).toEqual({ a: 1 });
  });

  it.each([
    [
      'oversized body',
      event({ body: JSON.stringify({ m: 'x'.repeat(MAX_BODY_BYTES) }) }),
      413,
      'payload_too_large',
    ],
    [
      'wrong content type',
      event({ headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    ],
    ['missing content type', event({ headers: {} }), 415, 'unsupported_media_type'],
    ['broken JSON', event({ body: '{"message":' }), 400, 'bad_request'],
    [
      'invalid UTF-8',
      event({ body: Buffer.from([0x7b, 0xff, 0x7d]).toString('base64'), isBase64Encoded: true }),
      400,
      'bad_request',
    ],
    ['bad percent-encoding', event({ queryStringParameters: { q: '%E0%A4%A' } }), 400, 'bad_request'],
  ])('answers %s with %i and a JSON error', async (_name, input, status, code) => {
    const result = await echo(input, context);
    expect(result.statusCode).toBe(status);
    expect(body(result)).toEqual({ error: { code, message: expect.any(String), requestId: 'req-1' } });
  });

  it('shows client error messages but hides server error details', async () => {
    const client = await handlerThatDoes(async () => {
      throw new ValidationError('"message" must be a string.');
    })(event(), context);
    expect(body(client).error.message).toBe('"message" must be a string.');

    const server = await handlerThatDoes(async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.7:443 at TLSSocket.stack');
    })(event(), context);
    expect(server.statusCode).toBe(500);
    expect(server.body).not.toMatch(/ECONNREFUSED|TLSSocket|at /);

    const unavailable = await handlerThatDoes(async () => {
      throw new ServiceUnavailableError('secret internal text', 7);
    })(event(), context);
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers?.['Retry-After']).toBe('7');
    expect(unavailable.body).not.toContain('secret internal text');
  });

  it('puts the security headers on success and error responses alike', async () => {
    const ok = await echo(event(), context);
    const failed = await echo(event({ body: '{' }), context);
    for (const result of [ok, failed]) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS))
        expect(result.headers?.[name]).toBe(value);
    }
  });
});
