/**
 * The streaming model in aws and hybrid mode: Bedrock ConverseStream with our guardrail on
 * every call, in `sync` stream-processing mode: the guardrail buffers the reply and applies
 * its policies to each chunk before the chunk is sent, so no delta reaches us unscanned, and
 * masking (which `async` mode does not support) keeps working.
 *   https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-streaming.html
 *   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_GuardrailStreamConfiguration.html
 * Usage and the guardrail trace arrive in the stream's `metadata` event, the stop reason in
 * `messageStop`:
 *   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
 *   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamMetadataEvent.html
 * Errors (before the stream or inside it) are mapped like Converse's, and an aborted signal
 * closes the HTTP/2 stream, which ends the model call.
 */
import {
  type BedrockRuntimeClient,
  ConverseStreamCommand,
  type ConverseStreamCommandOutput,
  type GuardrailTraceAssessment,
} from '@aws-sdk/client-bedrock-runtime';
import type { ModelRequest } from '../chat/ports';
import { type BedrockChatModelOptions, guardrailVerdictOf, mapConverseError } from './bedrock-converse-model';
import { ModelUnavailableError } from './errors';
import type { ModelStreamEvent, StreamingChatModel } from './streaming';

const GUARDRAIL_VERSION = /^(DRAFT|[1-9][0-9]{0,7})$/;

/** A {@link StreamingChatModel} on Bedrock ConverseStream with the guardrail on every call. */
export function createBedrockStreamingChatModel(options: BedrockChatModelOptions): StreamingChatModel {
  const { client, guardrail, label } = options;
  if (guardrail.identifier.trim() === '')
    throw new Error('createBedrockStreamingChatModel: the guardrail identifier is empty.');
  if (!GUARDRAIL_VERSION.test(guardrail.version)) {
    throw new Error(
      `createBedrockStreamingChatModel: guardrail version "${guardrail.version}" is not DRAFT or a number.`,
    );
  }
  return { label, converseStream: (request) => converseStream(client, guardrail, request) };
}

async function* converseStream(
  client: BedrockRuntimeClient,
  guardrail: BedrockChatModelOptions['guardrail'],
  request: ModelRequest,
): AsyncIterable<ModelStreamEvent> {
  const signal = request.signal;
  if (signal?.aborted) throw new ModelUnavailableError('timeout', 2, signal.reason);
  const command = new ConverseStreamCommand({
    modelId: request.modelId,
    ...(request.system === '' ? {} : { system: [{ text: request.system }] }),
    messages: request.messages.map((message) => ({ role: message.role, content: [{ text: message.text }] })),
    inferenceConfig: { maxTokens: request.maxOutputTokens },
    guardrailConfig: {
      guardrailIdentifier: guardrail.identifier,
      guardrailVersion: guardrail.version,
      trace: 'enabled',
      streamProcessingMode: 'sync',
    },
  });
  let output: ConverseStreamCommandOutput;
  try {
    output = await client.send(command, signal === undefined ? {} : { abortSignal: signal });
  } catch (error) {
    throw mapConverseError(error);
  }
  if (output.stream === undefined) throw new ModelUnavailableError('model_error', 5, new Error('No stream.'));

  let stopReason = 'unknown';
  let inputTokens = 0;
  let outputTokens = 0;
  let trace: GuardrailTraceAssessment | undefined;
  try {
    // Leaving this loop early (abort, or the consumer stops) returns the SDK's iterator,
    // which destroys the HTTP/2 stream.
    for await (const event of output.stream) {
      if (signal?.aborted) throw new ModelUnavailableError('timeout', 2, signal.reason);
      const text = event.contentBlockDelta?.delta?.text;
      if (text !== undefined && text !== '') yield { type: 'delta', text };
      if (event.messageStop !== undefined) stopReason = event.messageStop.stopReason ?? 'unknown';
      if (event.metadata !== undefined) {
        inputTokens = event.metadata.usage?.inputTokens ?? 0;
        outputTokens = event.metadata.usage?.outputTokens ?? 0;
        trace = event.metadata.trace?.guardrail;
      }
    }
  } catch (error) {
    if (error instanceof ModelUnavailableError) throw error;
    throw mapConverseError(error);
  }
  if (signal?.aborted) throw new ModelUnavailableError('timeout', 2, signal.reason);
  yield {
    type: 'end',
    inputTokens,
    outputTokens,
    stopReason,
    guardrail: guardrailVerdictOf({
      stopReason,
      trace: trace === undefined ? undefined : { guardrail: trace },
    }),
  };
}
