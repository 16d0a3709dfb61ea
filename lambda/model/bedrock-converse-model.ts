/**
 * The model in aws and hybrid mode: Bedrock Converse with our guardrail on every call
 * (DESIGN.md section 4). The guardrail runs with `trace: 'enabled'` so we can tell whether
 * it acted on the prompt or on the reply, which decides the message the user sees and the
 * audit finding. Bedrock's errors are mapped here, so no AWS detail reaches a caller.
 */
import {
  type BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandOutput,
  type GuardrailAssessment,
  type GuardrailTraceAssessment,
} from '@aws-sdk/client-bedrock-runtime';
import type { ChatModel, ModelReply, ModelRequest } from '../chat/ports';
import { ModelThrottledError, ModelUnavailableError } from './errors';

/** Options of {@link createBedrockChatModel}. */
export interface BedrockChatModelOptions {
  readonly client: BedrockRuntimeClient;
  /** The Bedrock guardrail applied to every call: id or ARN, and a version (`DRAFT` only for trials). */
  readonly guardrail: { readonly identifier: string; readonly version: string };
  /** Label shown to users with each reply. */
  readonly label: string;
}

const GUARDRAIL_VERSION = /^(DRAFT|[1-9][0-9]{0,7})$/;

/** Guardrail actions that mean it changed the text (blocked it or masked part of it). */
const BLOCKING = new Set(['BLOCKED']);
const MASKING = new Set(['ANONYMIZED']);

/** Bedrock error names, by how we answer them. */
const THROTTLED: Record<string, number> = {
  ThrottlingException: 2,
  // Token quotas are per minute: asking again within seconds would only fail again.
  ServiceQuotaExceededException: 30,
};
const TRANSIENT = new Set([
  'ServiceUnavailableException',
  'InternalServerException',
  'ModelNotReadyException',
]);
const TIMEOUTS = new Set(['ModelTimeoutException', 'TimeoutError', 'AbortError', 'RequestTimeout']);
const MISCONFIGURED = new Set([
  'ValidationException',
  'AccessDeniedException',
  'ResourceNotFoundException',
  'UnrecognizedClientException',
  'ConflictException',
]);

/**
 * A connection that failed before Bedrock answered: a socket error (`ECONNREFUSED`, ...) or
 * an HTTP/2 session error, on the error or anywhere in its cause chain (the HTTP/2 handler
 * wraps the socket error).
 */
function isTransportFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|ERR_HTTP2_[A-Z_]+|ERR_STREAM_[A-Z_]+)$/.test(code))
      return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Maps a Bedrock or transport error to the model errors of the port. */
export function mapConverseError(error: unknown): ModelThrottledError | ModelUnavailableError {
  const name = error instanceof Error ? error.name : '';
  const throttledFor = THROTTLED[name];
  if (throttledFor !== undefined) return new ModelThrottledError(throttledFor, error);
  if (TIMEOUTS.has(name)) return new ModelUnavailableError('timeout', 2, error);
  if (TRANSIENT.has(name) || isTransportFailure(error))
    return new ModelUnavailableError('unavailable', 2, error);
  // Refused requests will fail again until someone fixes the deployment: a longer pause.
  if (MISCONFIGURED.has(name)) return new ModelUnavailableError('misconfigured', 30, error);
  return new ModelUnavailableError('model_error', 5, error);
}

/** The `action` values anywhere in one assessment (policies nest them at different depths). */
function actionsOf(value: unknown, depth = 0, into = new Set<string>()): Set<string> {
  if (depth > 6 || typeof value !== 'object' || value === null) return into;
  if (Array.isArray(value)) {
    for (const item of value) actionsOf(item, depth + 1, into);
    return into;
  }
  for (const [key, member] of Object.entries(value)) {
    if (key === 'invocationMetrics' || key === 'appliedGuardrailDetails') continue;
    if (key === 'action' && typeof member === 'string') into.add(member);
    else actionsOf(member, depth + 1, into);
  }
  return into;
}

function anyAction(assessments: readonly GuardrailAssessment[], wanted: ReadonlySet<string>): boolean {
  return assessments.some((assessment) => [...actionsOf(assessment)].some((action) => wanted.has(action)));
}

/**
 * Which side the guardrail acted on, from its trace. A blocked prompt wins (the model then
 * never ran); then anything done to the reply; then a masked prompt.
 */
export function guardrailSideOf(trace: GuardrailTraceAssessment | undefined): 'input' | 'output' | undefined {
  if (trace === undefined) return undefined;
  const input = Object.values(trace.inputAssessment ?? {});
  const output = Object.values(trace.outputAssessments ?? {}).flat();
  if (anyAction(input, BLOCKING)) return 'input';
  if (anyAction(output, BLOCKING) || anyAction(output, MASKING)) return 'output';
  if (anyAction(input, MASKING)) return 'input';
  return undefined;
}

function replyOf(output: ConverseCommandOutput): ModelReply {
  const content = output.output?.message?.content ?? [];
  const text = content.map((block) => block.text ?? '').join('');
  const stopReason = output.stopReason ?? 'unknown';
  const guardrailIntervened = stopReason === 'guardrail_intervened';
  const side = guardrailIntervened ? guardrailSideOf(output.trace?.guardrail) : undefined;
  return {
    text,
    inputTokens: output.usage?.inputTokens ?? 0,
    outputTokens: output.usage?.outputTokens ?? 0,
    stopReason,
    guardrailIntervened,
    ...(side === undefined ? {} : { guardrailSide: side }),
  };
}

/** A {@link ChatModel} on Bedrock Converse with the guardrail on every call. */
export function createBedrockChatModel(options: BedrockChatModelOptions): ChatModel {
  const { client, guardrail, label } = options;
  if (guardrail.identifier.trim() === '')
    throw new Error('createBedrockChatModel: the guardrail identifier is empty.');
  if (!GUARDRAIL_VERSION.test(guardrail.version)) {
    throw new Error(
      `createBedrockChatModel: guardrail version "${guardrail.version}" is not DRAFT or a number.`,
    );
  }
  return {
    label,
    async converse(request: ModelRequest): Promise<ModelReply> {
      const command = new ConverseCommand({
        modelId: request.modelId,
        // Converse refuses empty text blocks, so an empty system prompt is left out.
        ...(request.system === '' ? {} : { system: [{ text: request.system }] }),
        messages: request.messages.map((message) => ({
          role: message.role,
          content: [{ text: message.text }],
        })),
        inferenceConfig: { maxTokens: request.maxOutputTokens },
        guardrailConfig: {
          guardrailIdentifier: guardrail.identifier,
          guardrailVersion: guardrail.version,
          trace: 'enabled',
        },
      });
      let output: ConverseCommandOutput;
      try {
        output = await client.send(
          command,
          request.signal === undefined ? {} : { abortSignal: request.signal },
        );
      } catch (error) {
        throw mapConverseError(error);
      }
      return replyOf(output);
    },
  };
}
