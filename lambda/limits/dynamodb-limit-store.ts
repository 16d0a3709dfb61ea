/**
 * DynamoDB adapter of the `LimitStore` port (DESIGN.md section 8): a per-user request rate
 * and a per-user daily token budget, both enforced by DynamoDB condition expressions so that
 * any number of concurrent Lambdas can never admit more than the limits allow.
 *
 * Item layout (limits table, pk `USER#<sub>`):
 * - `sk=RATE`: `tat` (epoch ms), the bucket's theoretical arrival time (see below);
 * - `sk=TOKENS#<YYYY-MM-DD>` (UTC day): `used`, tokens reserved or spent that day.
 * Both carry `expiresAt` (epoch seconds) so idle users cost no storage.
 *
 * The request bucket is a token bucket written in its GCRA form: instead of a token count
 * and a refill time, one number `tat` says when the bucket will be full again. Each request
 * moves it one interval (60 000 / requestsPerMinute ms) into the future; a request is
 * admitted while `tat` stays within `burst` intervals of now. The two cases are single atomic
 * updates, `SET tat = :now + :interval IF tat <= :now` (bucket full) and
 * `SET tat = tat + :interval IF :now < tat <= :latestFit` (bucket partly used), so concurrent
 * takers do not invalidate each other the way a read-then-compare-version update would: 50
 * parallel requests on a burst of 10 admit exactly 10 without a storm of conflict retries.
 *
 * Limits fail CLOSED: when DynamoDB throttles or cannot be reached, every method throws
 * `ServiceUnavailableError` (503) and the chat pipeline stops before the model call. An
 * unmetered model call is the expensive failure; a 503 with Retry-After is the cheap one.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { Clock, LimitDecision, LimitStore, UserLimits } from '../chat/ports';
import { callStore } from '../shared/dynamodb-failures';
import { ServiceUnavailableError } from '../shared/errors';

/** Dependencies of {@link createDynamoDbLimitStore}. */
export interface DynamoDbLimitStoreOptions {
  readonly client: DynamoDBClient;
  /** Physical name of the limits table (`limitsTable` schema). */
  readonly tableName: string;
  readonly clock: Clock;
}

const RATE_SK = 'RATE';
const TOKENS_SK_PREFIX = 'TOKENS#';
const DAY_MS = 86_400_000;
/** A request bucket outlives the moment it is full again by a day, then TTL removes it. */
const RATE_TTL_MS = DAY_MS;
/** A day's budget is kept two days past its end, long enough for late settlements and support questions. */
const TOKENS_TTL_MS = 2 * DAY_MS;
/**
 * Conditional writes that lose a race re-read and try again. The GCRA cases can only flip
 * once per call (the bucket goes from full to partly used), so a few attempts are plenty;
 * running out means pathological contention on one user, which is answered as rate limited.
 */
const MAX_ATTEMPTS = 4;
/** BatchWriteItem takes at most 25 requests. */
const BATCH_SIZE = 25;

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });
const userPk = (user: string): string => `USER#${user}`;

/** The UTC calendar day of an instant, `YYYY-MM-DD`: budgets reset at midnight UTC for everyone. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** Epoch milliseconds of the next UTC midnight after `epochMs`. */
function nextUtcMidnight(epochMs: number): number {
  return (Math.floor(epochMs / DAY_MS) + 1) * DAY_MS;
}

const toEpochSeconds = (epochMs: number): number => Math.ceil(epochMs / 1000);

/** Whole seconds to wait, at least 1: a zero Retry-After invites an immediate retry storm. */
const waitSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

function assertLimits(limits: UserLimits): void {
  // Limits come from validated settings; a bad value here is a wiring bug, not user input.
  if (!Number.isSafeInteger(limits.burst) || limits.burst < 1)
    throw new RangeError('burst must be an integer >= 1');
  if (!Number.isSafeInteger(limits.requestsPerMinute) || limits.requestsPerMinute < 1)
    throw new RangeError('requestsPerMinute must be an integer >= 1');
  if (!Number.isSafeInteger(limits.dailyTokens) || limits.dailyTokens < 0)
    throw new RangeError('dailyTokens must be an integer >= 0');
}

function assertTokenCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be an integer >= 0`);
}

/** Creates the DynamoDB limit store. */
export function createDynamoDbLimitStore(options: DynamoDbLimitStoreOptions): LimitStore {
  const { client, tableName, clock } = options;
  const keyOf = (user: string, sk: string): Record<string, AttributeValue> => ({
    pk: s(userPk(user)),
    sk: s(sk),
  });

  /** One numeric attribute of an item, strongly consistent (a stale read could admit too much). */
  async function readNumber(user: string, sk: string, attribute: string): Promise<number | undefined> {
    const { Item: item } = await callStore(() =>
      client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: keyOf(user, sk),
          ConsistentRead: true,
          ProjectionExpression: '#a',
          ExpressionAttributeNames: { '#a': attribute },
        }),
      ),
    );
    const raw = item?.[attribute]?.N;
    return raw === undefined ? undefined : Number(raw);
  }

  /** A conditional update; `undefined` when the condition did not hold. */
  async function updateIf(
    input: Omit<UpdateItemCommandInput, 'TableName'>,
  ): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const result = await callStore(() =>
        client.send(new UpdateItemCommand({ TableName: tableName, ...input })),
      );
      return result.Attributes ?? {};
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  return {
    async takeRequest(user, limits) {
      assertLimits(limits);
      // Whole milliseconds keep DynamoDB's decimal arithmetic exact; rounding the interval up
      // makes the refill at most 1 ms per request slower, never faster.
      const interval = Math.ceil(60_000 / limits.requestsPerMinute);
      const window = limits.burst * interval;
      const now = clock.now();
      // The largest `tat` that still has room for one more request.
      const latestFit = now + window - interval;
      // After this call `tat <= now + window`, so this is a day after the bucket is full again.
      const expiresAt = n(toEpochSeconds(now + window + RATE_TTL_MS));
      const key = keyOf(user, RATE_SK);
      let tat = await readNumber(user, RATE_SK, 'tat');
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (tat !== undefined && tat > latestFit) {
          return {
            allowed: false,
            retryAfterSeconds: waitSeconds(tat - latestFit),
            remaining: 0,
            limit: limits.burst,
          };
        }
        const full = tat === undefined || tat <= now;
        const updated = full
          ? await updateIf({
              Key: key,
              UpdateExpression: 'SET tat = :fresh, expiresAt = :exp',
              ConditionExpression: 'attribute_not_exists(tat) OR tat <= :now',
              ExpressionAttributeValues: { ':fresh': n(now + interval), ':now': n(now), ':exp': expiresAt },
              ReturnValues: 'UPDATED_NEW',
            })
          : await updateIf({
              Key: key,
              UpdateExpression: 'SET tat = tat + :interval, expiresAt = :exp',
              ConditionExpression: 'tat > :now AND tat <= :latestFit',
              ExpressionAttributeValues: {
                ':interval': n(interval),
                ':now': n(now),
                ':latestFit': n(latestFit),
                ':exp': expiresAt,
              },
              ReturnValues: 'UPDATED_NEW',
            });
        if (updated !== undefined) {
          const newTat = Number(updated.tat?.N ?? now + window);
          return {
            allowed: true,
            retryAfterSeconds: 0,
            remaining: Math.max(0, Math.floor((now + window - newTat) / interval)),
            limit: limits.burst,
          };
        }
        // Someone else moved `tat` between our read and our write: look again.
        tat = await readNumber(user, RATE_SK, 'tat');
      }
      return { allowed: false, retryAfterSeconds: 1, remaining: 0, limit: limits.burst };
    },

    async reserveTokens(user, tokens, limits): Promise<LimitDecision> {
      assertLimits(limits);
      assertTokenCount('tokens', tokens);
      const now = clock.now();
      const sk = `${TOKENS_SK_PREFIX}${utcDay(now)}`;
      const midnight = nextUtcMidnight(now);
      const refused = async (): Promise<LimitDecision> => {
        const used = (await readNumber(user, sk, 'used')) ?? 0;
        return {
          allowed: false,
          retryAfterSeconds: waitSeconds(midnight - now),
          remaining: Math.max(0, limits.dailyTokens - used),
          limit: limits.dailyTokens,
        };
      };
      // `attribute_not_exists(used)` would admit an oversized first reservation, so it is refused here.
      if (tokens > limits.dailyTokens) return refused();
      // Condition expressions cannot add, so `used + :n <= :limit` is written as `used <= :limit - :n`.
      const updated = await updateIf({
        Key: keyOf(user, sk),
        UpdateExpression: 'ADD used :tokens SET expiresAt = :exp',
        ConditionExpression: 'attribute_not_exists(used) OR used <= :room',
        ExpressionAttributeValues: {
          ':tokens': n(tokens),
          ':room': n(limits.dailyTokens - tokens),
          ':exp': n(toEpochSeconds(midnight + TOKENS_TTL_MS)),
        },
        ReturnValues: 'UPDATED_NEW',
      });
      if (updated === undefined) return refused();
      const used = Number(updated.used?.N ?? tokens);
      return {
        allowed: true,
        retryAfterSeconds: 0,
        remaining: Math.max(0, limits.dailyTokens - used),
        limit: limits.dailyTokens,
      };
    },

    async settleTokens(user, reserved, used) {
      assertTokenCount('reserved', reserved);
      assertTokenCount('used', used);
      const difference = used - reserved;
      if (difference === 0) return;
      // Settlement books against the current UTC day. A reservation made before midnight and
      // settled after it refunds into the new day, at most one request's reservation, and the
      // refund is clamped at zero, so it can never create budget beyond the day's limit.
      const now = clock.now();
      const sk = `${TOKENS_SK_PREFIX}${utcDay(now)}`;
      const key = keyOf(user, sk);
      const expiresAt = n(toEpochSeconds(nextUtcMidnight(now) + TOKENS_TTL_MS));
      if (difference > 0) {
        // Tokens the model really used are charged even past the limit: the next reservation is then refused.
        await updateIf({
          Key: key,
          UpdateExpression: 'ADD used :extra SET expiresAt = :exp',
          ExpressionAttributeValues: { ':extra': n(difference), ':exp': expiresAt },
        });
        return;
      }
      const refund = -difference;
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const refunded = await updateIf({
          Key: key,
          UpdateExpression: 'ADD used :minus',
          ConditionExpression: 'used >= :refund',
          ExpressionAttributeValues: { ':minus': n(-refund), ':refund': n(refund) },
        });
        if (refunded !== undefined) return;
        const current = await readNumber(user, sk, 'used');
        // No budget item today: the reservation belonged to a day that no longer counts.
        if (current === undefined) return;
        if (current < refund) {
          // Clamp at zero, but only if nobody reserved meanwhile (their tokens must stay booked).
          const cleared = await updateIf({
            Key: key,
            UpdateExpression: 'SET used = :zero',
            ConditionExpression: 'used = :seen',
            ExpressionAttributeValues: { ':zero': n(0), ':seen': n(current) },
          });
          if (cleared !== undefined) return;
        }
      }
      // Giving up leaves the reservation charged: the user loses a refund, the budget is never exceeded.
    },

    async eraseUser(user) {
      const keys: Record<string, AttributeValue>[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await callStore(() =>
          client.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': s(userPk(user)) },
              ProjectionExpression: 'pk, sk',
              ConsistentRead: true,
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
          ),
        );
        for (const item of page.Items ?? []) {
          if (item.pk && item.sk) keys.push({ pk: item.pk, sk: item.sk });
        }
        start = page.LastEvaluatedKey;
      } while (start);
      for (let i = 0; i < keys.length; i += BATCH_SIZE) {
        let requests: WriteRequest[] = keys
          .slice(i, i + BATCH_SIZE)
          .map((key) => ({ DeleteRequest: { Key: key } }));
        // Unprocessed deletes (throttling) are retried with backoff a bounded number of times;
        // erasure then fails loudly rather than reporting success with records left behind.
        for (let attempt = 0; requests.length > 0; attempt++) {
          if (attempt === 5) throw new ServiceUnavailableError();
          const result = await callStore(() =>
            client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } })),
          );
          requests = result.UnprocessedItems?.[tableName] ?? [];
          if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
        }
      }
    },
  };
}
