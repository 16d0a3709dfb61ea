/**
 * DynamoDB adapter of `ApiKeyStore` on the `apiKeysTable` schema (lib/data/table-schemas.ts):
 * pk `KEY#<sha256 hex>`, GSI `byOwner` on owner/createdAt, TTL on `expiresAt`.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { callStore } from '../shared/dynamodb-failures';
import { ConflictError } from '../shared/errors';
import type { ApiKeyRecord, ApiKeyStore, ApiKeySummary } from './api-keys';
import { DynamoDbOwnerDirectory } from './owner-directory-dynamodb';
import { isPermission, type Permission } from './permissions';

/** Name of the owner index in `apiKeysTable`. */
export const BY_OWNER_INDEX = 'byOwner';
// Everything a listing may show: the partition key (the hash) is deliberately not projected.
const SUMMARY_PROJECTION = 'keyId, #name, #permissions, createdAt, expiresAt, lastUsedAt, revokedAt';
const SUMMARY_NAMES = { '#name': 'name', '#permissions': 'permissions' };

const keyOf = (hash: string): Record<string, AttributeValue> => ({ pk: { S: `KEY#${hash}` } });

function toItem(record: ApiKeyRecord): Record<string, AttributeValue> {
  return {
    ...keyOf(record.hash),
    keyId: { S: record.keyId },
    owner: { S: record.owner },
    ownerUsername: { S: record.ownerUsername },
    name: { S: record.name },
    permissions: { L: record.permissions.map((permission) => ({ S: permission })) },
    createdAt: { S: record.createdAt },
    expiresAt: { N: String(record.expiresAt) },
  };
}

function readSummary(item: Record<string, AttributeValue>): ApiKeySummary {
  const permissions: Permission[] = (item.permissions?.L ?? [])
    .map((value) => value.S ?? '')
    .filter((value): value is Permission => isPermission(value));
  return {
    keyId: item.keyId?.S ?? '',
    name: item.name?.S ?? '',
    permissions,
    createdAt: item.createdAt?.S ?? '',
    expiresAt: Number(item.expiresAt?.N ?? 0),
    ...(item.lastUsedAt?.S === undefined ? {} : { lastUsedAt: item.lastUsedAt.S }),
    ...(item.revokedAt?.S === undefined ? {} : { revokedAt: item.revokedAt.S }),
  };
}

/** `ApiKeyStore` on DynamoDB. */
export class DynamoDbApiKeyStore implements ApiKeyStore {
  private readonly client: Pick<DynamoDBClient, 'send'>;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    // Throttling and outages answer 503 with Retry-After, as every other store does;
    // conditional failures and client faults pass through unchanged.
    this.client = {
      send: ((command: Parameters<DynamoDBClient['send']>[0]) =>
        callStore(() => client.send(command))) as DynamoDBClient['send'],
    };
  }

  async create(record: ApiKeyRecord): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem(record),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      // 256 random bits do not collide; if they ever do, nothing was overwritten.
      if (error instanceof ConditionalCheckFailedException)
        throw new ConflictError('Key already exists.', error);
      throw error;
    }
  }

  async getByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const { Item: item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: keyOf(hash), ConsistentRead: true }),
    );
    if (!item || item.owner?.S === undefined || item.ownerUsername?.S === undefined) return undefined;
    return { ...readSummary(item), hash, owner: item.owner.S, ownerUsername: item.ownerUsername.S };
  }

  async listByOwner(owner: string): Promise<ApiKeySummary[]> {
    const summaries: ApiKeySummary[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: BY_OWNER_INDEX,
          KeyConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', ...SUMMARY_NAMES },
          ExpressionAttributeValues: { ':owner': { S: owner } },
          ProjectionExpression: SUMMARY_PROJECTION,
          ScanIndexForward: false,
          ExclusiveStartKey: startKey,
        }),
      );
      summaries.push(...(page.Items ?? []).map(readSummary));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return summaries;
  }

  async revoke(
    owner: string,
    keyId: string,
    revokedAt: string,
  ): Promise<{ summary: ApiKeySummary; newlyRevoked: boolean } | undefined> {
    // The key id is not the table key: find the owner's item through the owner index (so
    // another user's id is simply not found), then update it conditioned on the owner.
    const { Items: items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: BY_OWNER_INDEX,
        KeyConditionExpression: '#owner = :owner',
        FilterExpression: 'keyId = :keyId',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': { S: owner }, ':keyId': { S: keyId } },
        ProjectionExpression: 'pk',
      }),
    );
    const pk = items?.[0]?.pk;
    if (!pk) return undefined;
    try {
      const { Attributes: attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'SET revokedAt = :revokedAt',
          // Only the first revocation writes (and is audited); a repeat reads the item back.
          ConditionExpression:
            'attribute_exists(pk) AND #owner = :owner AND keyId = :keyId AND attribute_not_exists(revokedAt)',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':owner': { S: owner },
            ':keyId': { S: keyId },
            ':revokedAt': { S: revokedAt },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return attributes ? { summary: readSummary(attributes), newlyRevoked: true } : undefined;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const { Item: item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }),
    );
    if (!item || item.owner?.S !== owner || item.keyId?.S !== keyId || item.revokedAt?.S === undefined) {
      return undefined;
    }
    return { summary: readSummary(item), newlyRevoked: false };
  }

  async touch(hash: string, usedAt: string, minIntervalMs: number): Promise<void> {
    const threshold = new Date(Date.parse(usedAt) - minIntervalMs).toISOString();
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(hash),
          UpdateExpression: 'SET lastUsedAt = :usedAt',
          // Throttled: at most one write per interval per key, and never resurrects a deleted item.
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :threshold)',
          ExpressionAttributeValues: { ':usedAt': { S: usedAt }, ':threshold': { S: threshold } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  /**
   * Erasure (`DELETE /api/v1/me`): deletes every key of the owner, revoked or not. Returns
   * how many keys were deleted. Item by item: dynalite has no transactions, and a retry after
   * a partial failure simply finds fewer keys. {@link revokeOwner} ends the erasure.
   */
  async eraseOwner(owner: string): Promise<number> {
    let deleted = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: BY_OWNER_INDEX,
          KeyConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': { S: owner } },
          ProjectionExpression: 'pk',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.pk === undefined) continue;
        await this.client.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: { pk: item.pk },
            // Only ever this owner's key, even if the index were stale.
            ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': { S: owner } },
          }),
        );
        deleted++;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return deleted;
  }

  /**
   * Turns the owner-directory item into a tombstone (`status: erased`, no groups, `validAfter`
   * now), so every token and session issued before the erasure is refused from the next
   * directory read on. The tombstone holds only the pseudonymous sub and no group.
   */
  async revokeOwner(owner: string, at: Date = new Date()): Promise<void> {
    await new DynamoDbOwnerDirectory(this.client, this.tableName).record(owner, {
      groups: [],
      status: 'erased',
      revokeBefore: Math.ceil(at.getTime() / 1000),
      at,
    });
  }
}
