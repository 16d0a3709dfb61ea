/**
 * The chat and history functions end to end, as the Lambda runtime calls them: chat round
 * trips with context, listing with sealed cursors, reading, deleting, export and erasure,
 * encryption at rest, and isolation between users and between a user and their API keys.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { permissionsForGroups } from '../../lambda/auth/permissions';
import type { SealedText } from '../../lambda/chat/ports';
import { machineAccessClaims, mint, userAccessClaims } from '../support/tokens';
import {
  type Api,
  albEvent,
  auditEvents,
  conversationIntegrity,
  errorBody,
  header,
  json,
  scanAll,
  startApi,
  userToken,
} from './harness';

let api: Api;

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
});
beforeEach(() => {
  api.standIn.calls.length = 0;
  api.standIn.refusals.length = 0;
  api.standIn.behave((call) => {
    const last = call.body.messages.at(-1)?.content[0]?.text ?? '';
    return { reply: `echo: ${last}` };
  });
  api.faults.clear();
});

let userCounter = 0;
/** A fresh user per test, so rate buckets and data never overlap between tests. */
function newUser(groups: string[] = ['user']) {
  userCounter += 1;
  const sub = `0000${userCounter.toString().padStart(4, '0')}-aaaa-4bbb-8ccc-${Date.now().toString().padStart(12, '0').slice(-12)}`;
  return { sub, token: userToken(api, sub, groups) };
}

interface ChatBody {
  conversationId: string;
  turnId: string;
  reply: string;
  modelId: string;
  usage: { inputTokens: number; outputTokens: number };
  guardrail: string;
}

async function chat(token: string, message: string, conversationId?: string) {
  return api.chat(
    albEvent('POST', '/api/v1/chat', {
      token,
      body: conversationId === undefined ? { message } : { message, conversationId },
    }),
  );
}

async function chatOk(token: string, message: string, conversationId?: string): Promise<ChatBody> {
  const result = await chat(token, message, conversationId);
  expect(result.statusCode, result.body).toBe(200);
  return json<ChatBody>(result);
}

