import {
  BedrockRuntimeClient,
  ConverseCommand,
  type GuardrailTraceAssessment,
} from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ModelRequest } from '../../lambda/chat/ports';
import {
  createBedrockChatModel,
  guardrailDecisionsOf,
  guardrailSideOf,
  guardrailVerdictOf,
  MAX_BEDROCK_DECISIONS,
} from '../../lambda/model/bedrock-converse-model';
import { ModelThrottledError, ModelUnavailableError } from '../../lambda/model/errors';
import { RateLimitedError, ServiceUnavailableError } from '../../lambda/shared/errors';
import { errorResponse } from '../../lambda/shared/http';
import {
  type CONVERSE_ERRORS,
  type ConverseStandIn,
  startConverseStandIn,
} from '../support/converse-standin';

const GUARDRAIL = { identifier: 'gr-abc123', version: '3' };
const MODEL_ID = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const INTERNAL_DETAIL = 'arn:aws:bedrock:eu-west-1:123456789012:guardrail/gr-abc123 is not authorized';

function clientFor(endpoint: string): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' },
    // One attempt: the tests see each answer of the stand-in, not the SDK's retries.
    maxAttempts: 1,
  });
}

const REQUEST: ModelRequest = {
  modelId: MODEL_ID,
  system: 'You are OmniChat. Canary: c-123.',
  messages: [
    { role: 'user', text: 'What is envelope encryption?' },
    { role: 'assistant', text: 'A data key encrypts the data; a master key encrypts the data key.' },
    { role: 'user', text: 'And why cache data keys?' },
  ],
  maxOutputTokens: 256,
};

