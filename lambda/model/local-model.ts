/**
 * The model of local mode (`npm run local`, DESIGN.md section 2): a deterministic STAND-IN,
 * not a language model. It calls nothing, generates nothing, and says so in every reply
 * and in its label, so nobody mistakes its output for a model's. It exists so the whole
 * pipeline (limits, guardrails, encryption, audit, UI) runs offline and reproducibly.
 *
 * The reply is a function of the request alone (no clock, no randomness): counts of the
 * conversation, a short fingerprint of it, and an echo of the last user turn. The echo is
 * deliberate: it lets the local output guardrail be exercised (a PII-bearing prompt comes
 * back in the reply). The system prompt is never echoed, so its canary never leaks.
 *
 * Token counts use a documented estimate, {@link estimateLocalTokens}; Bedrock and the
 * local policy engine see no difference in shape, and the same errors as the Bedrock
 * adapter are thrown for requests Converse would refuse.
 */
import { createHash } from 'node:crypto';
import type { ChatModel, ModelReply, ModelRequest } from '../chat/ports';
import { ModelUnavailableError } from './errors';
import type { ModelStreamEvent, StreamingChatModel } from './streaming';

/** Label of the stand-in, shown to users next to every reply. */
export const LOCAL_MODEL_LABEL = 'Local stand-in (deterministic, not an AI model)';

/** Characters per token of the estimate. */
const CHARS_PER_TOKEN = 4;

/** Longest part of the last user turn echoed back, in characters (by default). */
export const ECHO_CHARS = 280;

/**
 * Estimated tokens of a text: one per four Unicode code points, rounded up. Four characters
 * per token is the rule of thumb model vendors give for English; it is only an estimate,
 * used for usage figures and the daily budget in local mode.
 */
export function estimateLocalTokens(text: string): number {
  return Math.ceil([...text].length / CHARS_PER_TOKEN);
}

function refuse(message: string): never {
  // What Bedrock answers with ValidationException; the adapter maps that the same way.
  throw new ModelUnavailableError('misconfigured', 30, new Error(message));
}

function validate(request: ModelRequest): void {
  if (!Number.isInteger(request.maxOutputTokens) || request.maxOutputTokens < 1) {
    refuse('maxOutputTokens must be a positive integer.');
  }
  if (request.messages.length === 0 || request.messages[0]?.role !== 'user') {
    refuse('A conversation must start with a user message.');
  }
  if (request.messages.at(-1)?.role !== 'user') refuse('The last message must be from the user.');
  if (request.messages.some((message) => message.text.length === 0)) refuse('A message is empty.');
}

/** A stable fingerprint of the conversation, so equal requests visibly get equal replies. */
function fingerprint(request: ModelRequest): string {
  const canonical = JSON.stringify(request.messages.map((message) => [message.role, message.text]));
  return createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, 12);
}

function words(text: string): number {
  return text.split(/\s+/u).filter(Boolean).length;
}

/** The full reply before the output limit is applied. */
function composeReply(request: ModelRequest, echoChars: number): string {
  const last = request.messages.at(-1)?.text ?? '';
  const earlier = request.messages.length - 1;
  const earlierFromUser = request.messages.slice(0, -1).filter((message) => message.role === 'user').length;
  const characters = [...last].length;
  const echo = characters > echoChars ? `${[...last].slice(0, echoChars).join('')}…` : last;
  return [
    '[Local stand-in: no AI model was called; this reply is computed from your message.]',
    `Your message has ${words(last)} words and ${characters} characters.`,
    `The conversation has ${earlier} earlier turns (${earlierFromUser} from you).`,
    `Requested model: ${request.modelId}. Fingerprint: ${fingerprint(request)}.`,
    `You wrote: "${echo}"`,
  ].join('\n');
}

