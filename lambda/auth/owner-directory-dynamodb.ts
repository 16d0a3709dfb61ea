/**
 * `OwnerDirectory` on the API keys table, for functions in isolated subnets: a user pool
 * with a domain cannot be reached through PrivateLink (Cognito's documented limit), so
 * the functions cannot ask Cognito for an owner's current groups at request time.
 *
 * Item: `pk=OWNER#<sub>`: `groups` (JSON list), `enabled`, `updatedAt`. It is written by
 * the operator scripts whenever they change a user's groups or disable a user, and by the
 * keys function from the caller's own fresh token. A missing item means "no active owner":
 * the key is refused (fail closed).
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ServiceUnavailableError } from '../shared/errors';
import type { OwnerDirectory } from './api-keys';

const ownerPk = (sub: string) => `OWNER#${sub}`;

/** DynamoDB adapter of {@link OwnerDirectory}, with the writer the scripts and keys function use. */
export class DynamoDbOwnerDirectory implements OwnerDirectory {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async currentGroups(owner: { sub: string }): Promise<readonly string[] | null> {
    try {
      const result = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: ownerPk(owner.sub) } },
          ConsistentRead: true,
        }),
      );
      const item = result.Item;
      if (item?.enabled?.BOOL !== true) return null;
      const groups = JSON.parse(item.groups?.S ?? '[]') as unknown;
      return Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : null;
    } catch (error) {
      throw new ServiceUnavailableError(undefined, 2, error);
    }
  }

  /** Records the owner's current groups and state (scripts, keys function). */
  async record(sub: string, groups: readonly string[], enabled: boolean, at: Date): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: ownerPk(sub) },
            groups: { S: JSON.stringify([...groups].sort()) },
            enabled: { BOOL: enabled },
            updatedAt: { S: at.toISOString() },
          },
        }),
      );
    } catch (error) {
      throw new ServiceUnavailableError(undefined, 2, error);
    }
  }
}
