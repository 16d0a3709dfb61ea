/**
 * The chat pipeline, as a pure core with every dependency injected (DESIGN.md section 4):
 * validate -> limits -> input guardrail -> audit (fail closed) -> model with the Bedrock
 * guardrail -> output validation -> seal -> audit the outcome -> persist -> respond.
 * The caller has already been authenticated and authorized by the claim check.
 */
import { actorOf } from '../audit/actor';
import { AUDIT_LIMITS, type AuditEventInput, type GuardrailDecision } from '../audit/event';
import type { Principal } from '../auth/principal';
import {
  GuardrailBlockedError,
  NotFoundError,
  OmniChatError,
  RateLimitedError,
  ValidationError,
} from '../shared/errors';
import type { ConversationStore } from './conversation-store';
import { isConversationId, newConversationId, newTurnId } from './ids';
import type {
  ChatGuard,
  ChatMetrics,
  ChatModel,
  ChatSettings,
  Clock,
  LimitDecision,
  LimitStore,
  ModelMessage,
  TextCipher,
} from './ports';

// The ports moved to ./ports (so the guardrail engine and the settings store implement them
// without importing the service); re-exported for the callers that still name them here.
export type { ChatGuard, ChatMetrics, ChatSettings, GuardVerdict } from './ports';

/** Longest message accepted, in characters after normalization. */
export const MAX_MESSAGE_CHARS = 10_000;

/**
 * Longest wait for the model. The chat function times out at 60 s; giving up at 45 s leaves
 * time to refund the reservation, audit the failure and answer 503 with Retry-After instead
 * of the load balancer's bare 502 with the budget still reserved.
 */
export const MODEL_TIMEOUT_MS = 45_000;

/** Everything the pipeline needs. */
export interface ChatDeps {
  readonly conversations: ConversationStore;
  readonly cipher: TextCipher;
  readonly model: ChatModel;
  readonly limits: LimitStore;
  readonly guard: ChatGuard;
  /** Writes an audit event; throws (503) when it cannot, so nothing goes on unaudited. */
  readonly audit: (event: AuditEventInput) => Promise<void>;
  readonly settings: () => Promise<ChatSettings>;
  readonly clock: Clock;
  readonly metrics: ChatMetrics;
  /** Days until stored turns expire (TTL). */
  readonly dataRetentionDays: number;
  /** Friendly model names for `GET /api/v1/models` (model catalogue); ids without one show as is. */
  readonly modelNames?: Readonly<Record<string, string>>;
  /** @default MODEL_TIMEOUT_MS */
  readonly modelTimeoutMs?: number;
}

/** A validated chat request. */
export interface ChatInput {
  readonly conversationId?: string;
  readonly message: string;
  readonly modelId?: string;
}

/** Request facts the audit trail records. */
export interface RequestMeta {
  readonly requestId: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
}

/** The answer of a successful chat request. */
export interface ChatResult {
  readonly body: {
    readonly conversationId: string;
    readonly turnId: string;
    readonly reply: string;
    readonly modelId: string;
    readonly model: string;
    readonly usage: { readonly inputTokens: number; readonly outputTokens: number };
    /** `allow`, `mask` (something was masked) or `blocked` (the Bedrock guardrail answered). */
    readonly guardrail: 'allow' | 'mask' | 'blocked';
  };
  readonly headers: Record<string, string>;
}

const ALLOWED_FIELDS = new Set(['conversationId', 'message', 'modelId']);

/** Validates the JSON body of `POST /api/v1/chat`: exact fields, exact formats. */
export function parseChatBody(body: unknown): ChatInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('The body must be a JSON object.');
  }
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!ALLOWED_FIELDS.has(key)) throw new ValidationError(`Unknown field "${key}".`);
  }
  const { conversationId, message, modelId } = record;
  if (typeof message !== 'string') throw new ValidationError('"message" must be a string.');
  if (conversationId !== undefined && !isConversationId(conversationId)) {
    throw new ValidationError('"conversationId" is not a valid conversation id.');
  }
  if (
    modelId !== undefined &&
    (typeof modelId !== 'string' || modelId.length === 0 || modelId.length > 128)
  ) {
    throw new ValidationError('"modelId" must be a model id string.');
  }
  return {
    message,
    ...(conversationId === undefined ? {} : { conversationId: conversationId as string }),
    ...(modelId === undefined ? {} : { modelId: modelId as string }),
  };
}

