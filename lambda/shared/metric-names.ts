/**
 * Every custom metric the Lambda code emits, in namespace `OmniChat`. The monitoring
 * stack alarms on or charts each of them, and a test proves no name is emitted that
 * monitoring does not know, and no alarm watches a name nobody emits.
 */
export const METRIC_NAMESPACE = 'OmniChat';

export const METRICS = {
  /** Authentication failed (bad, expired or missing credentials). */
  AuthFailure: 'AuthFailure',
  /** A valid caller was denied a route. */
  AuthzDenied: 'AuthzDenied',
  /** A prompt was blocked as injection or jailbreak (local engine, or Bedrock's PROMPT_ATTACK filter). */
  PromptInjectionDetected: 'PromptInjectionDetected',
  /** Any guardrail decision (dimensions: layer, category, action). */
  GuardrailDecision: 'GuardrailDecision',
  /** A reply contained the per-request canary or the system prompt (prompt leakage). */
  CanaryLeak: 'CanaryLeak',
  /** The per-user request rate was exceeded. */
  RateLimited: 'RateLimited',
  /** The per-user daily token budget was exceeded. */
  QuotaExceeded: 'QuotaExceeded',
  /** Bedrock throttled a model call. */
  BedrockThrottled: 'BedrockThrottled',
  /** Bedrock failed a model call (timeout, 5xx, validation). */
  BedrockError: 'BedrockError',
  /** Model tokens used (input + output). */
  TokensUsed: 'TokensUsed',
  /** An audit event could not be written (the request failed closed). */
  AuditWriteFailed: 'AuditWriteFailed',
  /** The audit archiver saw a MODIFY or REMOVE on the append-only table. */
  AuditTamperDetected: 'AuditTamperDetected',
  /** Audit events archived to the Object Lock bucket. */
  AuditEventsArchived: 'AuditEventsArchived',
  /** A user exported their data (exfiltration signal when it spikes). */
  DataExport: 'DataExport',
  /** A user erased their data. */
  DataErasure: 'DataErasure',
} as const;

/** A metric name the code may emit. */
export type MetricName = (typeof METRICS)[keyof typeof METRICS];
