/**
 * The owner directory (lambda/auth/owner-directory.ts) on the API keys table, for functions in
 * isolated subnets: a user pool with a domain cannot be reached through PrivateLink, so the
 * functions cannot ask Cognito for a user's current groups at request time; the directory is
 * kept true by its writers instead (see owner-directory.ts).
 *
 * Items:
 * - `pk=OWNER#<sub>`: `groups` (JSON list), `status`, `validAfter` (epoch seconds),
 *   `updatedAt`. Older items with only `enabled` read as active/disabled. A missing item is
 *   an unknown subject: every credential of it is refused (fail closed).
 * - `pk=ALIAS#<sha256 of the lower-cased e-mail>`: `sub`. Lets the directory-sync function
 *   resolve an admin call made with the e-mail alias, without storing the address.
 */
import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ServiceUnavailableError } from '../shared/errors';
import {
  OWNER_STATUSES,
  type OwnerChange,
  type OwnerDirectoryWriter,
  type OwnerRecord,
  type OwnerStatus,
} from './owner-directory';

const ownerPk = (sub: string) => `OWNER#${sub}`;
/** The alias item key of an e-mail address (hashed: the table holds no address). */
export const aliasPk = (email: string) =>
  `ALIAS#${createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex')}`;

function readRecord(item: Record<string, AttributeValue>): OwnerRecord {
  let groups: string[] = [];
  try {
    const parsed = JSON.parse(item.groups?.S ?? '[]') as unknown;
    if (Array.isArray(parsed)) groups = parsed.filter((g): g is string => typeof g === 'string');
  } catch {
    // A corrupt list grants nothing.
  }
  const rawStatus = item.status?.S;
  const status: OwnerStatus = OWNER_STATUSES.includes(rawStatus as OwnerStatus)
    ? (rawStatus as OwnerStatus)
    : item.enabled?.BOOL === true && rawStatus === undefined
      ? 'active'
      : 'disabled';
  const validAfter = Number(item.validAfter?.N ?? '0');
  return { groups, status, validAfter: Number.isFinite(validAfter) ? validAfter : Number.MAX_SAFE_INTEGER };
}

/** DynamoDB adapter of the owner directory. */
export class DynamoDbOwnerDirectory implements OwnerDirectoryWriter {
  constructor(
    private readonly client: Pick<DynamoDBClient, 'send'>,
    private readonly tableName: string,
  ) {}

  async lookup(sub: string): Promise<OwnerRecord | null> {
    try {
      const { Item: item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: ownerPk(sub) } },
          ConsistentRead: true,
        }),
      );
      return item ? readRecord(item) : null;
    } catch (error) {
      throw new ServiceUnavailableError(undefined, 2, error);
    }
  }

  async record(sub: string, change: OwnerChange): Promise<void> {
    const names: Record<string, string> = { '#updatedAt': 'updatedAt' };
    const values: Record<string, AttributeValue> = { ':updatedAt': { S: change.at.toISOString() } };
    const sets = ['#updatedAt = :updatedAt', 'validAfter = if_not_exists(validAfter, :zero)'];
    values[':zero'] = { N: '0' };
    if (change.groups !== undefined) {
      names['#groups'] = 'groups';
      values[':groups'] = { S: JSON.stringify([...new Set(change.groups)]) };
      sets.push('#groups = :groups');
    } else {
      sets.push('#groups = if_not_exists(#groups, :noGroups)');
      names['#groups'] = 'groups';
      values[':noGroups'] = { S: '[]' };
    }
    names['#status'] = 'status';
    if (change.status !== undefined) {
      values[':status'] = { S: change.status };
      sets.push('#status = :status');
    } else {
      values[':active'] = { S: 'active' };
      sets.push('#status = if_not_exists(#status, :active)');
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: ownerPk(sub) } },
          UpdateExpression: `SET ${sets.join(', ')} REMOVE enabled`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      if (change.revokeBefore !== undefined) {
        // validAfter only moves forward, so two writers racing cannot un-revoke anything.
        await this.client
          .send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: { pk: { S: ownerPk(sub) } },
              UpdateExpression: 'SET validAfter = :validAfter',
              ConditionExpression: 'attribute_not_exists(validAfter) OR validAfter < :validAfter',
              ExpressionAttributeValues: { ':validAfter': { N: String(change.revokeBefore) } },
            }),
          )
          .catch((error: unknown) => {
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
          });
      }
    } catch (error) {
      throw new ServiceUnavailableError(undefined, 2, error);
    }
  }

  /** Remembers which sub an e-mail address belongs to (pre-token trigger). */
  async recordAlias(email: string, sub: string): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: { S: aliasPk(email) }, sub: { S: sub } },
        }),
      );
    } catch (error) {
      throw new ServiceUnavailableError(undefined, 2, error);
    }
  }

  /** The sub an e-mail address was last seen with; `undefined` when unknown. */
  async subOfAlias(email: string): Promise<string | undefined> {
    try {
      const { Item: item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: aliasPk(email) } },
          ConsistentRead: true,
        }),
      );
      return item?.sub?.S;
    } catch (error) {
      throw new ServiceUnavailableError(undefined, 2, error);
    }
  }
}
