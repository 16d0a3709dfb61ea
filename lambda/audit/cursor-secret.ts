/**
 * The secret that signs the admin audit query's cursors, shared by every container.
 *
 * A per-container random key would break pagination whenever the next page lands on
 * another container, and there is no secret store reachable from the isolated subnets.
 * So the first container generates 32 random bytes, seals them with the envelope cipher
 * (a KMS data key under the data CMK, bound to its own encryption context) and stores them
 * in the settings table with a create-only write; every other container reads and opens
 * the same item. Losing the race is fine: the loser reads the winner's secret.
 */
import { randomBytes } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { SealedText, TextCipher } from '../chat/ports';
import { callStore } from '../shared/dynamodb-failures';

/** Key of the item and the encryption context of the sealed secret. */
const ITEM_KEY = { pk: { S: 'SECRET' }, sk: { S: 'audit-cursor-key' } };
const CONTEXT = { user: 'system', conversation: 'audit-cursor-key' };

/** Dependencies of {@link loadCursorSecret}. */
export interface CursorSecretDeps {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly cipher: TextCipher;
  readonly random?: (size: number) => Uint8Array;
}

async function read(deps: CursorSecretDeps): Promise<Uint8Array | undefined> {
  // Throttling and outages answer 503 with Retry-After (the next request loads it again).
  const { Item: item } = await callStore(() =>
    deps.client.send(new GetItemCommand({ TableName: deps.tableName, Key: ITEM_KEY, ConsistentRead: true })),
  );
  const sealed = item?.sealed?.S;
  if (sealed === undefined) return undefined;
  const secret = Buffer.from(await deps.cipher.open(JSON.parse(sealed) as SealedText, CONTEXT), 'base64');
  if (secret.length !== 32) throw new Error('The stored audit cursor secret is malformed.');
  return secret;
}

/** Reads the shared cursor secret, creating it once if no container has yet. */
export async function loadCursorSecret(deps: CursorSecretDeps): Promise<Uint8Array> {
  const existing = await read(deps);
  if (existing) return existing;
  const secret = Buffer.from((deps.random ?? randomBytes)(32));
  const sealed = await deps.cipher.seal(secret.toString('base64'), CONTEXT);
  try {
    await callStore(() =>
      deps.client.send(
        new PutItemCommand({
          TableName: deps.tableName,
          Item: { ...ITEM_KEY, sealed: { S: JSON.stringify(sealed) } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    return secret;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const winner = await read(deps);
    if (!winner) throw error;
    return winner;
  }
}
