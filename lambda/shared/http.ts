/**
 * The HTTP edge of every function: ALB event in, ALB result out. Parses and bounds the
 * request before anything else runs, adds security headers to every answer, and maps
 * errors to `{ "error": { "code", "message", "requestId" } }`, so no stack trace or
 * internal message ever reaches a caller.
 */
import { isIP } from 'node:net';
import type { MiddlewareObj } from '@middy/core';
import type { ALBEvent, ALBResult, Context } from 'aws-lambda';
import { BadRequestError, OmniChatError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors';

/** Headers on every response (seed 004), whatever its status. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
  'Cache-Control': 'no-store',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Largest request body accepted, in bytes (after base64 decoding). */
export const MAX_BODY_BYTES = 64 * 1024;

/** The request as the handlers see it after the edge has parsed it. */
export interface ParsedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON body, or undefined when there was none. */
  readonly body: unknown;
  readonly requestId: string;
}

/** Context after the edge: the parsed request. */
export type EdgeContext = Context & { request?: ParsedRequest };

/** A JSON response with the security headers. */
export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): ALBResult {
  return {
    statusCode,
    statusDescription: `${statusCode} ${STATUS_TEXT[statusCode] ?? 'Status'}`,
    isBase64Encoded: false,
    headers: { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', ...headers },
    body: statusCode === 204 ? '' : JSON.stringify(body),
  };
}

/** The status, body and headers of a failure: a client error's own message, else a generic one. */
export function errorAnswer(
  error: unknown,
  requestId: string,
): {
  status: number;
  body: { error: { code: string; message: string; requestId: string } };
  headers: Record<string, string>;
} {
  if (error instanceof OmniChatError) {
    const message = error.isClientError
      ? error.message
      : 'The service is temporarily unavailable. Please retry.';
    return {
      status: error.status,
      body: { error: { code: error.code, message, requestId } },
      headers: { ...error.headers },
    };
  }
  return {
    status: 500,
    body: { error: { code: 'internal_error', message: 'An internal error occurred.', requestId } },
    headers: {},
  };
}

/** The error body every failure answers with. */
export function errorResponse(error: unknown, requestId: string): ALBResult {
  const { status, body, headers } = errorAnswer(error, requestId);
  return jsonResponse(status, body, headers);
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * The caller's address from `X-Forwarded-For`: the last entry, which the load balancer
 * appends. Anything there that is not an IP address was not written by it, so it is
 * dropped rather than recorded (the audit trail refuses it, which would fail the request).
 */
export function clientAddressOf(forwardedFor: string | undefined): string | undefined {
  const last = forwardedFor?.split(',').at(-1)?.trim();
  return last !== undefined && isIP(last) !== 0 ? last : undefined;
}

/** Lower-cased single-value headers (ALB may send multi-value headers when enabled). */
export function normalizedHeaders(event: ALBEvent): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (typeof value === 'string') out[name.toLowerCase()] = value;
  }
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (Array.isArray(values) && values.length > 0) out[name.toLowerCase()] = String(values.at(-1));
  }
  return out;
}

function decodedQuery(event: ALBEvent): Record<string, string> {
  const out: Record<string, string> = {};
  // ALB passes query values as received (still percent-encoded).
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (typeof value !== 'string') continue;
    try {
      out[decodeURIComponent(name)] = decodeURIComponent(value.replace(/\+/g, ' '));
    } catch (cause) {
      throw new BadRequestError('The query string is not valid percent-encoding.', 'bad_request', cause);
    }
  }
  return out;
}

function parseBody(event: ALBEvent, headers: Record<string, string>, maxBytes: number): unknown {
  const raw: unknown = event.body ?? '';
  // ALB always sends a string; anything else is not a body we can read (400, not a crash).
  if (typeof raw !== 'string') throw new BadRequestError('The request body is not valid.');
  if (raw.length === 0) return undefined;
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > maxBytes) throw new PayloadTooLargeError(maxBytes);
  const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/json') throw new UnsupportedMediaTypeError();
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let decoded: string;
  try {
    decoded = text.decode(bytes);
  } catch (cause) {
    throw new BadRequestError('The request body is not valid UTF-8.', 'bad_request', cause);
  }
  try {
    return JSON.parse(decoded);
  } catch (cause) {
    throw new BadRequestError('The request body is not valid JSON.', 'bad_request', cause);
  }
}

/** Options of {@link httpEdge}. */
export interface HttpEdgeOptions {
  /** @default MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
  /**
   * Headers forced onto every response in place of {@link SECURITY_HEADERS} (the web page
   * needs a CSP that lets it load its own script; the API keeps `default-src 'none'`).
   * @default SECURITY_HEADERS
   */
  readonly securityHeaders?: Readonly<Record<string, string>>;
  /**
   * Receives each unexpected error (anything but a 4xx {@link OmniChatError}) once, with the
   * invocation's context; the caller only ever sees the status and the request id.
   */
  readonly onUnexpectedError?: (error: unknown, context: EdgeContext) => void;
}

/** Middy middleware: parse and bound the request, secure and shape every response. */
export function httpEdge(
  options: HttpEdgeOptions = {},
): MiddlewareObj<ALBEvent, ALBResult, Error, EdgeContext> {
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const forced = options.securityHeaders ?? SECURITY_HEADERS;
  return {
    name: 'httpEdge',
    before: async (request) => {
      const { event, context } = request;
      const headers = normalizedHeaders(event);
      context.request = {
        method: String(event.httpMethod ?? '').toUpperCase(),
        path: typeof event.path === 'string' ? event.path : '',
        query: decodedQuery(event),
        headers,
        body: parseBody(event, headers, maxBodyBytes),
        requestId: context.awsRequestId,
      };
    },
    after: async (request) => {
      const response = request.response;
      if (response) response.headers = { ...(response.headers ?? {}), ...forced };
    },
    onError: async (request) => {
      const requestId = request.context.awsRequestId;
      if (!(request.error instanceof OmniChatError) || !request.error.isClientError) {
        options.onUnexpectedError?.(request.error, request.context);
      }
      const response = errorResponse(request.error, requestId);
      request.response = { ...response, headers: { ...(response.headers ?? {}), ...forced } };
    },
  };
}

/** The parsed request; throws if the edge middleware did not run. */
export function parsedRequest(context: EdgeContext): ParsedRequest {
  if (!context.request) throw new Error('httpEdge middleware is missing');
  return context.request;
}
