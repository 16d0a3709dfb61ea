import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRequest } from '../../lambda/chat/ports';
import { createBedrockStreamingChatModel } from '../../lambda/model/bedrock-converse-stream-model';
import { ModelThrottledError, ModelUnavailableError } from '../../lambda/model/errors';
import { collectStream, type ModelStreamEvent } from '../../lambda/model/streaming';
import { type ConverseStreamStandIn, startConverseStreamStandIn } from '../support/converse-stream-standin';

const GUARDRAIL = { identifier: 'gr-abc123', version: '3' };
const REQUEST: ModelRequest = {
  modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0',
  system: 'You are OmniChat.',
  messages: [{ role: 'user', text: 'Explain envelope encryption.' }],
  maxOutputTokens: 256,
};

describe('Bedrock ConverseStream model (against the wire-compatible event-stream stand-in)', () => {
  let standIn: ConverseStreamStandIn;
  let client: BedrockRuntimeClient;
  let model: ReturnType<typeof createBedrockStreamingChatModel>;

  beforeAll(async () => {
    standIn = await startConverseStreamStandIn(GUARDRAIL);
    client = new BedrockRuntimeClient({
      endpoint: standIn.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' },
      maxAttempts: 1,
    });
    model = createBedrockStreamingChatModel({ client, guardrail: GUARDRAIL, label: 'Claude 3.5 Haiku' });
  });
  afterAll(async () => {
    client?.destroy();
    await standIn?.stop();
  });

  it('streams the deltas in order, then usage, with the guardrail in sync mode on the call', async () => {
    standIn.script(() => ({
      deltas: ['Envelope ', 'encryption ', 'wraps a data key.'],
      usage: { inputTokens: 12, outputTokens: 7 },
    }));
    const events: ModelStreamEvent[] = [];
    for await (const e of model.converseStream(REQUEST)) events.push(e);
    expect(events).toEqual([
      { type: 'delta', text: 'Envelope ' },
      { type: 'delta', text: 'encryption ' },
      { type: 'delta', text: 'wraps a data key.' },
      {
        type: 'end',
        inputTokens: 12,
        outputTokens: 7,
        stopReason: 'end_turn',
        guardrail: { action: 'none' },
      },
    ]);
    const call = standIn.calls.at(-1);
    expect(call?.modelId).toBe(REQUEST.modelId);
    expect(call?.body.guardrailConfig).toEqual({
      guardrailIdentifier: 'gr-abc123',
      guardrailVersion: '3',
      trace: 'enabled',
      streamProcessingMode: 'sync',
    });
    expect(call?.body.system).toEqual([{ text: 'You are OmniChat.' }]);
    expect(call?.body.inferenceConfig).toEqual({ maxTokens: 256 });
    expect(standIn.refusals).toEqual([]);
  });

  it('maps a guardrail intervention on the reply with its decisions from the metadata trace', async () => {
    standIn.script(() => ({
      deltas: ['Sorry, the model cannot answer this question.'],
      stopReason: 'guardrail_intervened',
      guardrailTrace: {
        outputAssessments: {
          'gr-abc123': [{ topicPolicy: { topics: [{ name: 'Salaries', type: 'DENY', action: 'BLOCKED' }] } }],
        },
      },
    }));
    const { end } = await collectStream(model.converseStream(REQUEST));
    expect(end).toMatchObject({
      stopReason: 'guardrail_intervened',
      guardrail: {
        action: 'block',
        side: 'output',
        decisions: [{ layer: 'bedrock', rule: 'bedrock.topic.Salaries', category: 'TOPIC', action: 'block' }],
      },
    });
  });

  it.each([
    ['throttlingException', ModelThrottledError],
    ['modelStreamErrorException', ModelUnavailableError],
    ['serviceUnavailableException', ModelUnavailableError],
  ])('maps an in-stream %s after some deltas to the port error', async (type, errorClass) => {
    standIn.script(() => ({ deltas: ['partial '], exception: { type, message: 'stand-in says no' } }));
    const seen: ModelStreamEvent[] = [];
    const consume = (async () => {
      for await (const e of model.converseStream(REQUEST)) seen.push(e);
    })();
    await expect(consume).rejects.toBeInstanceOf(errorClass);
    expect(seen).toEqual([{ type: 'delta', text: 'partial ' }]);
  });

  it('maps an HTTP error before the stream (throttling) and never leaks its detail', async () => {
    standIn.script(() => ({
      deltas: [],
      httpError: { status: 429, name: 'ThrottlingException', message: 'arn:aws:bedrock:secret detail' },
    }));
    await expect(collectStream(model.converseStream(REQUEST))).rejects.toBeInstanceOf(ModelThrottledError);
  });

  it('closes the model stream when the signal aborts mid-reply', async () => {
    standIn.script(() => ({ deltas: Array.from({ length: 50 }, (_, i) => `word${i} `), delayMs: 20 }));
    const controller = new AbortController();
    const seen: ModelStreamEvent[] = [];
    const consume = (async () => {
      for await (const e of model.converseStream({ ...REQUEST, signal: controller.signal })) {
        seen.push(e);
        if (seen.length === 3) controller.abort(new Error('client disconnected'));
      }
    })();
    await expect(consume).rejects.toBeInstanceOf(ModelUnavailableError);
    expect(seen).toHaveLength(3);
    const call = standIn.calls.at(-1);
    // The stand-in sees the stream closed well before its 50 deltas.
    await expect.poll(() => call?.closedByClient, { timeout: 2_000 }).toBe(true);
    expect(call?.deltasWritten).toBeLessThan(50);
  });

  it('refuses a bad guardrail configuration at construction', () => {
    expect(() =>
      createBedrockStreamingChatModel({ client, guardrail: { identifier: ' ', version: '1' }, label: 'x' }),
    ).toThrow(/identifier is empty/);
    expect(() =>
      createBedrockStreamingChatModel({
        client,
        guardrail: { identifier: 'g', version: 'latest' },
        label: 'x',
      }),
    ).toThrow(/not DRAFT or a number/);
  });
});
