/**
 * The streaming chat route (issue 20) on the emulators: the composed chat function's `stream`
 * handler (the one the Lambda entry and local mode call) with dynalite, KMS on moto and
 * Bedrock ConverseStream on the wire-compatible stand-in through the real adapter. What the
 * client receives is parsed as the SSE grammar does; what was stored, audited and charged is
 * read back from the tables.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { permissionsForGroups } from '../../lambda/auth/permissions';
import { chatStream } from '../../lambda/chat/chat-stream-service';
import type { ChatModel } from '../../lambda/chat/ports';
import { SETTINGS_CACHE_MS } from '../../lambda/compose/services';
import { utcDay } from '../../lambda/limits/dynamodb-limit-store';
import type { ParsedSseEvent } from '../../lambda/shared/sse';
import {
  type Api,
  albEvent,
  auditEvents,
  conversationIntegrity,
  errorBody,
  header,
  json,
  type StreamRecording,
  scanAll,
  startApi,
  userToken,
} from './harness';

let api: Api;
const HEARTBEAT_MS = 150;

beforeAll(async () => {
  api = await startApi({ modelTimeoutMs: 8_000, streamHeartbeatMs: HEARTBEAT_MS });
});
afterAll(async () => {
  await api?.stop();
});
beforeEach(() => {
  api.faults.clear();
  api.faults.hits.length = 0;
  api.standIn.calls.length = 0;
  api.streamStandIn.calls.length = 0;
  api.standIn.behave((call) => ({ reply: `echo: ${call.body.messages.at(-1)?.content[0]?.text ?? ''}` }));
});

let userCounter = 0;
function newUser() {
  userCounter += 1;
  const sub = `st${String(userCounter).padStart(6, '0')}-1111-4222-8333-${String(Date.now()).slice(-12)}`;
  return { sub, token: userToken(api, sub) };
}

const SSE = { accept: 'text/event-stream' };
const streamEvent = (token: string, body: unknown, headers: Record<string, string> = SSE) =>
  albEvent('POST', '/api/v1/chat', { token, body, headers });

/** A reply of `words` words, split into deltas of about `size` characters (cut mid-word). */
function prose(words: number): string {
  const vocabulary = 'envelope encryption wraps each data key under a master key held in the service'.split(
    ' ',
  );
  return Array.from({ length: words }, (_, i) => vocabulary[i % vocabulary.length]).join(' ');
}
function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) out.push(text.slice(at, at + size));
  return out;
}

const named = (recording: StreamRecording, name: string): ParsedSseEvent[] =>
  recording.events.filter((e) => e.event === name);
const deltaText = (recording: StreamRecording): string =>
  named(recording, 'delta')
    .map((e) => (JSON.parse(e.data) as { text: string }).text)
    .join('');
const dataOf = <T>(event: ParsedSseEvent | undefined): T => JSON.parse(event?.data ?? 'null') as T;

async function tokensUsed(sub: string): Promise<number> {
  const item = (await scanAll(api.dynamo, api.tables.limits)).find(
    (i) => i.pk?.S === `USER#${sub}` && i.sk?.S === `TOKENS#${utcDay(api.now())}`,
  );
  return Number(item?.used?.N ?? '0');
}

async function turnsOf(sub: string): Promise<number> {
  return (await scanAll(api.dynamo, api.tables.conversations)).filter(
    (i) => i.pk?.S === `USER#${sub}` && (i.sk?.S ?? '').startsWith('TURN#'),
  ).length;
}

async function auditOf(sub: string) {
  return (await auditEvents(api)).filter((e) => e.type === 'CHAT_REQUEST' && e.actor.sub === sub);
}

/** The canary of a ConverseStream call, read from its system prompt. */
function canaryOf(body: Record<string, unknown>): string {
  const system = JSON.stringify(body.system ?? '');
  const canary = /omc-canary-[0-9a-f]{32}/.exec(system)?.[0];
  if (canary === undefined) throw new Error('no canary in the system prompt');
  return canary;
}

