/**
 * The chat pipeline with the reply streamed (issue 20): the same named steps as the whole-reply
 * pipeline (./chat-service.ts: validation, rate limit, ownership, input guardrail, history,
 * token reservation, the fail-closed audit of the model call, the Bedrock guardrail's verdict,
 * seal + audit + persist), with the model's text passed through the streaming output guard
 * (./stream-output-guard.ts) so that nothing reaches the client the output checks have not
 * seen whole.
 *
 * Everything that can refuse a request (bad input, 429, a conversation not found, a blocked
 * prompt, the budget, the audit trail) happens before {@link ChatStreamSink.open}, so the
 * transport answers those with the same status and JSON error as today. After `open` the
 * pipeline never throws: it returns how the stream ended (done, blocked, error, aborted).
 *
 * A model without `converseStream` (a whole-reply adapter) is called with `converse`, and its
 * reply goes through the same guard and out as one `delta`: the client then sees the text only
 * once the whole reply is there, but the contract, the checks and the bookkeeping are the same.
 */
import type { GuardrailDecision } from '../audit/event';
import { AUDIT_LIMITS } from '../audit/event';
import type { Principal } from '../auth/principal';
import { isStreamingChatModel, type ModelEndEvent, type ModelStreamEvent } from '../model/streaming';
import { GuardrailBlockedError, OmniChatError, RateLimitedError } from '../shared/errors';
import {
  auditModelCall,
  type ChatDeps,
  type ChatInput,
  type ChatRequest,
  type ChatResult,
  chatHeaders,
  countDecisions,
  estimateTokens,
  MODEL_TIMEOUT_MS,
  type ModelCall,
  prepareModelCall,
  type RequestMeta,
  screenModelGuardrail,
  sealAuditAndPersist,
  startRequest,
  withheldReply,
} from './chat-service';
import type { ChatModel, ModelMessage, ModelReply, ModelRequest } from './ports';
import { createStreamOutputGuard } from './stream-output-guard';

/**
 * New text the output guard waits for between commits after the first (its default is half the
 * hold-back, 74). Every check has a fixed cost (the system-prompt leak check), so committing
 * every 256 characters instead runs far fewer checks on a 2,000-character reply (23 instead of
 * 68, counted with the 149-character hold-back) for a first delta just as early;
 * later deltas come in larger pieces.
 */
export const STREAM_COMMIT_STEP_CHARS = 256;

/** The `meta` event: what the reply belongs to. */
export interface ChatStreamMeta {
  readonly conversationId: string;
  readonly modelId: string;
  /** The model's label, as the whole reply's `model`. */
  readonly model: string;
}

/** The `done` event: the whole reply's body without its text (the deltas carried it). */
export type ChatStreamDone = Omit<ChatResult['body'], 'reply'>;

/** Where the pipeline sends what the client may see. */
export interface ChatStreamSink {
  /** The request is admitted and its model call audited: answer 200 with `headers`, then `meta`. */
  open(headers: Readonly<Record<string, string>>, meta: ChatStreamMeta): void;
  /** Checked reply text, in order. */
  delta(text: string): void;
}

/** How a stream ended (after {@link ChatStreamSink.open}). */
export type ChatStreamEnd =
  | { readonly type: 'done'; readonly done: ChatStreamDone }
  /** A guardrail withheld the reply: the client drops what it showed. */
  | { readonly type: 'blocked'; readonly error: GuardrailBlockedError }
  /** The model, the store, the keys or the audit trail failed: nothing was stored. */
  | { readonly type: 'error'; readonly error: unknown }
  /** The client went away: the model call was stopped and the tokens settled. */
  | { readonly type: 'aborted' };

/**
 * Runs one chat request with a streamed reply. Throws (before `sink.open`) what the whole-reply
 * pipeline throws before its model call; after `open`, resolves to how the stream ended.
 */
