import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbConversationStore, type StoredTurn } from '../../lambda/chat/conversation-store';
import { newConversationId, newTurnId } from '../../lambda/chat/ids';
import type { SealedText } from '../../lambda/chat/ports';
import { ServiceUnavailableError } from '../../lambda/shared/errors';
import { conversationsTable } from '../../lib/data/table-schemas';
import { closedPort, errorServer, shortTimeoutClient } from '../limits/dynamodb-clients';
import { type DynaliteHandle, startDynalite } from '../support/dynalite';

const sealedOf = (text: string): SealedText => ({
  v: 1,
  k: 'k',
  iv: 'iv',
  tag: 'tag',
  ct: Buffer.from(text).toString('base64'),
});
const turn = (at: number, text: string): StoredTurn => ({
  id: newTurnId(at),
  at,
  modelId: 'm',
  user: sealedOf(`q:${text}`),
  assistant: sealedOf(`a:${text}`),
  inputTokens: 3,
  outputTokens: 5,
  guardrail: 'allow',
});

describe('DynamoDB conversation store (dynalite)', () => {
  let dynalite: DynaliteHandle;
  let store: DynamoDbConversationStore;

  beforeAll(async () => {
    dynalite = await startDynalite();
    const names = await dynalite.createTables([conversationsTable]);
    store = new DynamoDbConversationStore(dynalite.client, names[conversationsTable.id]!);
  });
  afterAll(async () => dynalite.stop());

  it('creates a conversation on its first turn and appends later turns in order', async () => {
    const id = newConversationId();
    await store.appendTurn(
      'alice',
      { id, title: sealedOf('t'), modelId: 'm', isNew: true },
      turn(1000, 'one'),
      99,
    );
    await store.appendTurn(
      'alice',
      { id, title: sealedOf('ignored'), modelId: 'm', isNew: false },
      turn(2000, 'two'),
      99,
    );
    const header = await store.getHeader('alice', id);
    expect(header).toMatchObject({ id, turns: 2, createdAt: 1000, updatedAt: 2000, title: sealedOf('t') });
    expect((await store.allTurns('alice', id)).map((t) => t.at)).toEqual([1000, 2000]);
    expect((await store.recentTurns('alice', id, 1)).map((t) => t.at)).toEqual([2000]);
  });

  it('refuses to create a conversation twice and removes the orphan turn', async () => {
    const id = newConversationId();
    await store.appendTurn(
      'alice',
      { id, title: sealedOf('t'), modelId: 'm', isNew: true },
      turn(1000, 'a'),
      99,
    );
    await expect(
      store.appendTurn('alice', { id, title: sealedOf('t'), modelId: 'm', isNew: true }, turn(1500, 'b'), 99),
    ).rejects.toThrow();
    expect((await store.allTurns('alice', id)).map((t) => t.at)).toEqual([1000]);
  });

  it('refuses a turn for a conversation deleted meanwhile and leaves nothing behind', async () => {
    const id = newConversationId();
    await expect(
      store.appendTurn(
        'alice',
        { id, title: sealedOf('t'), modelId: 'm', isNew: false },
        turn(1000, 'x'),
        99,
      ),
    ).rejects.toThrow();
    expect(await store.allTurns('alice', id)).toEqual([]);
    expect(await store.getHeader('alice', id)).toBeUndefined();
  });

  it("never shows one user another user's conversation", async () => {
    const id = newConversationId();
    await store.appendTurn(
      'alice',
      { id, title: sealedOf('t'), modelId: 'm', isNew: true },
      turn(1000, 'secret'),
      99,
    );
    expect(await store.getHeader('bob', id)).toBeUndefined();
    expect(await store.allTurns('bob', id)).toEqual([]);
    expect(await store.deleteConversation('bob', id)).toBe(false);
    expect(await store.getHeader('alice', id)).toBeDefined();
    await expect(store.listHeaders('bob', 10, { pk: 'USER#alice', sk: `CONV#${id}` })).rejects.toThrow(
      /page key/,
    );
  });

  it('pages through conversations', async () => {
    const user = 'pager';
    for (let i = 0; i < 5; i++) {
      await store.appendTurn(
        user,
        { id: newConversationId(), title: sealedOf(`t${i}`), modelId: 'm', isNew: true },
        turn(i, 'x'),
        99,
      );
    }
    const seen: string[] = [];
    let after: Record<string, string> | undefined;
    let pages = 0;
    do {
      const page = await store.listHeaders(user, 2, after);
      seen.push(...page.items.map((h) => h.id));
      after = page.next;
      pages++;
    } while (after && pages < 10);
    expect(new Set(seen).size).toBe(5);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('deletes a conversation with its turns, and erases everything of a user', async () => {
    const id = newConversationId();
    await store.appendTurn(
      'carol',
      { id, title: sealedOf('t'), modelId: 'm', isNew: true },
      turn(1, 'x'),
      99,
    );
    await store.appendTurn(
      'carol',
      { id: newConversationId(), title: sealedOf('u'), modelId: 'm', isNew: true },
      turn(2, 'y'),
      99,
    );
    expect(await store.deleteConversation('carol', id)).toBe(true);
    expect(await store.allTurns('carol', id)).toEqual([]);
    expect(await store.eraseUser('carol')).toBe(2);
    expect(await store.allConversationIds('carol')).toEqual([]);
  });

  // One failure policy for every store (lambda/shared/dynamodb-failures.ts): an outage is a
  // 503 the client may retry; a client fault (a missing table) is a bug, rethrown as is (500).
  it('maps an unreachable DynamoDB to 503 with Retry-After', async () => {
    const client = shortTimeoutClient(`http://127.0.0.1:${await closedPort()}`);
    try {
      const broken = new DynamoDbConversationStore(client, conversationsTable.id);
      const error = await broken.getHeader('alice', newConversationId()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ status: 503, headers: { 'Retry-After': '2' } });
    } finally {
      client.destroy();
    }
  });

  it('maps throttling to 503', async () => {
    const server = await errorServer('ProvisionedThroughputExceededException', 400);
    const client = shortTimeoutClient(server.endpoint);
    try {
      const broken = new DynamoDbConversationStore(client, conversationsTable.id);
      const error = await broken.listHeaders('alice', 10).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
    } finally {
      client.destroy();
      await server.stop();
    }
  });

  it('rethrows a missing table unchanged instead of disguising the misconfiguration as an outage', async () => {
    const broken = new DynamoDbConversationStore(dynalite.client, 'no-such-table');
    const error = await broken.getHeader('alice', newConversationId()).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