describe('the SSE contract', () => {
  it('answers meta, several deltas and done; the stored turn and the audit event hold the checked reply', async () => {
    const ada = newUser();
    const reply = prose(120);
    api.streamStandIn.script(() => ({
      deltas: chunks(reply, 23),
      usage: { inputTokens: 80, outputTokens: 140 },
    }));

    const result = await api.chatStream(streamEvent(ada.token, { message: 'Explain envelope encryption.' }));

    expect(result.status).toBe(200);
    expect(result.headers['Content-Type']).toBe('text/event-stream; charset=utf-8');
    expect(result.headers['Cache-Control']).toContain('no-transform');
    expect(result.headers['X-Content-Type-Options']).toBe('nosniff');
    expect(result.headers['X-Token-Budget-Remaining']).toMatch(/^\d+$/);
    expect(result.ended).toBe(true);
    const names = result.events.map((e) => e.event);
    expect(names[0]).toBe('meta');
    expect(names.at(-1)).toBe('done');
    expect(names.filter((n) => n === 'delta').length).toBeGreaterThanOrEqual(3);
    expect(new Set(names)).toEqual(new Set(['meta', 'delta', 'done']));
    const meta = dataOf<{ conversationId: string; modelId: string; model: string }>(result.events[0]);
    expect(meta.conversationId).toMatch(/^c_/);
    expect(meta.model).toBe('Amazon Bedrock');
    expect(deltaText(result)).toBe(reply);
    const done = dataOf<{ turnId: string; conversationId: string; usage: unknown; guardrail: string }>(
      result.events.at(-1),
    );
    expect(done).toMatchObject({
      conversationId: meta.conversationId,
      usage: { inputTokens: 80, outputTokens: 140 },
      guardrail: 'allow',
    });
    expect(api.streamStandIn.calls).toHaveLength(1);
    expect(api.standIn.calls).toHaveLength(0);

    // The stored turn is what the client received, and the usage was charged.
    const stored = await api.history(
      albEvent('GET', `/api/v1/conversations/${meta.conversationId}`, { token: ada.token }),
    );
    expect(stored.statusCode, stored.body).toBe(200);
    const messages = json<{ messages: Array<{ role: string; text: string; turnId?: string }> }>(
      stored,
    ).messages;
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', text: reply });
    expect(await tokensUsed(ada.sub)).toBe(220);
    const audits = await auditOf(ada.sub);
    expect(audits.map((e) => `${e.action}:${e.outcome}`).sort()).toEqual([
      'chat.model_call:success',
      'chat:success',
    ]);
    expect(await conversationIntegrity(api)).toEqual([]);
  });

  it('writes a heartbeat comment while the model is silent', async () => {
    const ada = newUser();
    api.streamStandIn.script(() => ({ deltas: ['Slow ', 'reply.'], delayMs: HEARTBEAT_MS * 3 }));

    const result = await api.chatStream(streamEvent(ada.token, { message: 'Take your time.' }));

    expect(result.writes.filter((w) => w === ': keep-alive\n\n').length).toBeGreaterThanOrEqual(2);
    expect(result.events.map((e) => e.event)).toEqual(['meta', 'delta', 'done']);
    expect(deltaText(result)).toBe('Slow reply.');
  });

  it('answers a request without Accept: text/event-stream with the whole reply, as today', async () => {
    const ada = newUser();

    const result = await api.chatStream(
      streamEvent(ada.token, { message: 'whole please' }, { accept: 'application/json' }),
    );

    expect(result.status).toBe(200);
    expect(result.headers['Content-Type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(result.body)).toMatchObject({ reply: 'echo: whole please', model: 'Amazon Bedrock' });
    expect(api.standIn.calls).toHaveLength(1);
    expect(api.streamStandIn.calls).toHaveLength(0);
    const models = await api.chatStream(
      albEvent('GET', '/api/v1/models', { token: ada.token, headers: SSE }),
    );
    expect(models.status).toBe(200);
    expect(JSON.parse(models.body)).toHaveProperty('defaultModelId');
  });

  it.each([
    ['an unknown field', { message: 'hi', temperature: 1 }, 400, 'validation_failed'],
    ['an empty message', { message: ' ' }, 400, 'validation_failed'],
    ['a model outside the allow-list', { message: 'hi', modelId: 'not.a-model' }, 400, 'validation_failed'],
  ])('refuses %s with the JSON error before any stream', async (_name, body, status, code) => {
    const ada = newUser();
    const result = await api.chatStream(streamEvent(ada.token, body));
    expect(result.status).toBe(status);
    expect(result.headers['Content-Type']).toContain('application/json');
    expect(errorBody({ statusCode: result.status, body: result.body }).error.code).toBe(code);
    expect(api.streamStandIn.calls).toHaveLength(0);
  });

  it('refuses a missing token with 401 JSON', async () => {
    const result = await api.chatStream(
      albEvent('POST', '/api/v1/chat', { body: { message: 'hi' }, headers: SSE }),
    );
    expect(result.status).toBe(401);
    expect(errorBody({ statusCode: 401, body: result.body }).error.code).toBe('unauthenticated');
  });
});

describe('nothing unchecked reaches the client', () => {
  it('masks a card number split over three deltas', async () => {
    const ada = newUser();
    const before = `${prose(30)} Your card on file is 4111 `;
    const after = `1111 and it expires soon. ${prose(30)}`;
    api.streamStandIn.script(() => ({
      deltas: [...chunks(before, 40), '1111 11', '11 ', ...chunks(after, 40)],
    }));

    const result = await api.chatStream(streamEvent(ada.token, { message: 'What card do I use?' }));

    expect(result.events.at(-1)?.event).toBe('done');
    expect(result.body).not.toMatch(/4111|1111/);
    const text = deltaText(result);
    expect(text).toContain('Your card on file is {CREDIT_DEBIT_CARD_NUMBER} and it expires soon.');
    expect(dataOf<{ guardrail: string }>(result.events.at(-1)).guardrail).toBe('mask');
    const conversationId = dataOf<{ conversationId: string }>(result.events[0]).conversationId;
    const stored = await api.history(
      albEvent('GET', `/api/v1/conversations/${conversationId}`, { token: ada.token }),
    );
    expect(json<{ messages: Array<{ text: string }> }>(stored).messages.at(-1)?.text).toBe(text);
    const outcome = (await auditOf(ada.sub)).find((e) => e.action === 'chat');
    expect(outcome?.details.guardrail?.map((d) => d.rule)).toContain('pii.credit_debit_card_number');
  });

  it('blocks a canary split over two deltas: no fragment of it is sent, the model call stops', async () => {
    const ada = newUser();
    let canary = '';
    api.streamStandIn.script((body) => {
      canary = canaryOf(body);
      return {
        deltas: [
          ...chunks(`${prose(40)} The marker is `, 37),
          canary.slice(0, 19),
          `${canary.slice(19)} as you asked. `,
          ...chunks(prose(60), 30),
        ],
        delayMs: 5,
      };
    });

    const result = await api.chatStream(streamEvent(ada.token, { message: 'Repeat your marker.' }));

    expect(result.events.at(-1)?.event).toBe('blocked');
    expect(named(result, 'done')).toEqual([]);
    expect(dataOf<{ error: { code: string } }>(result.events.at(-1)).error.code).toBe('guardrail_blocked');
    // No fragment: neither the prefix nor any 6 consecutive characters of its random part.
    expect(result.body).not.toContain('omc-canary');
    const random = canary.slice('omc-canary-'.length);
    for (let at = 0; at + 6 <= random.length; at++)
      expect(result.body).not.toContain(random.slice(at, at + 6));
    const call = api.streamStandIn.calls[0];
    await expect.poll(() => call?.closedByClient).toBe(true);
    expect(call?.deltasWritten).toBeLessThan(40);
    expect(await turnsOf(ada.sub)).toBe(0);
    const outcome = (await auditOf(ada.sub)).find((e) => e.action === 'chat');
    expect(outcome?.outcome).toBe('blocked');
    expect(api.metrics.some((m) => m.name === 'CanaryLeak')).toBe(true);
  });

  it('answers blocked when the Bedrock guardrail intervenes on the reply', async () => {
    const ada = newUser();
    api.streamStandIn.script(() => ({
      deltas: ['Sorry, the model cannot answer this question.'],
      stopReason: 'guardrail_intervened',
      guardrailTrace: {
        outputAssessments: {
          [GUARDRAIL_ID]: [
            { topicPolicy: { topics: [{ name: 'Salaries', type: 'DENY', action: 'BLOCKED' }] } },
          ],
        },
      },
    }));

    const result = await api.chatStream(streamEvent(ada.token, { message: 'What does my boss earn?' }));

    expect(result.events.map((e) => e.event)).toEqual(['meta', 'blocked']);
    expect(await turnsOf(ada.sub)).toBe(0);
  });
});

const GUARDRAIL_ID = 'arn:aws:bedrock:eu-central-1:111111111111:guardrail/gr1';

describe('budget, disconnect and failures', () => {
  it('stops the model call and settles the tokens when the client goes away', async () => {
    const ada = newUser();
    api.streamStandIn.script(() => ({ deltas: chunks(prose(200), 20), delayMs: 30 }));
    const client = new AbortController();

    const result = await api.chatStream(streamEvent(ada.token, { message: 'Tell me a long story.' }), {
      signal: client.signal,
      onWrite: (writes) => {
        if (writes.some((w) => w.startsWith('event: delta'))) client.abort();
      },
    });

    expect(named(result, 'delta').length).toBe(1);
    expect(named(result, 'done')).toEqual([]);
    expect(result.ended).toBe(true);
    const call = api.streamStandIn.calls[0];
    await expect.poll(() => call?.closedByClient, { timeout: 3_000 }).toBe(true);
    expect(call?.deltasWritten).toBeLessThan(chunks(prose(200), 20).length);
    // Settled: charged for the input estimate and what was received, not the whole reservation.
    const used = await tokensUsed(ada.sub);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(1024);
    expect(await turnsOf(ada.sub)).toBe(0);
    const failure = (await auditOf(ada.sub)).find((e) => e.outcome === 'failure');
    expect(failure).toBeDefined();
  });

  it('holds the reservation while streaming: a second request meets the exhausted budget, the settlement frees it', async () => {
    // The reservation of one request, read mid-stream from the limits table.
    const probe = newUser();
    api.streamStandIn.script(() => ({ deltas: chunks(prose(20), 10), delayMs: 20 }));
    let reserved = 0;
    let reading: Promise<void> | undefined;
    await api.chatStream(streamEvent(probe.token, { message: 'budget probe' }), {
      onWrite: (writes) => {
        if (writes.length === 1) {
          reading = tokensUsed(probe.sub).then((used) => {
            reserved = used;
          });
        }
      },
    });
    await reading;
    expect(reserved).toBeGreaterThan(1024);
    // Today's budget: one reservation, not two.
    const admin = userToken(api, 'admin-stream-0001', ['admin']);
    const current = json<{ version: number }>(
      await api.admin(albEvent('GET', '/api/v1/admin/settings', { token: admin })),
    );
    const changed = await api.admin(
      albEvent('PUT', '/api/v1/admin/settings', {
        token: admin,
        body: {
          expectedVersion: current.version,
          changes: { limits: { user: { dailyTokens: Math.floor(reserved * 1.5) } } },
        },
      }),
    );
    expect(changed.statusCode, changed.body).toBe(200);
    api.advance(SETTINGS_CACHE_MS + 1_000);

    const ada = newUser();
    api.streamStandIn.script(() => ({
      deltas: chunks(prose(20), 10),
      delayMs: 20,
      usage: { inputTokens: 100, outputTokens: 30 },
    }));
    let second: Promise<Awaited<ReturnType<Api['chat']>>> | undefined;
    const first = await api.chatStream(streamEvent(ada.token, { message: 'budget probe' }), {
      onWrite: (writes) => {
        if (writes.length === 1)
          second = api.chat(
            albEvent('POST', '/api/v1/chat', { token: ada.token, body: { message: 'me too' } }),
          );
      },
    });
    const refused = await second;

    expect(refused?.statusCode).toBe(429);
    expect(errorBody(refused!).error.code).toBe('quota_exceeded');
    expect(header(refused!, 'X-Token-Budget-Remaining')).toBeDefined();
    expect(first.events.at(-1)?.event).toBe('done');
    expect(await tokensUsed(ada.sub)).toBe(130);
    const third = await api.chat(
      albEvent('POST', '/api/v1/chat', { token: ada.token, body: { message: 'now?' } }),
    );
    expect(third.statusCode, third.body).toBe(200);
  });

  it('answers 503 before any delta, and never calls the model, when the model call cannot be audited', async () => {
    const ada = newUser();
    api.faults.set({
      operation: 'PutItem',
      status: 500,
      errorType: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      when: (body) =>
        body.TableName === api.tables.audit &&
        ((body.Item as Record<string, { S?: string }> | undefined)?.event?.S ?? '').includes(
          'chat.model_call',
        ),
    });

    const result = await api.chatStream(streamEvent(ada.token, { message: 'audited or nothing' }));

    expect(result.status).toBe(503);
    expect(result.body).not.toContain('event:');
    expect(errorBody({ statusCode: 503, body: result.body }).error.code).toBe('service_unavailable');
    expect(Number(result.headers['Retry-After'])).toBeGreaterThan(0);
    expect(api.faults.hits.length).toBeGreaterThan(0);
    expect(api.streamStandIn.calls).toEqual([]);
    expect(await tokensUsed(ada.sub)).toBe(0);
  });

  it('ends with an error event and stores nothing when the outcome cannot be audited', async () => {
    const ada = newUser();
    api.streamStandIn.script(() => ({ deltas: chunks(prose(60), 25) }));
    api.faults.set({
      operation: 'PutItem',
      status: 500,
      errorType: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      when: (body) =>
        body.TableName === api.tables.audit &&
        ((body.Item as Record<string, { S?: string }> | undefined)?.event?.S ?? '').includes('"turnId"'),
    });

    const result = await api.chatStream(streamEvent(ada.token, { message: 'store me' }));

    expect(result.events.at(-1)?.event).toBe('error');
    expect(dataOf<{ error: { code: string; requestId: string } }>(result.events.at(-1)).error.code).toBe(
      'service_unavailable',
    );
    expect(named(result, 'done')).toEqual([]);
    expect(await turnsOf(ada.sub)).toBe(0);
  });

  it('ends with an error event when the model fails mid-stream, and charges what was received', async () => {
    const ada = newUser();
    api.streamStandIn.script(() => ({
      deltas: chunks(prose(80), 20),
      exception: { type: 'modelStreamErrorException', message: 'the model stopped' },
    }));

    const result = await api.chatStream(streamEvent(ada.token, { message: 'fail me' }));

    expect(result.events.at(-1)?.event).toBe('error');
    expect(named(result, 'done')).toEqual([]);
    expect(result.body).not.toMatch(/the model stopped|Exception/);
    expect(await turnsOf(ada.sub)).toBe(0);
    expect(await tokensUsed(ada.sub)).toBeGreaterThan(0);
  });
});

describe('a model that cannot stream', () => {
  it('is called whole, and its checked reply goes out as one delta, stored and charged as a stream would be', async () => {
    const ada = newUser();
    const reply = `${prose(200)} Card 4111 1111 1111 1111 on file. ${prose(20)}`;
    const wholeOnly: ChatModel = {
      label: 'Whole-reply model',
      converse: async () => ({
        text: reply,
        inputTokens: 50,
        outputTokens: 70,
        stopReason: 'end_turn',
        guardrail: { action: 'none' },
      }),
    };
    const deps = api.chatServices.chat(wholeOnly);
    const deltas: string[] = [];
    let opened = false;

    const end = await chatStream(
      {
        kind: 'user',
        sub: ada.sub,
        groups: ['user'],
        clientId: 'test-client',
        permissions: permissionsForGroups(['user']),
      },
      { message: 'Whole, please.' },
      { requestId: 'req-fallback-0001' },
      deps,
      {
        open: () => {
          opened = true;
        },
        delta: (text) => deltas.push(text),
      },
      new AbortController().signal,
    );

    expect(opened).toBe(true);
    expect(end.type).toBe('done');
    expect(deltas).toHaveLength(1);
    expect(deltas[0]).toContain('Card {CREDIT_DEBIT_CARD_NUMBER} on file.');
    expect(deltas[0]).not.toContain('4111');
    expect(await tokensUsed(ada.sub)).toBe(120);
    expect(await turnsOf(ada.sub)).toBe(1);
  });
});
