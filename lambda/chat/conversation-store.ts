/**
 * Conversations and their turns. Every item lives under the caller's partition
 * (`USER#<sub>`), so no query of this store can return another user's data: isolation
 * is a property of the key, not of a filter.
 *
 * Item layout (conversations table):
 * - header  `pk=USER#<sub>`, `sk=CONV#<id>`: sealed title, model, times, turn count;
 * - turn    `pk=USER#<sub>`, `sk=TURN#<id>#<turnId>`: sealed user message and reply, usage.
 * Headers and turns have distinct prefixes so listing conversations reads headers only.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { callStore } from '../shared/dynamodb-failures';
import { ConflictError, NotFoundError, ServiceUnavailableError } from '../shared/errors';
import type { SealedText } from './ports';

/** A conversation's header. */
export interface ConversationHeader {
  readonly id: string;
  readonly title: SealedText;
  readonly modelId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly turns: number;
}

/** One exchange: the user's message and the reply, both sealed. */
export interface StoredTurn {
  readonly id: string;
  readonly at: number;
  readonly modelId: string;
  readonly user: SealedText;
  readonly assistant: SealedText;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** What the guardrails did with this turn: `allow` or `mask`. */
  readonly guardrail: string;
}

/** A position in a listing, opaque to callers (the service seals it into a cursor). */
export type PageKey = Record<string, string>;

/** Port of the conversation store. */
export interface ConversationStore {
  getHeader(user: string, id: string): Promise<ConversationHeader | undefined>;
  listHeaders(
    user: string,
    limit: number,
    after?: PageKey,
  ): Promise<{ items: ConversationHeader[]; next?: PageKey }>;
  /** The most recent `limit` turns, oldest first. */
  recentTurns(user: string, id: string, limit: number): Promise<StoredTurn[]>;
  /** Every turn of a conversation, oldest first. */
  allTurns(user: string, id: string): Promise<StoredTurn[]>;
  /**
   * Stores a turn and updates (or creates) the header. The turn is written first with one
   * conditional put; if the header update then fails, the turn is deleted again, so a
   * failure leaves nothing behind.
   */
  appendTurn(
    user: string,
    conversation: { id: string; title: SealedText; modelId: string; isNew: boolean },
    turn: StoredTurn,
    expiresAt: number,
  ): Promise<void>;
  /** Deletes a conversation and its turns; false when there was none. */
  deleteConversation(user: string, id: string): Promise<boolean>;
  /** Ids of every conversation of the user. */
  allConversationIds(user: string): Promise<string[]>;
  /** Deletes everything of the user. */
  eraseUser(user: string): Promise<number>;
}

const userPk = (user: string) => `USER#${user}`;
const headerSk = (id: string) => `CONV#${id}`;
const turnSkPrefix = (id: string) => `TURN#${id}#`;

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });

function str(item: Record<string, AttributeValue>, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw new Error(`stored item lacks ${name}`);
  return value;
}
function num(item: Record<string, AttributeValue>, name: string): number {
  return Number(item[name]?.N ?? '0');
}
function sealed(item: Record<string, AttributeValue>, name: string): SealedText {
  return JSON.parse(str(item, name)) as SealedText;
}

function toHeader(item: Record<string, AttributeValue>): ConversationHeader {
  return {
    id: str(item, 'sk').slice('CONV#'.length),
    title: sealed(item, 'title'),
    modelId: str(item, 'modelId'),
    createdAt: num(item, 'createdAt'),
    updatedAt: num(item, 'updatedAt'),
    turns: num(item, 'turns'),
  };
}

function toTurn(item: Record<string, AttributeValue>): StoredTurn {
  const sk = str(item, 'sk');
  return {
    id: sk.slice(sk.lastIndexOf('#') + 1),
    at: num(item, 'at'),
    modelId: str(item, 'modelId'),
    user: sealed(item, 'userText'),
    assistant: sealed(item, 'assistantText'),
    inputTokens: num(item, 'inputTokens'),
    outputTokens: num(item, 'outputTokens'),
    guardrail: str(item, 'guardrail'),
  };
}