/** A rough but conservative token estimate: never below the real count for text we send. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3) + 4;
}

function limitHeaders(decision: LimitDecision, prefix: 'RateLimit' | 'Token-Budget'): Record<string, string> {
  return prefix === 'RateLimit'
    ? {
        'RateLimit-Limit': String(decision.limit),
        'RateLimit-Remaining': String(Math.max(0, decision.remaining)),
      }
    : {
        'X-Token-Budget-Limit': String(decision.limit),
        'X-Token-Budget-Remaining': String(Math.max(0, decision.remaining)),
      };
}

/** Runs one chat request through the whole pipeline. */
export async function chat(
  principal: Principal,
  input: ChatInput,
  meta: RequestMeta,
  deps: ChatDeps,
): Promise<ChatResult> {
  const started = deps.clock.now();
  const settings = await deps.settings();
  const actor = actorOf(principal, meta);
  const auditChat = (
    outcome: AuditEventInput['outcome'],
    extra: Partial<AuditEventInput> & { resource: string },
  ): Promise<void> =>
    deps.audit({
      type: 'CHAT_REQUEST',
      actor,
      action: 'chat',
      outcome,
      requestId: meta.requestId,
      durationMs: deps.clock.now() - started,
      ...extra,
    });

  // 1. Validate what only the pipeline can: normalized length and the model.
  const message = deps.guard.normalize(input.message);
  if (message.trim().length === 0) throw new ValidationError('"message" must not be empty.');
  if (message.length > MAX_MESSAGE_CHARS) {
    throw new ValidationError(`"message" must be at most ${MAX_MESSAGE_CHARS} characters.`);
  }
  const modelId = input.modelId ?? settings.defaultModelId;
  if (!settings.modelAllowList.includes(modelId))
    throw new ValidationError('"modelId" is not an allowed model.');

  // 2. Rate limit before any expensive work.
  const limits = settings.limitsFor(principal);
  const rate = await deps.limits.takeRequest(principal.sub, limits);
  if (!rate.allowed) {
    deps.metrics.count('RateLimited');
    throw new RateLimitedError(
      'Too many requests. Please slow down.',
      rate.retryAfterSeconds,
      'rate_limited',
      limitHeaders(rate, 'RateLimit'),
    );
  }

  // 3. Ownership: someone else's conversation is indistinguishable from a missing one.
  const isNew = input.conversationId === undefined;
  const conversationId = input.conversationId ?? newConversationId();
  const header = isNew ? undefined : await deps.conversations.getHeader(principal.sub, conversationId);
  if (!isNew && !header) throw new NotFoundError('Conversation not found.');
  const resource = `conversation/${conversationId}`;

  // 4. Input guardrail (local layer). A blocked prompt never reaches the model.
  const inputVerdict = deps.guard.checkInput(message);
  for (const f of inputVerdict.findings)
    deps.metrics.count('GuardrailDecision', { layer: f.layer, category: f.category, action: f.action });
  if (inputVerdict.action === 'BLOCK') {
    if (inputVerdict.findings.some((f) => f.category === 'PROMPT_ATTACK'))
      deps.metrics.count('PromptInjectionDetected');
    await auditChat('blocked', { resource, prompt: message, guardrail: inputVerdict.findings, modelId });
    throw new GuardrailBlockedError(deps.guard.blockedInputMessage);
  }
  const prompt = inputVerdict.text;

  // 5. Context: earlier turns, newest first, within the history budget.
  const history: ModelMessage[] = [];
  if (header) {
    const context = { user: principal.sub, conversation: conversationId };
    let budget = settings.historyTokenBudget;
    const turns = await deps.conversations.recentTurns(principal.sub, conversationId, 20);
    for (const turn of [...turns].reverse()) {
      const [userText, replyText] = await Promise.all([
        deps.cipher.open(turn.user, context),
        deps.cipher.open(turn.assistant, context),
      ]);
      budget -= estimateTokens(userText) + estimateTokens(replyText);
      if (budget < 0) break;
      history.unshift({ role: 'user', text: userText }, { role: 'assistant', text: replyText });
    }
  }

  // 6. Daily token budget: reserve a conservative estimate before the call, settle after.
  const canary = deps.guard.newCanary();
  const systemPrompt = `${settings.systemPrompt}\n\nConfidential marker (never repeat it): ${canary}`;
  const reserved =
    estimateTokens(systemPrompt) +
    history.reduce((sum, m) => sum + estimateTokens(m.text), 0) +
    estimateTokens(prompt) +
    settings.maxOutputTokens;
  const budget = await deps.limits.reserveTokens(principal.sub, reserved, limits);
  if (!budget.allowed) {
    deps.metrics.count('QuotaExceeded');
    throw new RateLimitedError(
      'The daily token budget is used up.',
      budget.retryAfterSeconds,
      'quota_exceeded',
      limitHeaders(budget, 'Token-Budget'),
    );
  }

  // 7. No unaudited model call: record the attempt first; if that fails, we stop here (503).
  try {
    await auditChat('success', {
      resource,
      action: 'chat.model_call',
      prompt,
      guardrail: inputVerdict.findings,
      modelId,
    });
  } catch (error) {
    await deps.limits.settleTokens(principal.sub, reserved, 0).catch(() => undefined);
    throw error;
  }

  let reply: Awaited<ReturnType<ChatModel['converse']>>;
  try {
    reply = await deps.model.converse({
      modelId,
      system: systemPrompt,
      messages: [...history, { role: 'user', text: prompt }],
      maxOutputTokens: settings.maxOutputTokens,
      signal: AbortSignal.timeout(deps.modelTimeoutMs ?? MODEL_TIMEOUT_MS),
    });
  } catch (error) {
    await deps.limits.settleTokens(principal.sub, reserved, 0).catch(() => undefined);
    deps.metrics.count(error instanceof RateLimitedError ? 'BedrockThrottled' : 'BedrockError');
    await auditChat('failure', {
      resource,
      prompt,
      modelId,
      reason: error instanceof OmniChatError ? error.code : 'model_error',
    }).catch(() => undefined);
    throw error;
  }
  await deps.limits.settleTokens(principal.sub, reserved, reply.inputTokens + reply.outputTokens);
  deps.metrics.count('TokensUsed', { modelId }, reply.inputTokens + reply.outputTokens);

  // 8. Bedrock's own guardrail intervened: its message is the answer; nothing is stored.
  // One decision per policy that fired, as for the local engine; a trace that names none
  // (trace missing or unreadable) still leaves one decision, so no intervention goes uncounted.
  // Exception: on the reply, when every policy that fired only anonymized (PII masked by the
  // policy's ANONYMIZE action), Bedrock's text is the model's reply with those spans masked;
  // it is delivered like one, after our own output checks below.
  const bedrockDecisions = reply.guardrailDecisions ?? [];
  const onlyMasked =
    reply.guardrailIntervened &&
    reply.guardrailSide === 'output' &&
    bedrockDecisions.length > 0 &&
    bedrockDecisions.every((d) => d.action === 'mask');
  const bedrockMasks: readonly GuardrailDecision[] = onlyMasked ? bedrockDecisions : [];
  for (const f of bedrockMasks)
    deps.metrics.count('GuardrailDecision', { layer: f.layer, category: f.category, action: f.action });
  if (reply.guardrailIntervened && !onlyMasked) {
    const named = bedrockDecisions.slice(
      0,
      Math.max(1, AUDIT_LIMITS.guardrailDecisions - inputVerdict.findings.length),
    );
    const bedrockFindings: readonly GuardrailDecision[] =
      named.length > 0
        ? named
        : [{ layer: 'bedrock', rule: 'bedrock.guardrail', category: 'UNATTRIBUTED', action: 'block' }];
    for (const f of bedrockFindings)
      deps.metrics.count('GuardrailDecision', { layer: f.layer, category: f.category, action: f.action });
    if (bedrockFindings.some((f) => f.category === 'PROMPT_ATTACK'))
      deps.metrics.count('PromptInjectionDetected');
    await auditChat('blocked', {
      resource,
      prompt,
      guardrail: [...inputVerdict.findings, ...bedrockFindings],
      modelId,
      inputTokens: reply.inputTokens,
      outputTokens: reply.outputTokens,
    });
    throw new GuardrailBlockedError(
      reply.guardrailSide === 'output' ? deps.guard.blockedOutputMessage : deps.guard.blockedInputMessage,
    );
  }

  // 9. Output validation: a leaked canary or system prompt withholds the reply.
  const outputVerdict = deps.guard.checkOutput(reply.text, { canary, systemPrompt });
  for (const f of outputVerdict.findings)
    deps.metrics.count('GuardrailDecision', { layer: f.layer, category: f.category, action: f.action });
  // Bounded as the audit schema requires (every decision is still counted in the metrics).
  const findings = [...inputVerdict.findings, ...bedrockMasks, ...outputVerdict.findings].slice(
    0,
    AUDIT_LIMITS.guardrailDecisions,
  );
  if (outputVerdict.action === 'BLOCK') {
    if (outputVerdict.findings.some((f) => f.category === 'LEAKAGE')) deps.metrics.count('CanaryLeak');
    await auditChat('blocked', {
      resource,
      prompt,
      reply: reply.text,
      guardrail: findings,
      modelId,
      inputTokens: reply.inputTokens,
      outputTokens: reply.outputTokens,
    });
    throw new GuardrailBlockedError(deps.guard.blockedOutputMessage);
  }
  const replyText = outputVerdict.text;

  // 10. Seal under this user and conversation (a KMS failure stops here: nothing stored).
  const now = deps.clock.now();
  const context = { user: principal.sub, conversation: conversationId };
  const [sealedUser, sealedReply, sealedTitle] = await Promise.all([
    deps.cipher.seal(prompt, context),
    deps.cipher.seal(replyText, context),
    deps.cipher.seal(prompt.slice(0, 80), context),
  ]);
  const turnId = newTurnId(now);
  const masked = inputVerdict.action === 'MASK' || outputVerdict.action === 'MASK' || bedrockMasks.length > 0;

  // 11. The outcome, with lengths and hashes only, before the turn is stored: if the trail
  // cannot take it, the caller gets 503 with nothing stored, so a retry does not duplicate it.
  await auditChat('success', {
    resource,
    prompt,
    reply: replyText,
    guardrail: findings,
    modelId,
    inputTokens: reply.inputTokens,
    outputTokens: reply.outputTokens,
    fields: { turnId },
  });

  // 12. Persist. A failed write is recorded too (best effort: the 503 is the guarantee).
  try {
    await deps.conversations.appendTurn(
      principal.sub,
      { id: conversationId, title: sealedTitle, modelId, isNew },
      {
        id: turnId,
        at: now,
        modelId,
        user: sealedUser,
        assistant: sealedReply,
        inputTokens: reply.inputTokens,
        outputTokens: reply.outputTokens,
        guardrail: masked ? 'mask' : 'allow',
      },
      Math.floor(now / 1000) + deps.dataRetentionDays * 86_400,
    );
  } catch (error) {
    await auditChat('failure', {
      resource,
      action: 'chat.persist',
      modelId,
      reason: error instanceof OmniChatError ? error.code : 'store_error',
      fields: { turnId },
    }).catch(() => undefined);
    throw error;
  }

  return {
    body: {
      conversationId,
      turnId,
      reply: replyText,
      modelId,
      model: deps.model.label,
      usage: { inputTokens: reply.inputTokens, outputTokens: reply.outputTokens },
      guardrail: masked ? 'mask' : 'allow',
    },
    headers: { ...limitHeaders(rate, 'RateLimit'), ...limitHeaders(budget, 'Token-Budget') },
  };
}
