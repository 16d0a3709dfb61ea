import { describe, expect, it } from 'vitest';
import {
  type AuditDetails,
  type AuditEventInput,
  buildAuditEvent,
  createEventIdGenerator,
  parseAuditEvent,
  sha256Hex,
  systemAuditEventDeps,
} from '../../lambda/audit/event';
import { maskNames, NAME_MASK } from '../../lambda/audit/mask';
import { ValidationError } from '../../lambda/shared/errors';
import { chatInput, testDeps } from './fixtures';

const ACTOR_IP = '198.51.100.7';

describe('buildAuditEvent', () => {
  it('keeps only length and SHA-256 of the prompt and reply, never their text', () => {
    // Prepare
    const input = chatInput({
      prompt: 'Tell me the secret plan XYZZY-4471',
      reply: 'The plan is PLUGH-9921',
    });

    // Act
    const event = buildAuditEvent(input, testDeps());
    const stored = JSON.stringify(event);

    // Assess
    expect(stored).not.toContain('XYZZY');
    expect(stored).not.toContain('PLUGH');
    expect(event.details).toMatchObject({
      promptLength: input.prompt?.length,
      promptSha256: sha256Hex('Tell me the secret plan XYZZY-4471'),
      replyLength: input.reply?.length,
      replySha256: sha256Hex('The plan is PLUGH-9921'),
      guardrail: [{ layer: 'local', rule: 'pii.card', category: 'PII', action: 'mask' }],
    });
    expect(event).not.toHaveProperty('prompt');
    expect(event).not.toHaveProperty('reply');
  });

  it('fills the fields of seed 002 log format (timestamp, type, user, outcome, duration, IP)', () => {
    const event = buildAuditEvent(chatInput(), testDeps('2026-01-26T12:00:00.000Z'));

    expect(event).toMatchObject({
      schemaVersion: 1,
      timestamp: '2026-01-26T12:00:00.000Z',
      type: 'CHAT_REQUEST',
      actor: { sub: '3f1c2a9e-0000-4000-8000-000000000001', sourceIp: ACTOR_IP, groups: ['user'] },
      outcome: 'success',
      durationMs: 842,
      requestId: 'req-0001',
    });
    expect(event.eventId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it.each([
    ['email', 'contact ada.lovelace@example.com about it', 'ada.lovelace@example.com'],
    ['card (Luhn)', 'paid with 4111 1111 1111 1111 today', '4111 1111 1111 1111'],
    ['card without spaces', 'card=5500005555555559', '5500005555555559'],
    ['foreign IP', 'request relayed by 203.0.113.9', '203.0.113.9'],
    ['labelled name', 'customer_name: Ada Lovelace asked for export', 'Ada Lovelace'],
    ['honorific name', 'escalated by Dr. Grace Hopper', 'Grace Hopper'],
  ])('masks %s in free-text details, resource and user agent', (_kind, text, secret) => {
    // Prepare
    const input: AuditEventInput = {
      ...chatInput(),
      resource: `conversation/${text}`,
      reason: text,
      fields: { note: text, count: 3, flagged: true, none: null },
      actor: { ...chatInput().actor, userAgent: `agent ${text}` },
    };

    // Act
    const event = buildAuditEvent(input, testDeps());

    // Assess
    expect(JSON.stringify(event)).not.toContain(secret);
    expect(event.details.fields).toMatchObject({ count: 3, flagged: true, none: null });
  });

  it("keeps the actor's own IP readable but masks any other IP in the same text", () => {
    const event = buildAuditEvent(
      chatInput({ reason: `login from ${ACTOR_IP} after 203.0.113.9 failed` }),
      testDeps(),
    );

    expect(event.actor.sourceIp).toBe(ACTOR_IP);
    expect(event.details.reason).toContain(ACTOR_IP);
    expect(event.details.reason).not.toContain('203.0.113.9');
  });

  it('accepts trace-style request ids and production deps', () => {
    const before = Date.now();
    const event = buildAuditEvent(
      chatInput({ requestId: 'Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1' }),
      systemAuditEventDeps(),
    );

    expect(event.requestId).toContain('Root=1-');
    // The production clock is the real one (whatever today is), not a fixed test date.
    expect(Date.parse(event.timestamp)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(event.timestamp)).toBeLessThanOrEqual(Date.now());
  });

  it("takes the Bedrock guardrail's decisions as the Converse trace maps them", () => {
    const guardrail = [
      { layer: 'bedrock', rule: 'bedrock.content.PROMPT_ATTACK', category: 'PROMPT_ATTACK', action: 'block' },
      { layer: 'bedrock', rule: 'bedrock.topic.Investment_advice', category: 'TOPIC', action: 'block' },
      { layer: 'bedrock', rule: 'bedrock.pii.US_SOCIAL_SECURITY_NUMBER', category: 'PII', action: 'mask' },
      { layer: 'bedrock', rule: 'bedrock.word.PROFANITY', category: 'WORD', action: 'block' },
      { layer: 'bedrock', rule: 'bedrock.guardrail', category: 'UNATTRIBUTED', action: 'block' },
    ] as const;
    const event = buildAuditEvent(chatInput({ outcome: 'blocked', guardrail }), testDeps());

    expect(event.details.guardrail).toEqual(guardrail);
  });

  it('records an empty guardrail outcome for a chat request that hit no rule', () => {
    const event = buildAuditEvent(chatInput({ guardrail: undefined }), testDeps());

    expect(event.details.guardrail).toEqual([]);
  });

  it.each([
    [
      'a guardrail rule with free text',
      { guardrail: [{ layer: 'local', rule: 'matched ada@example.com', category: 'PII', action: 'block' }] },
      /details.guardrail\[0\].rule/,
    ],
    ['a negative duration', { durationMs: -1 }, /durationMs/],
    [
      'an unknown layer',
      { guardrail: [{ layer: 'llm', rule: 'x', category: 'y', action: 'block' }] },
      /layer/,
    ],
    ['an invalid actor IP', { actor: { sourceIp: 'not-an-ip' } }, /actor.sourceIp/],
    [
      'an email as a guardrail category',
      { guardrail: [{ layer: 'local', rule: 'pii', category: 'ada@example.com', action: 'mask' }] },
      /category/,
    ],
    ['a request id with spaces', { requestId: 'req 1' }, /requestId/],
  ] as const)('refuses %s with a ValidationError naming the field', (_name, overrides, message) => {
    const input = { ...chatInput(), ...overrides } as AuditEventInput;

    expect(() => buildAuditEvent(input, testDeps())).toThrow(ValidationError);
    expect(() => buildAuditEvent(input, testDeps())).toThrow(message);
  });

  it('cannot be given unmasked details or prompt text at the type level', () => {
    // These lines are the test: tsc fails the build if any of them compiles.
    // @ts-expect-error details take only MaskedText, which only the builder makes
    const smuggled: AuditDetails = { reason: 'ada@example.com' };
    // @ts-expect-error the input has no `details`: everything goes through masking
    const withDetails: AuditEventInput = { ...chatInput(), details: { reason: 'x' } };

    expect(smuggled.reason).toBe('ada@example.com');
    expect(withDetails).toBeDefined();
  });
});

describe('parseAuditEvent', () => {
  const valid = JSON.parse(JSON.stringify(buildAuditEvent(chatInput(), testDeps()))) as Record<
    string,
    unknown
  >;

  it('accepts a built event after a JSON round trip', () => {
    expect(parseAuditEvent(valid)).toEqual(valid);
  });

  it.each([
    [
      'raw prompt text in details',
      { details: { ...(valid.details as object), prompt: 'hello' } },
      /details.prompt is not a known field/,
    ],
    [
      'an unmasked email in reason',
      { details: { ...(valid.details as object), reason: 'ada@example.com' } },
      /details.reason contains unmasked/,
    ],
    ['an unmasked card in resource', { resource: 'card 4111111111111111' }, /resource contains unmasked/],
    ['an unknown event type', { type: 'LOGIN' }, /type must be one of/],
    ['a malformed event id', { eventId: 'abc' }, /eventId/],
    ['a timestamp without milliseconds', { timestamp: '2026-11-23T10:00:00Z' }, /timestamp/],
    ['a chat request without guardrail outcome', { details: {} }, /details.guardrail is required/],
    [
      'a hash without its length',
      { details: { guardrail: [], promptSha256: sha256Hex('x') } },
      /promptLength/,
    ],
    ['an extra top-level field', { prompt: 'hi' }, /event.prompt is not a known field/],
    ['a non-object', null, /must be an object/],
  ] as const)('rejects %s', (_name, patch, message) => {
    const candidate = patch === null ? null : { ...valid, ...patch };

    expect(() => parseAuditEvent(candidate)).toThrow(message);
  });
});

describe('createEventIdGenerator', () => {
  it('produces strictly increasing ids within one millisecond and across milliseconds', () => {
    const next = createEventIdGenerator();
    const ids = [
      ...Array.from({ length: 500 }, () => next(1_795_000_000_000)),
      ...Array.from({ length: 500 }, () => next(1_795_000_000_001)),
    ];

    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('orders by time first even when randomness is larger', () => {
    const high = createEventIdGenerator((n) => new Uint8Array(n).fill(255));
    const low = createEventIdGenerator((n) => new Uint8Array(n).fill(0));

    expect(high(1000) < low(1001)).toBe(true);
  });
});

describe('maskNames', () => {
  it.each([
    ['name: Ada Lovelace', `name: ${NAME_MASK}`],
    ['{"displayName": "Grace Hopper"}', `{"displayName": "${NAME_MASK}"}`],
    ['first_name=Alan', `first_name=${NAME_MASK}`],
    ['Mrs Smith called', `Mrs ${NAME_MASK} called`],
    ['the file name: report.pdf', 'the file name: report.pdf'],
  ])('%s -> %s', (input, expected) => {
    expect(maskNames(input)).toBe(expected);
    // Idempotent, which the validator relies on.
    expect(maskNames(maskNames(input))).toBe(expected);
  });
});