/** DynamoDB adapter of {@link ConversationStore}. */
export class DynamoDbConversationStore implements ConversationStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getHeader(user: string, id: string): Promise<ConversationHeader | undefined> {
    const result = await callStore(() =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: s(userPk(user)), sk: s(headerSk(id)) },
          ConsistentRead: true,
        }),
      ),
    );
    return result.Item ? toHeader(result.Item) : undefined;
  }

  async listHeaders(user: string, limit: number, after?: PageKey) {
    // The key of the page is bound to the caller's partition: a key for another user is refused.
    if (after && (after.pk !== userPk(user) || !after.sk?.startsWith('CONV#'))) {
      throw new Error('page key does not belong to this user');
    }
    const page = await callStore(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :conv)',
          ExpressionAttributeValues: { ':pk': s(userPk(user)), ':conv': s('CONV#') },
          Limit: limit,
          ...(after ? { ExclusiveStartKey: { pk: s(after.pk!), sk: s(after.sk!) } } : {}),
        }),
      ),
    );
    const items = (page.Items ?? []).map(toHeader);
    const last = page.LastEvaluatedKey;
    return last ? { items, next: { pk: last.pk?.S ?? '', sk: last.sk?.S ?? '' } } : { items };
  }

  async recentTurns(user: string, id: string, limit: number): Promise<StoredTurn[]> {
    const result = await callStore(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': s(userPk(user)), ':prefix': s(turnSkPrefix(id)) },
          ScanIndexForward: false,
          Limit: limit,
          ConsistentRead: true,
        }),
      ),
    );
    return (result.Items ?? []).map(toTurn).reverse();
  }

  async allTurns(user: string, id: string): Promise<StoredTurn[]> {
    const turns: StoredTurn[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await callStore(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': s(userPk(user)), ':prefix': s(turnSkPrefix(id)) },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      turns.push(...(page.Items ?? []).map(toTurn));
      start = page.LastEvaluatedKey;
    } while (start);
    return turns;
  }

  async appendTurn(
    user: string,
    conversation: { id: string; title: SealedText; modelId: string; isNew: boolean },
    turn: StoredTurn,
    expiresAt: number,
  ): Promise<void> {
    const turnKey = { pk: s(userPk(user)), sk: s(`${turnSkPrefix(conversation.id)}${turn.id}`) };
    await callStore(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...turnKey,
            at: n(turn.at),
            modelId: s(turn.modelId),
            userText: s(JSON.stringify(turn.user)),
            assistantText: s(JSON.stringify(turn.assistant)),
            inputTokens: n(turn.inputTokens),
            outputTokens: n(turn.outputTokens),
            guardrail: s(turn.guardrail),
            expiresAt: n(expiresAt),
          },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      ),
    );
    try {
      await callStore(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: s(userPk(user)), sk: s(headerSk(conversation.id)) },
            // A new conversation must not exist yet; an existing one must still exist
            // (deleted meanwhile = the turn is refused, not resurrected).
            ConditionExpression: conversation.isNew ? 'attribute_not_exists(sk)' : 'attribute_exists(sk)',
            UpdateExpression:
              'SET title = if_not_exists(title, :title), modelId = :model, createdAt = if_not_exists(createdAt, :at), updatedAt = :at, expiresAt = :exp ADD turns :one',
            ExpressionAttributeValues: {
              ':title': s(JSON.stringify(conversation.title)),
              ':model': s(conversation.modelId),
              ':at': n(turn.at),
              ':exp': n(expiresAt),
              ':one': n(1),
            },
          }),
        ),
      );
    } catch (error) {
      // Compensate: the turn must not outlive a failed header update.
      await this.client
        .send(new DeleteItemCommand({ TableName: this.tableName, Key: turnKey }))
        .catch(() => undefined);
      // The condition failed: the conversation was deleted meanwhile (answered like a missing
      // one), or a new id already exists (128 random bits: never, but not a 500 either).
      if (error instanceof ConditionalCheckFailedException) {
        throw conversation.isNew
          ? new ConflictError('Please retry.', error)
          : new NotFoundError('Conversation not found.', error);
      }
      throw error;
    }
  }

  async deleteConversation(user: string, id: string): Promise<boolean> {
    try {
      // The header goes first, conditionally: a concurrent append then fails its
      // attribute_exists check and compensates, so no orphan turns are created.
      await callStore(() =>
        this.client.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: { pk: s(userPk(user)), sk: s(headerSk(id)) },
            ConditionExpression: 'attribute_exists(sk)',
          }),
        ),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // No header: nothing to delete, or a delete that failed after the header went (503)
      // and is being retried. Finish it, so its turns do not outlive it until the TTL.
      await this.deleteTurns(user, id);
      return false;
    }
    await this.deleteTurns(user, id);
    return true;
  }

  private async deleteTurns(user: string, id: string): Promise<void> {
    const turns = await this.allTurns(user, id);
    await this.deleteKeys(turns.map((t) => ({ pk: userPk(user), sk: `${turnSkPrefix(id)}${t.id}` })));
  }

  async allConversationIds(user: string): Promise<string[]> {
    const ids: string[] = [];
    let after: PageKey | undefined;
    do {
      const page = await this.listHeaders(user, 100, after);
      ids.push(...page.items.map((h) => h.id));
      after = page.next;
    } while (after);
    return ids;
  }

  async eraseUser(user: string): Promise<number> {
    const keys: Array<{ pk: string; sk: string }> = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await callStore(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': s(userPk(user)) },
            ProjectionExpression: 'pk, sk',
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      for (const item of page.Items ?? []) keys.push({ pk: str(item, 'pk'), sk: str(item, 'sk') });
      start = page.LastEvaluatedKey;
    } while (start);
    await this.deleteKeys(keys);
    return keys.length;
  }

  private async deleteKeys(keys: ReadonlyArray<{ pk: string; sk: string }>): Promise<void> {
    for (let i = 0; i < keys.length; i += 25) {
      let requests: WriteRequest[] = keys
        .slice(i, i + 25)
        .map((k) => ({ DeleteRequest: { Key: { pk: s(k.pk), sk: s(k.sk) } } }));
      // Unprocessed items are retried a bounded number of times, then the failure surfaces.
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt === 5) throw new ServiceUnavailableError();
        const result = await callStore(() =>
          this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: requests } })),
        );
        requests = (result.UnprocessedItems?.[this.tableName] ?? []).flatMap((r) =>
          r.DeleteRequest?.Key ? [{ DeleteRequest: { Key: r.DeleteRequest.Key } }] : [],
        );
        if (requests.length > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
      }
    }
  }
}