describe('Bedrock Converse model (against the wire-compatible stand-in)', () => {
  let standIn: ConverseStandIn;
  let client: BedrockRuntimeClient;

  beforeAll(async () => {
    standIn = await startConverseStandIn({ guardrail: GUARDRAIL });
    client = clientFor(standIn.endpoint);
  });
  afterAll(async () => {
    client?.destroy();
    await standIn?.stop();
  });
  beforeEach(() => {
    standIn.calls.length = 0;
    standIn.refusals.length = 0;
    standIn.behave(() => ({ reply: 'Fewer KMS calls, lower latency.' }));
  });

  const model = () => createBedrockChatModel({ client, guardrail: GUARDRAIL, label: 'Claude 3.5 Haiku' });

  it('sends system prompt, turns, max tokens and the guardrail with its trace, signed', async () => {
    const reply = await model().converse(REQUEST);

    expect(standIn.refusals).toEqual([]);
    expect(standIn.calls).toHaveLength(1);
    const call = standIn.calls[0]!;
    expect(call.modelId).toBe(MODEL_ID);
    expect(String(call.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDSTANDIN\/\d{8}\/eu-west-1\/bedrock\//,
    );
    expect(call.body).toEqual({
      system: [{ text: REQUEST.system }],
      messages: REQUEST.messages.map((m) => ({ role: m.role, content: [{ text: m.text }] })),
      inferenceConfig: { maxTokens: 256 },
      guardrailConfig: { guardrailIdentifier: 'gr-abc123', guardrailVersion: '3', trace: 'enabled' },
    });
    expect(reply).toEqual({
      text: 'Fewer KMS calls, lower latency.',
      inputTokens: 27,
      outputTokens: 5,
      stopReason: 'end_turn',
      guardrail: { action: 'none' },
    });
  });

  it('leaves out an empty system prompt (Converse refuses empty text blocks)', async () => {
    await model().converse({ ...REQUEST, system: '' });
    expect(standIn.calls[0]?.body.system).toBeUndefined();
  });

  it('reports max_tokens when the reply was cut at maxOutputTokens', async () => {
    standIn.behave(() => ({ reply: 'one two three four five six' }));
    const reply = await model().converse({ ...REQUEST, maxOutputTokens: 4 });
    expect(reply).toMatchObject({ text: 'one two three four', outputTokens: 4, stopReason: 'max_tokens' });
  });

  it.each(['input', 'output'] as const)(
    'reports a guardrail intervention on the %s side from the trace',
    async (side) => {
      standIn.behave(() => ({ guardrail: side, blockedMessage: 'Blocked by policy.' }));
      const reply = await model().converse(REQUEST);
      expect(reply).toMatchObject({
        text: 'Blocked by policy.',
        stopReason: 'guardrail_intervened',
        guardrail: { action: 'block', side },
      });
      expect(reply.outputTokens).toBe(side === 'input' ? 0 : 3);
      // The stand-in's default traces: a prompt attack on input, an email address on output.
      expect(reply.guardrail.action === 'block' && reply.guardrail.decisions).toEqual(
        side === 'input'
          ? [
              {
                layer: 'bedrock',
                rule: 'bedrock.content.PROMPT_ATTACK',
                category: 'PROMPT_ATTACK',
                action: 'block',
              },
            ]
          : [{ layer: 'bedrock', rule: 'bedrock.pii.EMAIL', category: 'PII', action: 'block' }],
      );
    },
  );

  it('names every policy the trace says fired, one decision each, without the matched text', async () => {
    standIn.behave(() => ({
      guardrail: 'output',
      assessments: {
        input: {
          contentPolicy: {
            filters: [
              {
                type: 'PROMPT_ATTACK',
                confidence: 'LOW',
                filterStrength: 'HIGH',
                action: 'NONE',
                detected: false,
              },
            ],
          },
          // A masked prompt went on to the model; the reply was then blocked.
          sensitiveInformationPolicy: {
            piiEntities: [{ match: 'Jane Doe', type: 'NAME', action: 'ANONYMIZED', detected: true }],
            regexes: [],
          },
        },
        output: [
          {
            topicPolicy: {
              topics: [{ name: 'Investment advice!', type: 'DENY', action: 'BLOCKED', detected: true }],
            },
            contentPolicy: {
              filters: [
                {
                  type: 'HATE',
                  confidence: 'HIGH',
                  filterStrength: 'HIGH',
                  action: 'BLOCKED',
                  detected: true,
                },
                {
                  type: 'INSULTS',
                  confidence: 'LOW',
                  filterStrength: 'HIGH',
                  action: 'NONE',
                  detected: true,
                },
              ],
            },
            wordPolicy: {
              customWords: [{ match: 'frobnicate', action: 'BLOCKED', detected: true }],
              managedWordLists: [{ match: 'darn', type: 'PROFANITY', action: 'BLOCKED', detected: true }],
            },
            sensitiveInformationPolicy: {
              piiEntities: [
                { match: 'jane@example.com', type: 'EMAIL', action: 'ANONYMIZED', detected: true },
                { match: '+1 555 0100', type: 'PHONE', action: 'BLOCKED', detected: true },
              ],
              regexes: [
                {
                  name: 'ticket id',
                  match: 'TCK-12345',
                  regex: 'TCK-\\d+',
                  action: 'ANONYMIZED',
                  detected: true,
                },
              ],
            },
          },
          {
            // A second output assessment repeats a policy: it is recorded once.
            sensitiveInformationPolicy: {
              piiEntities: [
                { match: 'joe@example.com', type: 'EMAIL', action: 'ANONYMIZED', detected: true },
              ],
              regexes: [],
            },
            contextualGroundingPolicy: {
              filters: [{ type: 'GROUNDING', threshold: 0.7, score: 0.2, action: 'BLOCKED', detected: true }],
            },
          },
        ],
      },
    }));

    const reply = await model().converse(REQUEST);

    expect(standIn.calls[0]?.body.guardrailConfig?.trace).toBe('enabled');
    expect(reply.guardrail).toMatchObject({ action: 'block', side: 'output' });
    const decisions = reply.guardrail.action === 'none' ? [] : reply.guardrail.decisions;
    const bedrock = (rule: string, category: string, action: 'block' | 'mask') => ({
      layer: 'bedrock',
      rule,
      category,
      action,
    });
    expect(decisions).toEqual([
      bedrock('bedrock.pii.NAME', 'PII', 'mask'),
      bedrock('bedrock.content.HATE', 'HATE', 'block'),
      bedrock('bedrock.topic.Investment_advice', 'TOPIC', 'block'),
      bedrock('bedrock.word', 'WORD', 'block'),
      bedrock('bedrock.word.PROFANITY', 'WORD', 'block'),
      bedrock('bedrock.pii.EMAIL', 'PII', 'mask'),
      bedrock('bedrock.pii.PHONE', 'PII', 'block'),
      bedrock('bedrock.regex.ticket_id', 'CUSTOM', 'mask'),
      bedrock('bedrock.grounding.GROUNDING', 'GROUNDING', 'block'),
    ]);
    const recorded = JSON.stringify(decisions);
    for (const matched of ['Jane', 'jane@', 'joe@', '555', 'TCK-', 'frobnicate', 'darn']) {
      expect(recorded).not.toContain(matched);
    }
  });

  it('names no policy when the guardrail did not intervene, whatever the trace holds', async () => {
    const reply = await model().converse(REQUEST);
    expect(reply.guardrail).toEqual({ action: 'none' });
  });

  it.each<[keyof typeof CONVERSE_ERRORS, number, string, string, new (...args: never[]) => Error]>([
    ['ThrottlingException', 429, 'rate_limited', '2', ModelThrottledError],
    ['ServiceQuotaExceededException', 429, 'rate_limited', '30', ModelThrottledError],
    ['ModelNotReadyException', 503, 'unavailable', '2', ModelUnavailableError],
    ['ServiceUnavailableException', 503, 'unavailable', '2', ModelUnavailableError],
    ['InternalServerException', 503, 'unavailable', '2', ModelUnavailableError],
    ['ModelTimeoutException', 503, 'timeout', '2', ModelUnavailableError],
    ['ValidationException', 503, 'misconfigured', '30', ModelUnavailableError],
    ['AccessDeniedException', 503, 'misconfigured', '30', ModelUnavailableError],
    ['ResourceNotFoundException', 503, 'misconfigured', '30', ModelUnavailableError],
    ['ModelErrorException', 503, 'model_error', '5', ModelUnavailableError],
  ])(
    'maps %s to %i (%s, Retry-After %s); the caller sees no internals',
    async (name, status, reason, retryAfter, type) => {
      standIn.behave(() => ({ error: name, message: INTERNAL_DETAIL }));
      const error = await model()
        .converse(REQUEST)
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject({ status, headers: { 'Retry-After': retryAfter } });
      if (status === 503) expect((error as ModelUnavailableError).reason).toBe(reason);
      else expect((error as RateLimitedError).code).toBe(reason);
      // The AWS error survives as the cause for the logs, parsed from x-amzn-errortype...
      expect(((error as Error).cause as Error).name).toBe(name);
      expect(((error as Error).cause as Error).message).toBe(INTERNAL_DETAIL);
      // ...and the HTTP edge answers without it.
      const response = errorResponse(error, 'req-1');
      expect(response.statusCode).toBe(status);
      expect(response.body).not.toContain('arn:aws');
      expect(response.body).not.toContain(name);
    },
  );

  it('keeps throttling distinct for the chat metrics: RateLimitedError, not ServiceUnavailableError', async () => {
    standIn.behave(() => ({ error: 'ThrottlingException' }));
    const error = await model()
      .converse(REQUEST)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).not.toBeInstanceOf(ServiceUnavailableError);
  });

  it('aborts when the request signal fires and maps it to a timeout (503)', async () => {
    standIn.behave(() => ({ delayMs: 10_000, next: { reply: 'too late' } }));
    const started = Date.now();
    const error = await model()
      .converse({ ...REQUEST, signal: AbortSignal.timeout(100) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect((error as ModelUnavailableError).reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('maps an unreachable endpoint to 503 unavailable', async () => {
    const offline = clientFor('http://127.0.0.1:9');
    const error = await createBedrockChatModel({ client: offline, guardrail: GUARDRAIL, label: 'x' })
      .converse(REQUEST)
      .catch((e: unknown) => e);
    offline.destroy();
    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect((error as ModelUnavailableError).reason).toBe('unavailable');
  });

  it('the stand-in refuses a call without guardrailConfig, so the checks above can fail', async () => {
    const error = await client
      .send(
        new ConverseCommand({
          modelId: MODEL_ID,
          messages: [{ role: 'user', content: [{ text: 'hi' }] }],
        }),
      )
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe('ValidationException');
    expect(standIn.refusals).toEqual(['stand-in: guardrailConfig is required']);
  });

  it('a guardrail version the account does not have is a misconfiguration (503)', async () => {
    const wrong = createBedrockChatModel({ client, guardrail: { ...GUARDRAIL, version: '4' }, label: 'x' });
    const error = await wrong.converse(REQUEST).catch((e: unknown) => e);
    expect((error as ModelUnavailableError).reason).toBe('misconfigured');
  });

  it.each([
    [{ identifier: ' ', version: '1' }, /identifier/],
    [{ identifier: 'gr', version: '' }, /version/],
    [{ identifier: 'gr', version: 'latest' }, /version/],
    [{ identifier: 'gr', version: '0' }, /version/],
  ])('refuses guardrail %o at construction', (guardrail, message) => {
    expect(() => createBedrockChatModel({ client, guardrail, label: 'x' })).toThrow(message);
  });
});

describe('guardrailSideOf', () => {
  const blocked = {
    contentPolicy: {
      filters: [{ type: 'HATE' as const, confidence: 'HIGH' as const, action: 'BLOCKED' as const }],
    },
  };
  const masked = {
    sensitiveInformationPolicy: {
      piiEntities: [{ match: 'x', type: 'EMAIL' as const, action: 'ANONYMIZED' as const }],
      regexes: [],
    },
  };
  const passed = { invocationMetrics: { guardrailProcessingLatency: 1 } };

  it.each<[string, GuardrailTraceAssessment | undefined, 'input' | 'output' | undefined]>([
    ['no trace', undefined, undefined],
    ['nothing acted', { inputAssessment: { g: passed }, outputAssessments: { g: [passed] } }, undefined],
    ['a blocked prompt', { inputAssessment: { g: blocked } }, 'input'],
    [
      'a blocked reply',
      { inputAssessment: { g: passed }, outputAssessments: { g: [passed, blocked] } },
      'output',
    ],
    ['a masked reply', { inputAssessment: { g: passed }, outputAssessments: { g: [masked] } }, 'output'],
    ['a masked prompt only', { inputAssessment: { g: masked } }, 'input'],
    [
      'a masked prompt and a blocked reply',
      { inputAssessment: { g: masked }, outputAssessments: { g: [blocked] } },
      'output',
    ],
    [
      'a topic denied on input',
      {
        inputAssessment: {
          g: { topicPolicy: { topics: [{ name: 'legal', type: 'DENY', action: 'BLOCKED' }] } },
        },
      },
      'input',
    ],
    [
      'a detected but not enforced filter',
      {
        inputAssessment: {
          g: { contentPolicy: { filters: [{ type: 'HATE', confidence: 'LOW', action: 'NONE' }] } },
        },
      },
      undefined,
    ],
  ])('%s → %s', (_, trace, side) => {
    expect(guardrailSideOf(trace)).toBe(side);
  });
});

describe('guardrailDecisionsOf', () => {
  it('is empty without a trace or when nothing was enforced', () => {
    expect(guardrailDecisionsOf(undefined)).toEqual([]);
    expect(
      guardrailDecisionsOf({
        inputAssessment: {
          g: { contentPolicy: { filters: [{ type: 'VIOLENCE', confidence: 'MEDIUM', action: 'NONE' }] } },
        },
      }),
    ).toEqual([]);
  });

  it('maps each content filter type to its category, PROMPT_ATTACK included', () => {
    const types = ['PROMPT_ATTACK', 'HATE', 'INSULTS', 'SEXUAL', 'VIOLENCE', 'MISCONDUCT'] as const;
    const decisions = guardrailDecisionsOf({
      inputAssessment: {
        g: {
          contentPolicy: {
            filters: types.map((type) => ({ type, confidence: 'HIGH' as const, action: 'BLOCKED' as const })),
          },
        },
      },
    });
    expect(decisions.map((d) => [d.rule, d.category])).toEqual(types.map((t) => [`bedrock.content.${t}`, t]));
  });

  it('keeps rule ids within the audit schema for any topic or regex name, and an unknown filter type as CONTENT', () => {
    const decisions = guardrailDecisionsOf({
      inputAssessment: {
        g: {
          topicPolicy: {
            topics: [
              { name: ' ¿Médical@advice? ', type: 'DENY', action: 'BLOCKED' },
              { name: '', type: 'DENY', action: 'BLOCKED' },
            ],
          },
          contentPolicy: {
            filters: [{ type: 'NEW_FILTER' as never, confidence: 'HIGH', action: 'BLOCKED' }],
          },
        },
      },
    });
    expect(decisions.map((d) => d.rule)).toEqual([
      'bedrock.content.NEW_FILTER',
      'bedrock.topic.M_dical_advice',
      'bedrock.topic.unnamed',
    ]);
    expect(decisions[0]?.category).toBe('CONTENT');
    for (const d of decisions) expect(d.rule).toMatch(/^[\w.:/-]{1,128}$/);
  });

  it(`keeps at most ${MAX_BEDROCK_DECISIONS} decisions`, () => {
    const topics = Array.from({ length: 40 }, (_, i) => ({
      name: `t${i}`,
      type: 'DENY' as const,
      action: 'BLOCKED' as const,
    }));
    const decisions = guardrailDecisionsOf({ inputAssessment: { g: { topicPolicy: { topics } } } });
    expect(decisions).toHaveLength(MAX_BEDROCK_DECISIONS);
    expect(decisions[0]?.rule).toBe('bedrock.topic.t0');
  });
});

describe('guardrailVerdictOf', () => {
  it('is none when the guardrail did not intervene', () => {
    expect(guardrailVerdictOf({ stopReason: 'end_turn' })).toEqual({ action: 'none' });
  });

  it('blocks with one UNATTRIBUTED decision when the trace names no policy', () => {
    expect(guardrailVerdictOf({ stopReason: 'guardrail_intervened' })).toEqual({
      action: 'block',
      decisions: [{ layer: 'bedrock', rule: 'bedrock.guardrail', category: 'UNATTRIBUTED', action: 'block' }],
    });
  });

  it('masks when every policy that fired on the reply only anonymized', () => {
    const verdict = guardrailVerdictOf({
      stopReason: 'guardrail_intervened',
      trace: {
        guardrail: {
          outputAssessments: {
            g: [
              {
                sensitiveInformationPolicy: {
                  piiEntities: [{ type: 'EMAIL', action: 'ANONYMIZED', match: 'a@b.c', detected: true }],
                  regexes: [],
                },
              },
            ],
          },
        },
      },
    });
    expect(verdict).toEqual({
      action: 'mask',
      decisions: [{ layer: 'bedrock', rule: 'bedrock.pii.EMAIL', category: 'PII', action: 'mask' }],
    });
  });
});