export async function chatStream(
  principal: Principal,
  input: ChatInput,
  meta: RequestMeta,
  deps: ChatDeps,
  sink: ChatStreamSink,
  signal: AbortSignal,
): Promise<ChatStreamEnd> {
  const request = await startRequest(principal, meta, deps);
  const { rate, call, history } = await prepareModelCall(request, input);
  if (signal.aborted) {
    // Gone before the model was called: nothing was used.
    await deps.limits.settleTokens(principal.sub, call.reserved, 0).catch(() => undefined);
    return { type: 'aborted' };
  }
  await auditModelCall(request, call);
  sink.open(chatHeaders(rate, call), {
    conversationId: call.conversationId,
    modelId: call.modelId,
    model: deps.model.label,
  });
  try {
    return await streamReply(request, call, history, sink, signal);
  } catch (error) {
    return { type: 'error', error };
  }
}

/** The model's events: its stream, or its whole reply as one delta. */
async function* modelEvents(model: ChatModel, request: ModelRequest): AsyncIterable<ModelStreamEvent> {
  if (isStreamingChatModel(model)) {
    yield* model.converseStream(request);
    return;
  }
  const reply = await model.converse(request);
  if (reply.text !== '') yield { type: 'delta', text: reply.text };
  yield {
    type: 'end',
    inputTokens: reply.inputTokens,
    outputTokens: reply.outputTokens,
    stopReason: reply.stopReason,
    guardrail: reply.guardrail,
  };
}

/**
 * Usage charged for a call that ended without the model's own figures (stopped by a block, the
 * client or a failure mid-stream): the reservation's estimate of the input plus an estimate of
 * the text received, never more than was reserved. Nothing received: nothing charged, as the
 * whole-reply path refunds a failed call.
 */
function estimatedUsage(
  call: ModelCall,
  maxOutputTokens: number,
  received: string,
): { inputTokens: number; outputTokens: number } {
  if (received === '') return { inputTokens: 0, outputTokens: 0 };
  const inputTokens = Math.max(0, call.reserved - maxOutputTokens);
  const outputTokens = Math.min(maxOutputTokens, estimateTokens(received), call.reserved - inputTokens);
  return { inputTokens, outputTokens };
}

const total = (usage: { inputTokens: number; outputTokens: number }) =>
  usage.inputTokens + usage.outputTokens;

