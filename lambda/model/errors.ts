/**
 * Errors of the model domain, named in the `ChatModel` port. Both extend the shared errors
 * the edge already maps, so no edge change is needed.
 *
 * Throttling answers 429 rather than 503. Bedrock's quotas are per account and model, so a
 * throttle means "too many requests right now" exactly as our own limiter does, and a 429
 * with `Retry-After` is what clients and SDKs back off on; the chat service counts it as
 * `BedrockThrottled` (it tests for `RateLimitedError`), which its own alarm watches, while
 * 503s feed the ALB 5xx alarm that should page for outages, not for load. The message is
 * generic and names no quota, model or account.
 */
import { RateLimitedError, ServiceUnavailableError } from '../shared/errors';

/** Bedrock throttled the call (ThrottlingException, ServiceQuotaExceededException): 429. */
export class ModelThrottledError extends RateLimitedError {
  constructor(retryAfterSeconds: number, cause?: unknown) {
    super('The model is busy. Please retry in a few seconds.', retryAfterSeconds);
    // RateLimitedError takes no cause; keep it for the logs all the same.
    if (cause !== undefined) this.cause = cause;
  }
}

/** Why the model could not answer; for logs and metrics, never shown to callers. */
export type ModelFailure = 'unavailable' | 'timeout' | 'misconfigured' | 'model_error';

/**
 * The model could not answer: outage, timeout, or a request Bedrock refused (validation,
 * access, unknown model). All are 503 with a generic message; `reason` and `cause` carry
 * the detail for operators.
 */
export class ModelUnavailableError extends ServiceUnavailableError {
  readonly reason: ModelFailure;

  constructor(reason: ModelFailure, retryAfterSeconds: number, cause?: unknown) {
    super(undefined, retryAfterSeconds, cause);
    this.reason = reason;
  }
}
