/**
 * The one log record of an unexpected error (a bug, or a dependency failure that is not the
 * caller's fault). The caller gets a 500/503 JSON body with only the request id; operators get
 * this record, structured, with what they need to find the fault: request id, function, route,
 * and the error's name, message and stack. Never the request body (prompt), reply, tokens, API
 * keys or cookies: only the error itself is described, and credential-shaped substrings in its
 * message and stack are redacted in case a bug put one there.
 */

/** Where the record goes: the Powertools logger in AWS (its `error(message, attributes)`). */
export interface ErrorLog {
  error(message: string, attributes: Record<string, unknown>): void;
}

/** Where the error happened. */
export interface UnexpectedErrorSite {
  readonly requestId: string;
  readonly functionName?: string;
  readonly method?: string;
  /** The matched route pattern (`GET /api/v1/conversations/{id}`), else the raw path. */
  readonly route?: string;
}

const MAX_MESSAGE_CHARS = 1_000;
const MAX_STACK_CHARS = 4_000;
const MAX_CAUSES = 3;

/**
 * Credential shapes that must never reach a log line: JWTs (three base64url segments starting
 * with `eyJ`), bearer/basic authorization values, our personal API keys (`ak_...`), AWS access
 * key ids, and `name=value` cookie or secret pairs.
 */
const REDACTIONS: readonly RegExp[] = [
  /\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g,
  /\b(Bearer|Basic)\s+[\w.~+/=-]{8,}/gi,
  /\bak_[\w-]{16,}/g,
  /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g,
  /\b(AWSELBAuthSessionCookie-\d+|omnichat_session|cookie|password|secret|token)=[^;\s,"]+/gi,
];

/** The text with credential-shaped substrings replaced, cut to `max` characters. */
export function redactForLog(text: string, max: number): string {
  let out = text.length > max * 2 ? text.slice(0, max * 2) : text;
  for (const pattern of REDACTIONS) out = out.replace(pattern, '[REDACTED]');
  return out.length > max ? `${out.slice(0, max)}...[truncated]` : out;
}

interface DescribedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly status?: number;
  readonly cause?: DescribedError;
}

function describe(error: unknown, depth: number): DescribedError {
  if (!(error instanceof Error)) {
    return { name: typeof error, message: redactForLog(String(error), MAX_MESSAGE_CHARS) };
  }
  const status = (error as { status?: unknown }).status;
  const cause = (error as { cause?: unknown }).cause;
  return {
    name: error.name,
    message: redactForLog(error.message, MAX_MESSAGE_CHARS),
    ...(error.stack ? { stack: redactForLog(error.stack, MAX_STACK_CHARS) } : {}),
    ...(typeof status === 'number' ? { status } : {}),
    ...(cause !== undefined && depth < MAX_CAUSES ? { cause: describe(cause, depth + 1) } : {}),
  };
}

/** Writes the single structured record of one unexpected error. */
export function logUnexpectedError(log: ErrorLog, error: unknown, site: UnexpectedErrorSite): void {
  log.error('Unexpected error', {
    requestId: site.requestId,
    ...(site.functionName ? { functionName: site.functionName } : {}),
    ...(site.method ? { method: site.method } : {}),
    ...(site.route ? { route: site.route } : {}),
    error: describe(error, 0),
  });
}