describe('chat round trip', () => {
  it('creates a conversation on the first message and returns the model reply with usage and limit headers', async () => {
    const ada = newUser();

    const result = await chat(ada.token, 'What is envelope encryption?');

    expect(result.statusCode).toBe(200);
    const body = json<ChatBody>(result);
    expect(body.conversationId).toMatch(/^c_[A-Za-z0-9_-]{22}$/);
    expect(body.reply).toBe('echo: What is envelope encryption?');
    expect(body.modelId).toBe('eu.anthropic.claude-haiku-4-5-20251001-v1:0');
    expect(body.usage.inputTokens).toBeGreaterThan(0);
    expect(body.guardrail).toBe('allow');
    expect(header(result, 'RateLimit-Remaining')).toBe('4');
    expect(Number(header(result, 'X-Token-Budget-Remaining'))).toBeLessThan(200_000);
    expect(header(result, 'Content-Security-Policy')).toContain("default-src 'none'");
    // One guarded, signed call with the system prompt and only this message.
    expect(api.standIn.refusals).toEqual([]);
    expect(api.standIn.calls).toHaveLength(1);
    const call = api.standIn.calls[0]!;
    expect(call.body.guardrailConfig?.guardrailVersion).toBe('1');
    expect(call.body.system?.[0]?.text).toContain('You are OmniChat');
    expect(call.body.messages).toEqual([
      { role: 'user', content: [{ text: 'What is envelope encryption?' }] },
    ]);
    expect(await conversationIntegrity(api)).toEqual([]);
  });

  it('sends earlier turns as context, newest first within the history token budget', async () => {
    const ada = newUser();
    // ~6,000 characters each: one earlier turn (message + echo) fits the 6,000-token budget, two do not.
    const long = (tag: string) =>
      Array.from({ length: 600 }, (_, i) => `${tag}${String(i).padStart(4, '0')}`).join(' ');
    const first = await chatOk(ada.token, long('alpha'));
    await chatOk(ada.token, long('bravo'), first.conversationId);
    await chatOk(ada.token, 'what comes next?', first.conversationId);

    const [call1, call2, call3] = api.standIn.calls;
    expect(call1!.body.messages).toHaveLength(1);
    // Turn 2 sees turn 1.
    expect(call2!.body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(call2!.body.messages[0]!.content[0]!.text).toBe(long('alpha'));
    expect(call2!.body.messages[1]!.content[0]!.text).toBe(`echo: ${long('alpha')}`);
    // Turn 3 sees turn 2 only: turn 1 no longer fits the budget.
    expect(call3!.body.messages.map((m) => m.content[0]!.text)).toEqual([
      long('bravo'),
      `echo: ${long('bravo')}`,
      'what comes next?',
    ]);
  });

  it('lists the allow-listed models with their catalogue names, not raw ids', async () => {
    const ada = newUser();
    const result = await api.chat(albEvent('GET', '/api/v1/models', { token: ada.token }));
    expect(result.statusCode, result.body).toBe(200);
    expect(json<{ defaultModelId: string; items: { id: string; name: string }[] }>(result)).toEqual({
      defaultModelId: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
      items: [
        { id: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0', name: 'Claude Haiku 4.5' },
        { id: 'eu.amazon.nova-lite-v1:0', name: 'Amazon Nova Lite' },
      ],
    });
  });

  it('lets the caller pick an allow-listed model and refuses any other', async () => {
    const ada = newUser();
    const picked = await api.chat(
      albEvent('POST', '/api/v1/chat', {
        token: ada.token,
        body: { message: 'hi', modelId: 'eu.amazon.nova-lite-v1:0' },
      }),
    );
    expect(picked.statusCode).toBe(200);
    expect(api.standIn.calls.at(-1)?.modelId).toBe('eu.amazon.nova-lite-v1:0');

    const refused = await api.chat(
      albEvent('POST', '/api/v1/chat', {
        token: ada.token,
        body: { message: 'hi', modelId: 'openai.gpt-oss-120b-1:0' },
      }),
    );
    expect(refused.statusCode).toBe(400);
    expect(errorBody(refused).error.code).toBe('validation_failed');
    expect(api.standIn.calls).toHaveLength(1);
  });

  it('stores message text only as ciphertext (scan of the table and the audit trail)', async () => {
    const ada = newUser();
    const secret = 'The quarterly numbers for Project Bluebird are 4711';
    const body = await chatOk(ada.token, secret);

    const items = (await scanAll(api.dynamo, api.tables.conversations)).filter(
      (item) => item.pk?.S === `USER#${ada.sub}`,
    );
    expect(items.map((i) => i.sk?.S?.slice(0, 5)).sort()).toEqual(['CONV#', 'TURN#']);
    const stored = JSON.stringify(items);
    for (const fragment of ['Bluebird', 'quarterly', 'numbers for', 'echo:'])
      expect(stored).not.toContain(fragment);
    const turn = items.find((i) => i.sk?.S?.startsWith('TURN#'))!;
    const sealed = JSON.parse(turn.userText!.S!) as SealedText;
    expect(Object.keys(sealed).sort()).toEqual(['ct', 'iv', 'k', 'tag', 'v']);
    // The ciphertext opens only under its owner and conversation.
    const context = { user: ada.sub, conversation: body.conversationId };
    await expect(api.chatServices.cipher.open(sealed, context)).resolves.toBe(secret);
    await expect(
      api.chatServices.cipher.open(sealed, { user: 'someone-else', conversation: body.conversationId }),
    ).rejects.toThrow();
    expect(JSON.stringify(await scanAll(api.dynamo, api.tables.audit))).not.toContain('Bluebird');
  });

  it('keeps one data key per conversation: each request, in any instance, costs one KMS call', async () => {
    const ada = newUser();
    const kmsCalls = () => api.faults.calls.filter((c) => c === 'GenerateDataKey' || c === 'Decrypt');
    api.faults.calls.length = 0;
    const { conversationId } = await chatOk(ada.token, 'first question');
    expect(kmsCalls()).toEqual(['GenerateDataKey']);
    // Each later request in a new instance (Lambda does not route a conversation to the same
    // one): one Decrypt opens every earlier turn, and the new turn is sealed under that key.
    for (const message of ['second question', 'third question', 'fourth question']) {
      api.faults.calls.length = 0;
      const next = await api.coldChat()(
        albEvent('POST', '/api/v1/chat', { token: ada.token, body: { message, conversationId } }),
      );
      expect(next.statusCode, next.body).toBe(200);
      expect(kmsCalls()).toEqual(['Decrypt']);
    }
    expect(api.standIn.calls.at(-1)?.body.messages).toHaveLength(7);
    const turns = (await scanAll(api.dynamo, api.tables.conversations)).filter(
      (item) => item.pk?.S === `USER#${ada.sub}` && item.sk?.S?.startsWith('TURN#'),
    );
    expect(turns).toHaveLength(4);
    const keys = turns.flatMap((t) =>
      [t.userText!.S!, t.assistantText!.S!].map((text) => JSON.parse(text).k),
    );
    expect(new Set(keys).size).toBe(1);
    // Another user's conversation never shares it.
    const bob = newUser();
    await chatOk(bob.token, 'unrelated');
    const bobs = (await scanAll(api.dynamo, api.tables.conversations)).find(
      (item) => item.pk?.S === `USER#${bob.sub}` && item.sk?.S?.startsWith('TURN#'),
    )!;
    expect(JSON.parse(bobs.userText!.S!).k).not.toBe(keys[0]);
  });
});

describe('history', () => {
  it('lists with an opaque sealed cursor, page by page, and refuses a tampered one', async () => {
    const dev = newUser(['developer']);
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await chatOk(dev.token, `topic number ${i}`)).conversationId);

    const seen: string[] = [];
    let cursor: string | undefined;
    const pageSizes: number[] = [];
    do {
      const page = await api.history(
        albEvent('GET', '/api/v1/conversations', {
          token: dev.token,
          query: cursor === undefined ? { limit: '2' } : { limit: '2', cursor },
        }),
      );
      expect(page.statusCode, page.body).toBe(200);
      const body = json<{ items: Array<{ id: string; title: string; turns: number }>; nextCursor?: string }>(
        page,
      );
      pageSizes.push(body.items.length);
      seen.push(...body.items.map((i) => i.id));
      for (const item of body.items) expect(item.title).toMatch(/^topic number \d$/);
      if (body.nextCursor !== undefined) {
        // Opaque: no key, user id or table layout readable in it.
        const decoded = Buffer.from(body.nextCursor, 'base64url').toString('utf8');
        expect(Object.keys(JSON.parse(decoded)).sort()).toEqual(['ct', 'iv', 'k', 'tag', 'v']);
        expect(decoded).not.toMatch(/USER#|CONV#|"pk"|"sk"/);
        expect(decoded).not.toContain(dev.sub);
      }
      cursor = body.nextCursor;
    } while (cursor !== undefined);
    expect(new Set(seen)).toEqual(ids);
    expect(seen).toHaveLength(5);
    expect(pageSizes.slice(0, 2)).toEqual([2, 2]);

    const first = json<{ nextCursor: string }>(
      await api.history(
        albEvent('GET', '/api/v1/conversations', { token: dev.token, query: { limit: '2' } }),
      ),
    ).nextCursor;
    const bytes = Buffer.from(first, 'base64url');
    const sealed = JSON.parse(bytes.toString('utf8')) as Record<string, string>;
    const flipped = Buffer.from(sealed.ct!, 'base64');
    flipped[0]! ^= 1;
    const tampered = [
      Buffer.from(JSON.stringify({ ...sealed, ct: flipped.toString('base64') })).toString('base64url'),
      `${first.slice(0, -2)}${first.endsWith('A') ? 'B' : 'A'}A`,
      Buffer.from(JSON.stringify({ pk: `USER#${dev.sub}`, sk: 'CONV#c_x' })).toString('base64url'),
      // A well-formed sealed value with a wrapped key KMS never issued.
      Buffer.from(JSON.stringify({ ...sealed, k: randomBytes(184).toString('base64') })).toString(
        'base64url',
      ),
      'not a cursor!',
      'A'.repeat(3000),
    ];
    for (const bad of tampered) {
      const result = await api.history(
        albEvent('GET', '/api/v1/conversations', { token: dev.token, query: { limit: '2', cursor: bad } }),
      );
      expect(result.statusCode, bad.slice(0, 40)).toBe(400);
      expect(errorBody(result).error.message).toBe('"cursor" is not valid.');
    }
  });

  it('gets a conversation with its messages decrypted, deletes it, and then it is gone', async () => {
    const ada = newUser();
    const first = await chatOk(ada.token, 'first question');
    await chatOk(ada.token, 'second question', first.conversationId);
    const path = `/api/v1/conversations/${first.conversationId}`;

    const got = await api.history(albEvent('GET', path, { token: ada.token }));
    expect(got.statusCode).toBe(200);
    const conversation = json<{ id: string; title: string; messages: Array<{ role: string; text: string }> }>(
      got,
    );
    expect(conversation.id).toBe(first.conversationId);
    expect(conversation.title).toBe('first question');
    expect(conversation.messages.map((m) => `${m.role}:${m.text}`)).toEqual([
      'user:first question',
      'assistant:echo: first question',
      'user:second question',
      'assistant:echo: second question',
    ]);

    const deleted = await api.history(albEvent('DELETE', path, { token: ada.token }));
    expect(deleted.statusCode).toBe(204);
    expect((await api.history(albEvent('GET', path, { token: ada.token }))).statusCode).toBe(404);
    expect((await api.history(albEvent('DELETE', path, { token: ada.token }))).statusCode).toBe(404);
    const left = (await scanAll(api.dynamo, api.tables.conversations)).filter(
      (i) => i.pk?.S === `USER#${ada.sub}`,
    );
    expect(left).toEqual([]);
    // A follow-up to the deleted conversation is refused, not resurrected.
    expect((await chat(ada.token, 'still there?', first.conversationId)).statusCode).toBe(404);
    expect(await conversationIntegrity(api)).toEqual([]);
  });

  it('keeps the table consistent under concurrent follow-ups and a racing delete', async () => {
    const dev = newUser(['developer']);
    const kept = await chatOk(dev.token, 'concurrent topic');
    const doomed = await chatOk(dev.token, 'doomed topic');

    const followUps = await Promise.all(
      Array.from({ length: 4 }, (_, i) => chat(dev.token, `follow-up ${i}`, kept.conversationId)),
    );
    const racing = await Promise.all([
      ...Array.from({ length: 3 }, (_, i) => chat(dev.token, `late ${i}`, doomed.conversationId)),
      api.history(albEvent('DELETE', `/api/v1/conversations/${doomed.conversationId}`, { token: dev.token })),
    ]);

    expect(followUps.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    const got = json<{ messages: unknown[] }>(
      await api.history(
        albEvent('GET', `/api/v1/conversations/${kept.conversationId}`, { token: dev.token }),
      ),
    );
    expect(got.messages).toHaveLength(10);
    // Each racing follow-up either landed before the delete (and went with it) or was refused.
    for (const r of racing.slice(0, 3)) expect([200, 404]).toContain(r.statusCode);
    expect(racing[3]!.statusCode).toBe(204);
    const left = (await scanAll(api.dynamo, api.tables.conversations)).filter((i) =>
      i.sk?.S?.includes(doomed.conversationId),
    );
    expect(left).toEqual([]);
    expect(await conversationIntegrity(api)).toEqual([]);
  });

  it("exports all of the caller's data decrypted, as an attachment, and audits it", async () => {
    const ada = newUser();
    const a = await chatOk(ada.token, 'export me one');
    await chatOk(ada.token, 'export me two', a.conversationId);
    const b = await chatOk(ada.token, 'another conversation');

    const result = await api.history(albEvent('GET', '/api/v1/me/export', { token: ada.token }));

    expect(result.statusCode).toBe(200);
    expect(header(result, 'Content-Disposition')).toContain('attachment');
    const body = json<{
      subject: string;
      conversations: Array<{ id: string; title: string; turns: Array<{ user: string; assistant: string }> }>;
    }>(result);
    expect(body.subject).toBe(ada.sub);
    const byId = new Map(body.conversations.map((c) => [c.id, c]));
    expect([...byId.keys()].sort()).toEqual([a.conversationId, b.conversationId].sort());
    expect(byId.get(a.conversationId)!.turns.map((t) => [t.user, t.assistant])).toEqual([
      ['export me one', 'echo: export me one'],
      ['export me two', 'echo: export me two'],
    ]);
    expect(byId.get(b.conversationId)!.title).toBe('another conversation');
    const events = await auditEvents(api);
    expect(events.some((e) => e.type === 'DATA_EXPORT' && e.actor.sub === ada.sub)).toBe(true);
  });

  it('tells a signed-in user who they are on GET /me (the e-mail claim of the token), and only a user', async () => {
    const ada = newUser(['developer']);
    const withEmail = mint(
      { ...userAccessClaims({ sub: ada.sub, groups: ['developer'] }), email: 'ada@example.com' },
      api.signingKey,
    );

    const me = await api.history(albEvent('GET', '/api/v1/me', { token: withEmail }));

    expect(me.statusCode, me.body).toBe(200);
    expect(json(me)).toEqual({
      email: 'ada@example.com',
      groups: ['developer'],
      permissions: [...permissionsForGroups(['developer'])].sort(),
    });
    // A token without the claim (issued before the trigger added it) still works: no address.
    const without = await api.history(albEvent('GET', '/api/v1/me', { token: ada.token }));
    expect(json<{ email: unknown }>(without).email).toBeNull();
    // A malformed claim is a malformed token.
    const malformed = mint(
      { ...userAccessClaims({ sub: ada.sub, groups: ['developer'] }), email: ['a@b.c'] },
      api.signingKey,
    );
    expect((await api.history(albEvent('GET', '/api/v1/me', { token: malformed }))).statusCode).toBe(401);
    // Machine clients and API keys are not a signed-in person.
    const machine = mint(machineAccessClaims({ scopes: ['omnichat/chat.read'] }), api.signingKey);
    expect((await api.history(albEvent('GET', '/api/v1/me', { token: machine }))).statusCode).toBe(403);
    const created = await api.keys(
      albEvent('POST', '/api/v1/keys', { token: ada.token, body: { name: 'k', permissions: ['chat:read'] } }),
    );
    expect(created.statusCode, created.body).toBe(201);
    const apiKey = json<{ key: string }>(created).key;
    expect((await api.history(albEvent('GET', '/api/v1/me', { apiKey }))).statusCode).toBe(403);
  });

  it('erases conversations, messages, API keys and limits on DELETE /me, leaving only the audit record', async () => {
    const ada = newUser(['developer']);
    const conversation = await chatOk(ada.token, 'remember this');
    await chatOk(ada.token, 'second question', conversation.conversationId);
    // More than one 25-item delete batch: 3 + 12 x 2 = 27 items.
    for (let i = 0; i < 12; i++) {
      if (i === 8) api.advance(60_000); // refill the rate bucket (developer burst: 10)
      await chatOk(ada.token, `topic ${i}`);
    }
    const created = await api.keys(
      albEvent('POST', '/api/v1/keys', {
        token: ada.token,
        body: { name: 'cli', permissions: ['chat:read'] },
      }),
    );
    expect(created.statusCode, created.body).toBe(201);
    const apiKey = json<{ key: string }>(created).key;
    const owned = async () => ({
      conversations: (await scanAll(api.dynamo, api.tables.conversations)).filter(
        (i) => i.pk?.S === `USER#${ada.sub}`,
      ),
      keys: (await scanAll(api.dynamo, api.tables.apiKeys)).filter((i) => i.owner?.S === ada.sub),
      limits: (await scanAll(api.dynamo, api.tables.limits)).filter((i) => i.pk?.S === `USER#${ada.sub}`),
    });
    const before = await owned();
    expect(before.conversations).toHaveLength(27);
    expect(before.keys.length).toBeGreaterThanOrEqual(1);
    expect(before.limits.length).toBeGreaterThanOrEqual(2);

    const result = await api.history(albEvent('DELETE', '/api/v1/me', { token: ada.token }));

    expect(result.statusCode, result.body).toBe(200);
    expect(json(result)).toMatchObject({ erased: true, items: 27, apiKeys: 1 });
    expect(await owned()).toEqual({ conversations: [], keys: [], limits: [] });
    // Only the directory tombstone stays (erased, no groups), and the session that erased is over.
    expect(
      (await scanAll(api.dynamo, api.tables.apiKeys)).filter((i) => i.pk?.S === `OWNER#${ada.sub}`),
    ).toEqual([expect.objectContaining({ status: { S: 'erased' }, groups: { S: '[]' } })]);
    // The key is dead, and nothing is left to export.
    const withKey = await api.history(albEvent('GET', '/api/v1/conversations', { apiKey }));
    expect(withKey.statusCode).toBe(401);
    // The erasing session is refused from the function's next directory read (within the
    // cache bound); until then it finds nothing left to export.
    const exportAnswer = await api.history(albEvent('GET', '/api/v1/me/export', { token: ada.token }));
    if (exportAnswer.statusCode === 200) {
      expect(json<{ conversations: unknown[] }>(exportAnswer).conversations).toEqual([]);
    } else {
      expect(exportAnswer.statusCode).toBe(401);
    }
    const erasures = (await auditEvents(api)).filter(
      (e) => e.type === 'DATA_ERASURE' && e.actor.sub === ada.sub,
    );
    expect(erasures.map((e) => `${e.action}:${e.outcome}`).sort()).toEqual([
      'me.erase.request:attempted',
      'me.erase:success',
    ]);
  });
});

describe('isolation', () => {
  it("answers another user's conversation exactly like a missing one, on every route", async () => {
    const ada = newUser();
    const eve = newUser();
    const adas = await chatOk(ada.token, 'private to Ada');
    const missing = 'c_AAAAAAAAAAAAAAAAAAAAAA';
    const shapeOf = (result: { statusCode: number; body?: string }) => {
      const body = errorBody(result as never);
      return { status: result.statusCode, code: body.error.code, message: body.error.message };
    };

    for (const method of ['GET', 'DELETE'] as const) {
      const foreign = await api.history(
        albEvent(method, `/api/v1/conversations/${adas.conversationId}`, { token: eve.token }),
      );
      const absent = await api.history(
        albEvent(method, `/api/v1/conversations/${missing}`, { token: eve.token }),
      );
      expect(foreign.statusCode).toBe(404);
      expect(shapeOf(foreign)).toEqual(shapeOf(absent));
    }
    const follow = await chat(eve.token, 'let me in', adas.conversationId);
    const followMissing = await chat(eve.token, 'let me in', missing);
    expect(shapeOf(follow)).toEqual(shapeOf(followMissing));
    expect(follow.statusCode).toBe(404);

    const list = json<{ items: unknown[] }>(
      await api.history(albEvent('GET', '/api/v1/conversations', { token: eve.token })),
    );
    expect(list.items).toEqual([]);
    const exported = json<{ conversations: unknown[] }>(
      await api.history(albEvent('GET', '/api/v1/me/export', { token: eve.token })),
    );
    expect(exported.conversations).toEqual([]);
    // Eve cannot see or revoke Ada's API key either.
    const adaKey = await api.keys(
      albEvent('POST', '/api/v1/keys', {
        token: ada.token,
        body: { name: 'ada', permissions: ['chat:read'] },
      }),
    );
    const { key: adaSecret, summary } = json<{ key: string; summary: { keyId: string } }>(adaKey);
    const revoke = await api.keys(albEvent('DELETE', `/api/v1/keys/${summary.keyId}`, { token: eve.token }));
    expect(shapeOf(revoke)).toEqual(
      shapeOf(
        await api.keys(albEvent('DELETE', '/api/v1/keys/key_AAAAAAAAAAAAAAAAAAAAAA', { token: eve.token })),
      ),
    );
    expect(
      json<{ items: unknown[] }>(await api.keys(albEvent('GET', '/api/v1/keys', { token: eve.token }))).items,
    ).toEqual([]);
    // Ada's conversation is untouched after Eve's attempts, including Eve erasing "her" data.
    expect((await api.history(albEvent('DELETE', '/api/v1/me', { token: eve.token }))).statusCode).toBe(200);
    const still = await api.history(
      albEvent('GET', `/api/v1/conversations/${adas.conversationId}`, { token: ada.token }),
    );
    expect(still.statusCode).toBe(200);
    expect(json<{ messages: Array<{ text: string }> }>(still).messages[0]!.text).toBe('private to Ada');
    expect(
      (await api.history(albEvent('GET', '/api/v1/conversations', { apiKey: adaSecret }))).statusCode,
    ).toBe(200);
  });

  it('refuses a cursor sealed for another user, even a genuine one', async () => {
    const ada = newUser(['developer']);
    const eve = newUser();
    for (let i = 0; i < 3; i++) await chatOk(ada.token, `ada ${i}`);
    const adaCursor = json<{ nextCursor: string }>(
      await api.history(
        albEvent('GET', '/api/v1/conversations', { token: ada.token, query: { limit: '1' } }),
      ),
    ).nextCursor;
    expect(adaCursor).toBeDefined();

    const result = await api.history(
      albEvent('GET', '/api/v1/conversations', {
        token: eve.token,
        query: { limit: '1', cursor: adaCursor },
      }),
    );

    expect(result.statusCode).toBe(400);
    expect(errorBody(result).error.message).toBe('"cursor" is not valid.');
  });

  it('gives a machine client only what its scopes grant, in a partition of its own', async () => {
    const ada = newUser();
    const adas = await chatOk(ada.token, 'not for machines');
    const token = (scopes: string[]) => mint(machineAccessClaims({ scopes }), api.signingKey);
    const writer = token(['omnichat/chat.write']);
    const reader = token(['omnichat/chat.read']);

    const chatted = await chat(writer, 'batch job question');
    expect(chatted.statusCode, chatted.body).toBe(200);
    expect((await chat(reader, 'may I?')).statusCode).toBe(403);
    expect((await api.history(albEvent('GET', '/api/v1/conversations', { token: writer }))).statusCode).toBe(
      403,
    );
    const listed = json<{ items: Array<{ id: string }> }>(
      await api.history(albEvent('GET', '/api/v1/conversations', { token: reader })),
    );
    expect(listed.items.map((i) => i.id)).toEqual([json<ChatBody>(chatted).conversationId]);
    const foreign = await api.history(
      albEvent('GET', `/api/v1/conversations/${adas.conversationId}`, { token: reader }),
    );
    expect(foreign.statusCode).toBe(404);
    // Personal keys belong to people, not to machine clients.
    expect(
      (await api.keys(albEvent('GET', '/api/v1/keys', { token: token(['omnichat/keys.manage']) })))
        .statusCode,
    ).toBe(403);
  });

  it('limits an API key to the permissions it carries', async () => {
    const ada = newUser();
    const conversation = await chatOk(ada.token, 'readable by my key');
    const create = async (permissions: string[]) => {
      const result = await api.keys(
        albEvent('POST', '/api/v1/keys', { token: ada.token, body: { name: 'k', permissions } }),
      );
      expect(result.statusCode, result.body).toBe(201);
      return json<{ key: string }>(result).key;
    };
    const readOnly = await create(['chat:read']);
    const writer = await create(['chat:write']);
    const path = `/api/v1/conversations/${conversation.conversationId}`;

    expect((await api.history(albEvent('GET', path, { apiKey: readOnly }))).statusCode).toBe(200);
    expect(
      (await api.history(albEvent('GET', '/api/v1/conversations', { apiKey: readOnly }))).statusCode,
    ).toBe(200);
    const denied = [
      await api.chat(albEvent('POST', '/api/v1/chat', { apiKey: readOnly, body: { message: 'hi' } })),
      await api.history(albEvent('DELETE', path, { apiKey: readOnly })),
      await api.history(albEvent('DELETE', '/api/v1/me', { apiKey: readOnly })),
      await api.keys(albEvent('GET', '/api/v1/keys', { apiKey: readOnly })),
      await api.keys(
        albEvent('POST', '/api/v1/keys', { apiKey: writer, body: { name: 'x', permissions: ['chat:read'] } }),
      ),
      await api.history(albEvent('GET', path, { apiKey: writer })),
    ];
    expect(denied.map((r) => r.statusCode)).toEqual([403, 403, 403, 403, 403, 403]);
    for (const r of denied) expect(errorBody(r).error.code).toBe('forbidden');
    const calls = api.standIn.calls.length;
    const viaKey = await api.chat(
      albEvent('POST', '/api/v1/chat', {
        apiKey: writer,
        body: { message: 'from my key', conversationId: conversation.conversationId },
      }),
    );
    expect(viaKey.statusCode, viaKey.body).toBe(200);
    expect(api.standIn.calls).toHaveLength(calls + 1);
    // Conversation survived the denied delete and gained the key's turn.
    const after = json<{ messages: unknown[] }>(
      await api.history(albEvent('GET', path, { token: ada.token })),
    );
    expect(after.messages).toHaveLength(4);
  });
});
