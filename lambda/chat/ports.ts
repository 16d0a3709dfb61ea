/**
 * Ports of the chat service: what differs between local, hybrid and AWS mode. The
 * handlers depend only on these interfaces; adapters (DynamoDB, Bedrock, KMS, local
 * files and stand-ins) implement them.
 */
import type { GuardrailDecision } from '../audit/event';
import type { Principal } from '../auth/principal';

/** Time source, injected so limits, TTLs and caches are testable. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** Binding of an encrypted value to its owner: a ciphertext is useless under any other context. */
export interface EncryptionContext {
  readonly user: string;
  readonly conversation: string;
}

/** An encrypted message text, as stored. */
export interface SealedText {
  /** Format version. */
  readonly v: 1;
  /** The data key encrypted under the master key (KMS CiphertextBlob or local wrap), base64. */
  readonly k: string;
  /** AES-GCM IV, base64 (12 bytes). */
  readonly iv: string;
  /** AES-GCM tag, base64 (16 bytes). */
  readonly tag: string;
  /** Ciphertext, base64. */
  readonly ct: string;
}

/**
 * A data key a seal may reuse instead of generating one: the conversation's current key, named
 * by a text sealed under it that this process has just opened under the same context.
 */
export interface DataKeyReuse {
  /** A text sealed under the key; its `k` names the key. */
  readonly sealed: SealedText;
  /** How many texts the key has sealed so far (an upper bound): counts toward `maxKeyUses`. */
  readonly priorUses: number;
}

/** Envelope encryption of message text with data keys bound to an encryption context. */
export interface TextCipher {
  /**
   * Seals under a data key bound to `context`. With `reuse`, seals under that key when this
   * process holds it for the same context and it has uses left; otherwise as without.
   */
  seal(plaintext: string, context: EncryptionContext, reuse?: DataKeyReuse): Promise<SealedText>;
  /** Throws `DecryptionError` when the context does not match or the data was altered. */
  open(sealed: SealedText, context: EncryptionContext): Promise<string>;
}

/** A turn of the conversation as the model sees it. */
export interface ModelMessage {
  readonly role: 'user' | 'assistant';
  readonly text: string;
}

/** What the chat service asks the model. */
export interface ModelRequest {
  readonly modelId: string;
  readonly system: string;
  readonly messages: readonly ModelMessage[];
  readonly maxOutputTokens: number;
  /** Abort when the request's time budget runs out. */
  readonly signal?: AbortSignal;
}

/** What the model answered. */
export interface ModelReply {
  readonly text: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** `guardrail_intervened` when the Bedrock guardrail replaced input or output. */
  readonly stopReason: string;
  /** What the model's own guardrail decided, read from its trace by the adapter. */
  readonly guardrail: ModelGuardrailVerdict;
}

/**
 * The Bedrock guardrail's verdict on one call, as the pipeline acts on it. Decisions are
 * one per fired policy (layer `bedrock`), identifiers only, never matched text.
 */
export type ModelGuardrailVerdict =
  /** Not applied (local stand-in) or did not intervene. */
  | { readonly action: 'none' }
  /**
   * On the reply, every policy that fired only anonymized (the ANONYMIZE action): `text` is
   * the model's reply with those spans masked, to be delivered after our own output checks.
   */
  | { readonly action: 'mask'; readonly decisions: readonly GuardrailDecision[] }
  /**
   * The guardrail replaced the prompt or the reply: `text` is its blocked message. At least
   * one decision (`UNATTRIBUTED` when the trace names none), so no intervention goes uncounted.
   */
  | {
      readonly action: 'block';
      /** Which side, when the trace says so. */
      readonly side?: 'input' | 'output';
      readonly decisions: readonly GuardrailDecision[];
    };

/**
 * The model (Bedrock Converse with our guardrail in AWS and hybrid mode, a deterministic
 * stand-in locally). Throws `ModelThrottledError` or `ModelUnavailableError`.
 */
export interface ChatModel {
  /** Label shown to users, e.g. to mark the local stand-in. */
  readonly label: string;
  converse(request: ModelRequest): Promise<ModelReply>;
}

/** Result of a limit check. */
export interface LimitDecision {
  readonly allowed: boolean;
  /** Seconds until a retry can succeed, when not allowed. */
  readonly retryAfterSeconds: number;
  /** Remaining requests in the bucket / tokens in today's budget (for headers). */
  readonly remaining: number;
  readonly limit: number;
}

/** Per-user limits for one role. */
export interface UserLimits {
  /** Token-bucket capacity (burst) in requests. */
  readonly burst: number;
  /** Refill rate, requests per minute. */
  readonly requestsPerMinute: number;
  /** Daily budget of model tokens (input + output). */
  readonly dailyTokens: number;
}

/**
 * Per-user request rate and daily token budget, enforced with conditional writes so
 * concurrent requests can never exceed them.
 */
export interface LimitStore {
  /** Takes one request from the user's bucket. */
  takeRequest(user: string, limits: UserLimits): Promise<LimitDecision>;
  /** Reserves `tokens` of today's budget before a model call; refused if it would overspend. */
  reserveTokens(user: string, tokens: number, limits: UserLimits): Promise<LimitDecision>;
  /** Settles a reservation with the real usage (refunds the difference, never below zero). */
  settleTokens(user: string, reserved: number, used: number): Promise<void>;
  /** Removes every limit record of the user (erasure). */
  eraseUser(user: string): Promise<void>;
}

/** What a guardrail layer decided about one text. */
export interface GuardVerdict {
  readonly action: 'ALLOW' | 'MASK' | 'BLOCK';
  /** The text to go on with (masked when action is MASK). */
  readonly text: string;
  readonly findings: readonly GuardrailDecision[];
}

/** The local guardrail layers the pipeline calls (the policy engine behind an adapter). */
export interface ChatGuard {
  /** Unicode normalization applied before length checks and detection. */
  normalize(text: string): string;
  checkInput(text: string): GuardVerdict;
  checkOutput(reply: string, context: { canary: string; systemPrompt: string }): GuardVerdict;
  /** A fresh random canary for one request's system prompt. */
  newCanary(): string;
  readonly blockedInputMessage: string;
  readonly blockedOutputMessage: string;
}

/** Runtime settings the pipeline reads (admin-editable, cached by the settings store). */
export interface ChatSettings {
  readonly systemPrompt: string;
  readonly modelAllowList: readonly string[];
  readonly defaultModelId: string;
  readonly maxOutputTokens: number;
  /** Budget (estimated tokens) for earlier turns sent as context. */
  readonly historyTokenBudget: number;
  limitsFor(principal: Principal): UserLimits;
}

/** Counters the pipeline emits (EMF in AWS). */
export interface ChatMetrics {
  count(name: string, dimensions?: Record<string, string>, value?: number): void;
}