/** 7b-12 of the streaming pipeline: the model call through the guard, then seal, audit, persist. */
async function streamReply(
  request: ChatRequest,
  call: ModelCall,
  history: readonly ModelMessage[],
  sink: ChatStreamSink,
  signal: AbortSignal,
): Promise<ChatStreamEnd> {
  const { deps, principal, settings, audit } = request;
  const { resource, prompt, modelId, reserved } = call;
  const stop = new AbortController();
  const modelSignal = AbortSignal.any([
    signal,
    stop.signal,
    AbortSignal.timeout(deps.modelTimeoutMs ?? MODEL_TIMEOUT_MS),
  ]);
  const guard = createStreamOutputGuard(
    (text) => deps.guard.checkOutput(text, { canary: call.canary, systemPrompt: call.systemPrompt }),
    { commitStepChars: STREAM_COMMIT_STEP_CHARS },
  );
  const settle = (used: number) => deps.limits.settleTokens(principal.sub, reserved, used);
  // A whole-reply model's text is checked as one delta and sent as one, once it passed.
  const whole = !isStreamingChatModel(deps.model);
  let held = '';
  const send = (text: string): void => {
    if (text === '') return;
    if (whole) held += text;
    else sink.delta(text);
  };

  let received = '';
  let end: ModelEndEvent | undefined;
  let blocked: readonly GuardrailDecision[] | undefined;
  try {
    const events = modelEvents(deps.model, {
      modelId,
      system: call.systemPrompt,
      messages: [...history, { role: 'user', text: prompt }],
      maxOutputTokens: settings.maxOutputTokens,
      signal: modelSignal,
    });
    for await (const event of events) {
      if (event.type === 'end') {
        end = event;
        continue;
      }
      received += event.text;
      const step = guard.push(event.text);
      if (step.type === 'blocked') {
        blocked = step.findings;
        // Leaving the loop returns the model's iterator, which closes its stream; the abort
        // stops a call that is between events.
        stop.abort();
        break;
      }
      send(step.text);
    }
    if (blocked === undefined && end === undefined) {
      throw new Error('The model stream ended without an end event.');
    }
  } catch (error) {
    const clientGone = signal.aborted;
    await settle(total(estimatedUsage(call, settings.maxOutputTokens, received))).catch(() => undefined);
    if (!clientGone) {
      deps.metrics.count(error instanceof RateLimitedError ? 'BedrockThrottled' : 'BedrockError');
    }
    await audit('failure', {
      resource,
      prompt,
      modelId,
      reason: clientGone
        ? 'client_disconnected'
        : error instanceof OmniChatError
          ? error.code
          : 'model_error',
    }).catch(() => undefined);
    return clientGone ? { type: 'aborted' } : { type: 'error', error };
  }

  if (blocked !== undefined) {
    const used = estimatedUsage(call, settings.maxOutputTokens, received);
    await settle(total(used)).catch(() => undefined);
    return withheld(request, call, received, used, blocked, guard.result().findings);
  }
  // The loop ended with the model's end event.
  const last = end as ModelEndEvent;
  const usage = { inputTokens: last.inputTokens, outputTokens: last.outputTokens };
  await settle(usage.inputTokens + usage.outputTokens);
  deps.metrics.count('TokensUsed', { modelId }, usage.inputTokens + usage.outputTokens);
  const reply: ModelReply = {
    text: received,
    ...usage,
    stopReason: last.stopReason,
    guardrail: last.guardrail,
  };
  let bedrockMasks: readonly GuardrailDecision[];
  try {
    bedrockMasks = await screenModelGuardrail(request, call, reply);
  } catch (error) {
    if (error instanceof GuardrailBlockedError) return { type: 'blocked', error };
    throw error;
  }
  const rest = guard.finish();
  if (rest.type === 'blocked') {
    return withheld(request, call, received, usage, rest.findings, guard.result().findings, bedrockMasks);
  }
  send(rest.text);
  if (held !== '') sink.delta(held);

  const outcome = guard.result();
  countDecisions(deps.metrics, outcome.findings);
  const masked = call.inputVerdict.action === 'MASK' || outcome.action === 'MASK' || bedrockMasks.length > 0;
  const findings = [...call.inputVerdict.findings, ...bedrockMasks, ...outcome.findings].slice(
    0,
    AUDIT_LIMITS.guardrailDecisions,
  );
  // The stored turn and the audit event describe the reply the client received.
  const turnId = await sealAuditAndPersist(request, call, reply, outcome.text, findings, masked);
  return {
    type: 'done',
    done: {
      conversationId: call.conversationId,
      turnId,
      modelId,
      model: deps.model.label,
      usage,
      guardrail: masked ? 'mask' : 'allow',
    },
  };
}

/** A reply the output guard stopped: audited as blocked, as the whole-reply path does. */
async function withheld(
  request: ChatRequest,
  call: ModelCall,
  received: string,
  usage: { inputTokens: number; outputTokens: number },
  blockFindings: readonly GuardrailDecision[],
  guardFindings: readonly GuardrailDecision[],
  bedrockMasks: readonly GuardrailDecision[] = [],
): Promise<ChatStreamEnd> {
  countDecisions(request.deps.metrics, guardFindings);
  const findings = [...call.inputVerdict.findings, ...bedrockMasks, ...guardFindings].slice(
    0,
    AUDIT_LIMITS.guardrailDecisions,
  );
  const error = await withheldReply(request, call, { text: received, ...usage }, blockFindings, findings);
  return { type: 'blocked', error };
}
