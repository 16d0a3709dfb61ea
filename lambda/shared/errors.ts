/**
 * Typed errors for every handler. Domain code throws these; only the HTTP edge
 * (`lambda/shared/http.ts`) maps them to a status. Only client errors expose their
 * message; anything else answers a generic message so no internals leak.
 */

/** Machine-readable error codes that appear in `{ error: { code } }`. */
export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'guardrail_blocked'
  | 'service_unavailable'
  | 'internal_error';

/** Base error of the service: carries the HTTP status it maps to at the edge. */
export class OmniChatError extends Error {
  /** HTTP status this error maps to. */
  readonly status: number;
  /** Stable code for clients. */
  readonly code: ErrorCode;
  /** Extra response headers, e.g. `Retry-After` or `WWW-Authenticate`. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
  }

  /** Client errors (4xx) may show their message; server errors never do. */
  get isClientError(): boolean {
    return this.status >= 400 && this.status < 500;
  }
}

export class BadRequestError extends OmniChatError {
  constructor(message: string, code: ErrorCode = 'bad_request', cause?: unknown) {
    super(400, code, message, { cause });
  }
}

export class ValidationError extends OmniChatError {
  constructor(message: string, cause?: unknown) {
    super(400, 'validation_failed', message, { cause });
  }
}

export class UnauthenticatedError extends OmniChatError {
  constructor(message = 'Authentication required.', cause?: unknown) {
    super(401, 'unauthenticated', message, {
      cause,
      headers: { 'WWW-Authenticate': 'Bearer realm="omnichat", error="invalid_token"' },
    });
  }
}

export class ForbiddenError extends OmniChatError {
  constructor(message = 'You do not have permission for this action.', cause?: unknown) {
    super(403, 'forbidden', message, { cause });
  }
}

/** Missing resources and other users' resources answer the same way. */
export class NotFoundError extends OmniChatError {
  constructor(message = 'Not found.', cause?: unknown) {
    super(404, 'not_found', message, { cause });
  }
}

export class MethodNotAllowedError extends OmniChatError {
  constructor(allowed: readonly string[]) {
    super(405, 'method_not_allowed', 'Method not allowed.', { headers: { Allow: allowed.join(', ') } });
  }
}

export class ConflictError extends OmniChatError {
  constructor(message = 'Conflict.', cause?: unknown) {
    super(409, 'conflict', message, { cause });
  }
}

export class PayloadTooLargeError extends OmniChatError {
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `Request body exceeds ${limitBytes} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends OmniChatError {
  constructor() {
    super(415, 'unsupported_media_type', 'Content-Type must be application/json.');
  }
}

/** Rate or quota limits: 429 with `Retry-After` (seconds). */
export class RateLimitedError extends OmniChatError {
  constructor(
    message: string,
    retryAfterSeconds: number,
    code: 'rate_limited' | 'quota_exceeded' = 'rate_limited',
    extraHeaders: Record<string, string> = {},
  ) {
    super(429, code, message, {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))), ...extraHeaders },
    });
  }
}

/** A guardrail blocked the request or the reply. The message never names the rule. */
export class GuardrailBlockedError extends OmniChatError {
  constructor(message: string) {
    super(422, 'guardrail_blocked', message);
  }
}

/** A dependency (DynamoDB, KMS, Bedrock, audit) is unavailable: 503 with `Retry-After`. */
export class ServiceUnavailableError extends OmniChatError {
  constructor(
    message = 'The service is temporarily unavailable. Please retry.',
    retryAfterSeconds = 2,
    cause?: unknown,
  ) {
    super(503, 'service_unavailable', message, {
      cause,
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    });
  }
}
