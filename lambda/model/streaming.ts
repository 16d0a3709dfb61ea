/**
 * The streaming side of the model port (issue 20, item 4), kept apart from `chat/ports.ts`
 * until the composition root (issue 16) settles where ports live: a model that yields its
 * reply as text deltas and ends with the usage and the Bedrock guardrail's verdict.
 *
 * Adapters: the local stand-in ({@link createLocalStreamingChatModel} in `local-model.ts`)
 * and Bedrock ConverseStream ({@link createBedrockStreamingChatModel} in
 * `bedrock-converse-stream-model.ts`). Both throw the port's `ModelThrottledError` /
 * `ModelUnavailableError`, before the first delta or mid-stream, and both stop the model
 * call when the request's `signal` aborts (the client went away, or the time budget ran out).
 */
import type { ChatModel, ModelGuardrailVerdict, ModelRequest } from '../chat/ports';

/** A piece of the reply's text, in order. */
export interface ModelDeltaEvent {
  readonly type: 'delta';
  readonly text: string;
}

/** The last event: usage and what the Bedrock guardrail did (the fields of a whole reply but its text). */
export interface ModelEndEvent {
  readonly type: 'end';
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** `end_turn`, `max_tokens`, `guardrail_intervened`, ... */
  readonly stopReason: string;
  /**
   * What the Bedrock guardrail decided, read by the adapter as for a whole reply; in `sync`
   * stream-processing mode the deltas already sent were scanned before they were sent.
   */
  readonly guardrail: ModelGuardrailVerdict;
}

/** One event of a streamed reply. */
export type ModelStreamEvent = ModelDeltaEvent | ModelEndEvent;

/** A model that streams its reply: zero or more deltas, then exactly one `end`. */
export interface StreamingChatModel {
  /** Label shown to users with each reply. */
  readonly label: string;
  /** Streams the reply; abort `request.signal` to stop the model call. */
  converseStream(request: ModelRequest): AsyncIterable<ModelStreamEvent>;
}

/** Collects a stream into its text and end event (tests, and a whole-reply fallback). */
export async function collectStream(
  stream: AsyncIterable<ModelStreamEvent>,
): Promise<{ text: string; end: ModelEndEvent; deltas: number }> {
  let text = '';
  let deltas = 0;
  let end: ModelEndEvent | undefined;
  for await (const event of stream) {
    if (event.type === 'delta') {
      text += event.text;
      deltas++;
    } else end = event;
  }
  if (end === undefined) throw new Error('The model stream ended without an end event.');
  return { text, end, deltas };
}

/** A model with both calls: the whole reply (`converse`) and the stream (`converseStream`). */
export type ChatModelWithStream = ChatModel & StreamingChatModel;

/** Whether a model can stream (the streaming chat route falls back to one delta when not). */
export function isStreamingChatModel(model: object): model is StreamingChatModel {
  return typeof (model as Partial<StreamingChatModel>).converseStream === 'function';
}

/**
 * One model with both calls, from a whole-reply adapter and a streaming adapter of the same
 * model (same client, guardrail and label), as the chat function is composed with.
 */
export function withStreaming(whole: ChatModel, stream: StreamingChatModel): ChatModelWithStream {
  if (whole.label !== stream.label) {
    throw new Error(`withStreaming: the labels differ ("${whole.label}" / "${stream.label}").`);
  }
  return {
    label: whole.label,
    converse: (request) => whole.converse(request),
    converseStream: (request) => stream.converseStream(request),
  };
}