/** The stand-in's whole answer to a request (validated; cut at the output limit). */
function answer(request: ModelRequest, echoChars: number): ModelReply {
  validate(request);
  const full = composeReply(request, echoChars);
  // Cut at a code-point boundary so the estimate of the cut text never exceeds the limit.
  const limit = request.maxOutputTokens * CHARS_PER_TOKEN;
  const points = [...full];
  const cut = points.length > limit;
  const text = cut ? points.slice(0, limit).join('') : full;
  const prompt = [request.system, ...request.messages.map((message) => message.text)];
  return {
    text,
    inputTokens: prompt.reduce((sum, part) => sum + estimateLocalTokens(part), 0),
    outputTokens: estimateLocalTokens(text),
    stopReason: cut ? 'max_tokens' : 'end_turn',
    guardrail: { action: 'none' },
  };
}

/** Options of both stand-ins. */
export interface LocalModelOptions {
  /**
   * Longest part of the last user turn echoed back (default {@link ECHO_CHARS}); the benchmark
   * raises it to get a reply of a chosen length.
   */
  readonly echoChars?: number;
}

function echoCharsOf(options: LocalModelOptions): number {
  const echoChars = options.echoChars ?? ECHO_CHARS;
  if (!Number.isInteger(echoChars) || echoChars < 0) throw new Error('echoChars must be an integer >= 0.');
  return echoChars;
}

/** The deterministic local stand-in model (local mode only). Its label is fixed on purpose. */
export function createLocalChatModel(options: LocalModelOptions = {}): ChatModel {
  const echoChars = echoCharsOf(options);
  return {
    label: LOCAL_MODEL_LABEL,
    async converse(request: ModelRequest): Promise<ModelReply> {
      if (request.signal?.aborted) {
        throw new ModelUnavailableError('timeout', 2, request.signal.reason);
      }
      return answer(request, echoChars);
    },
  };
}

/** Options of {@link createLocalStreamingChatModel}. */
export interface LocalStreamingOptions extends LocalModelOptions {
  /** Characters per delta (default 40, cut at code-point boundaries). */
  readonly chunkChars?: number;
  /** Wait before each delta in milliseconds (default 0; the bench uses 40 to imitate a model). */
  readonly chunkDelayMs?: number;
}

/** Resolves after `ms`, or rejects as the port does when `signal` aborts first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(new ModelUnavailableError('timeout', 2, signal.reason));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ModelUnavailableError('timeout', 2, signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The stand-in, streaming: the same reply as {@link createLocalChatModel}, in deltas of
 * `chunkChars` characters with `chunkDelayMs` before each. An abort stops it between deltas
 * (no further delta is produced) with the same error as the whole-reply stand-in.
 */
export function createLocalStreamingChatModel(options: LocalStreamingOptions = {}): StreamingChatModel {
  const chunkChars = options.chunkChars ?? 40;
  const chunkDelayMs = options.chunkDelayMs ?? 0;
  const echoChars = echoCharsOf(options);
  if (!Number.isInteger(chunkChars) || chunkChars < 1)
    throw new Error('chunkChars must be a positive integer.');
  if (!Number.isFinite(chunkDelayMs) || chunkDelayMs < 0) throw new Error('chunkDelayMs must be >= 0.');
  return {
    label: LOCAL_MODEL_LABEL,
    async *converseStream(request: ModelRequest): AsyncIterable<ModelStreamEvent> {
      if (request.signal?.aborted) throw new ModelUnavailableError('timeout', 2, request.signal.reason);
      const reply = answer(request, echoChars);
      const points = [...reply.text];
      for (let at = 0; at < points.length; at += chunkChars) {
        await pause(chunkDelayMs, request.signal);
        yield { type: 'delta', text: points.slice(at, at + chunkChars).join('') };
      }
      yield {
        type: 'end',
        inputTokens: reply.inputTokens,
        outputTokens: reply.outputTokens,
        stopReason: reply.stopReason,
        guardrail: { action: 'none' },
      };
    },
  };
}
