import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LimitDecision, LimitStore, UserLimits } from '../../lambda/chat/ports';
import { createDynamoDbLimitStore } from '../../lambda/limits/dynamodb-limit-store';
import { ServiceUnavailableError } from '../../lambda/shared/errors';
import { limitsTable } from '../../lib/data/table-schemas';
import { type DynaliteHandle, startDynalite } from '../support/dynalite';
import { closedPort, errorServer, freshConnectionClient, shortTimeoutClient } from './dynamodb-clients';

/** 2025-03-10T12:00:00Z: a fixed day so budgets and TTLs are predictable. */
const NOON = Date.UTC(2025, 2, 10, 12);
const MIDNIGHT_AFTER_NOON = Date.UTC(2025, 2, 11);
const SECOND = 1000;
const DAY = 86_400_000;

const limits = (overrides: Partial<UserLimits> = {}): UserLimits => ({
  burst: 10,
  requestsPerMinute: 60,
  dailyTokens: 10_000,
  ...overrides,
});

class ManualClock {
  constructor(private at: number) {}
  now(): number {
    return this.at;
  }
  set(at: number): void {
    this.at = at;
  }
  advance(ms: number): void {
    this.at += ms;
  }
}

describe('DynamoDB limit store (dynalite)', () => {
  let dynalite: DynaliteHandle;
  let client: DynamoDBClient;
  let tableName: string;

  beforeAll(async () => {
    dynalite = await startDynalite();
    client = freshConnectionClient(dynalite.endpoint);
    tableName = (await dynalite.createTables([limitsTable]))[limitsTable.id]!;
  });
  afterAll(async () => {
    client.destroy();
    await dynalite.stop();
  });

  /** A fresh user and a store on a manual clock, so tests never share buckets. */
  const setup = (start = NOON): { store: LimitStore; clock: ManualClock; user: string } => {
    const clock = new ManualClock(start);
    return {
      store: createDynamoDbLimitStore({ client, tableName, clock }),
      clock,
      user: randomUUID(),
    };
  };

  const item = async (user: string, sk: string): Promise<Record<string, AttributeValue> | undefined> =>
    (
      await client.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: { S: `USER#${user}` }, sk: { S: sk } } }),
      )
    ).Item;
  const usedOn = async (user: string, day: string): Promise<number | undefined> => {
    const raw = (await item(user, `TOKENS#${day}`))?.used?.N;
    return raw === undefined ? undefined : Number(raw);
  };

  describe('request bucket', () => {
    it('admits a full burst at once, counts down remaining, then refuses with the wait for one refill', async () => {
      const { store, user } = setup();
      const rule = limits({ burst: 3, requestsPerMinute: 60 });

      const decisions: LimitDecision[] = [];
      for (let i = 0; i < 4; i++) decisions.push(await store.takeRequest(user, rule));

      expect(decisions.map((d) => [d.allowed, d.remaining, d.limit])).toEqual([
        [true, 2, 3],
        [true, 1, 3],
        [true, 0, 3],
        [false, 0, 3],
      ]);
      expect(decisions[3]!.retryAfterSeconds).toBe(1);
    });

    it('refills at requestsPerMinute over injected time, and retryAfterSeconds counts down to it', async () => {
      const { store, clock, user } = setup();
      const rule = limits({ burst: 2, requestsPerMinute: 6 }); // one request per 10 s
      await store.takeRequest(user, rule);
      await store.takeRequest(user, rule);

      const empty = await store.takeRequest(user, rule);
      clock.advance(4 * SECOND);
      const stillEmpty = await store.takeRequest(user, rule);
      clock.advance(6 * SECOND);
      const refilled = await store.takeRequest(user, rule);
      const emptyAgain = await store.takeRequest(user, rule);

      expect(empty).toMatchObject({ allowed: false, retryAfterSeconds: 10 });
      expect(stillEmpty).toMatchObject({ allowed: false, retryAfterSeconds: 6 });
      expect(refilled).toMatchObject({ allowed: true, remaining: 0 });
      expect(emptyAgain).toMatchObject({ allowed: false, retryAfterSeconds: 10 });
    });

    it('never refills beyond the burst, however long the user was idle', async () => {
      const { store, clock, user } = setup();
      const rule = limits({ burst: 3, requestsPerMinute: 60 });
      await store.takeRequest(user, rule); // bucket now partly used

      clock.advance(DAY / 2);
      const allowed: boolean[] = [];
      for (let i = 0; i < 6; i++) allowed.push((await store.takeRequest(user, rule)).allowed);

      expect(allowed).toEqual([true, true, true, false, false, false]);
    });

    it('admits exactly the burst out of 50 parallel requests', async () => {
      const { store, user } = setup();
      const rule = limits({ burst: 10, requestsPerMinute: 1 });

      const decisions = await Promise.all(Array.from({ length: 50 }, () => store.takeRequest(user, rule)));

      const admitted = decisions.filter((d) => d.allowed);
      expect(admitted).toHaveLength(10);
      // Each admitted request took its own slot: the remaining counts are 9..0, each once.
      expect(admitted.map((d) => d.remaining).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(decisions.filter((d) => !d.allowed).every((d) => d.retryAfterSeconds === 60)).toBe(true);
    });

    it('admits exactly what refilled when parallel bursts arrive over time from several containers', async () => {
      const { clock, user } = setup();
      // Two containers with their own store objects share the table and the (manual) time.
      const stores = [0, 1].map(() => createDynamoDbLimitStore({ client, tableName, clock }));
      const rule = limits({ burst: 5, requestsPerMinute: 30 }); // one request per 2 s

      let admitted = 0;
      for (let round = 0; round < 4; round++) {
        const decisions = await Promise.all(
          Array.from({ length: 20 }, (_, i) => stores[i % 2]!.takeRequest(user, rule)),
        );
        admitted += decisions.filter((d) => d.allowed).length;
        clock.advance(4 * SECOND); // two requests refill per round
      }

      // 5 from the full bucket, then 2 per later round.
      expect(admitted).toBe(5 + 3 * 2);
    });

    it('keeps users apart', async () => {
      const { store, user } = setup();
      const other = randomUUID();
      const rule = limits({ burst: 1 });
      await store.takeRequest(user, rule);

      expect((await store.takeRequest(user, rule)).allowed).toBe(false);
      expect((await store.takeRequest(other, rule)).allowed).toBe(true);
    });

    it('sets a TTL a day after the bucket is full again', async () => {
      const { store, user } = setup();
      const rule = limits({ burst: 4, requestsPerMinute: 60 });
      await store.takeRequest(user, rule);
      await store.takeRequest(user, rule);

      const stored = await item(user, 'RATE');

      expect(Number(stored?.tat?.N)).toBe(NOON + 2 * SECOND);
      expect(Number(stored?.expiresAt?.N)).toBe((NOON + 4 * SECOND + DAY) / 1000);
    });

    it.each([
      ['burst 0', { burst: 0 }],
      ['fractional rate', { requestsPerMinute: 1.5 }],
      ['negative daily budget', { dailyTokens: -1 }],
    ])('rejects invalid limits (%s) before touching the table', async (_name, bad) => {
      const { store, user } = setup();
      await expect(store.takeRequest(user, limits(bad))).rejects.toThrow(RangeError);
      expect(await item(user, 'RATE')).toBeUndefined();
    });
  });

  describe('daily token budget', () => {
    it('reserves until the budget is used, then refuses until the next UTC midnight', async () => {
      const { store, user } = setup(MIDNIGHT_AFTER_NOON - 30 * SECOND);
      const rule = limits({ dailyTokens: 1_000 });

      const first = await store.reserveTokens(user, 600, rule);
      const tooMuch = await store.reserveTokens(user, 500, rule);
      const exact = await store.reserveTokens(user, 400, rule);
      const none = await store.reserveTokens(user, 1, rule);

      expect(first).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 400, limit: 1_000 });
      expect(tooMuch).toEqual({ allowed: false, retryAfterSeconds: 30, remaining: 400, limit: 1_000 });
      expect(exact).toMatchObject({ allowed: true, remaining: 0 });
      expect(none).toMatchObject({ allowed: false, retryAfterSeconds: 30, remaining: 0 });
      expect(await usedOn(user, '2025-03-10')).toBe(1_000);
    });

    it('refuses a single reservation larger than the whole budget without booking it', async () => {
      const { store, user } = setup();

      const decision = await store.reserveTokens(user, 1_001, limits({ dailyTokens: 1_000 }));

      expect(decision).toMatchObject({ allowed: false, remaining: 1_000, limit: 1_000 });
      expect(await usedOn(user, '2025-03-10')).toBeUndefined();
    });

    it('never overspends under 40 parallel reservations', async () => {
      const { store, user } = setup();
      const rule = limits({ dailyTokens: 10_000 });

      const decisions = await Promise.all(
        Array.from({ length: 40 }, () => store.reserveTokens(user, 700, rule)),
      );

      expect(decisions.filter((d) => d.allowed)).toHaveLength(14); // floor(10 000 / 700)
      expect(await usedOn(user, '2025-03-10')).toBe(9_800);
    });

    it('never overspends with parallel reservations of mixed sizes', async () => {
      const { store, user } = setup();
      const rule = limits({ dailyTokens: 5_000 });
      const sizes = Array.from({ length: 60 }, (_, i) => 50 + ((i * 137) % 400));

      const decisions = await Promise.all(sizes.map((size) => store.reserveTokens(user, size, rule)));

      const booked = sizes.filter((_, i) => decisions[i]!.allowed).reduce((sum, size) => sum + size, 0);
      expect(booked).toBeLessThanOrEqual(5_000);
      expect(await usedOn(user, '2025-03-10')).toBe(booked);
      // Every refusal happened because its size no longer fitted.
      for (const [i, decision] of decisions.entries()) {
        if (!decision.allowed) expect(sizes[i]!).toBeGreaterThan(5_000 - booked);
      }
    });

    it('settles: refunds the unused part, charges overuse, and a refund never goes below zero', async () => {
      const { store, user } = setup();
      const rule = limits({ dailyTokens: 1_000 });
      await store.reserveTokens(user, 800, rule);

      await store.settleTokens(user, 800, 300);
      const afterRefund = await usedOn(user, '2025-03-10');
      await store.settleTokens(user, 100, 250);
      const afterOveruse = await usedOn(user, '2025-03-10');
      await store.settleTokens(user, 5_000, 0);
      const afterHugeRefund = await usedOn(user, '2025-03-10');

      expect([afterRefund, afterOveruse, afterHugeRefund]).toEqual([300, 450, 0]);
    });

    it('refunds in parallel without losing updates or going negative', async () => {
      const { store, user } = setup();
      const rule = limits({ dailyTokens: 10_000 });
      await Promise.all(Array.from({ length: 10 }, () => store.reserveTokens(user, 500, rule)));

      // Ten exact refunds plus five refunds that would each take it below zero.
      await Promise.all([
        ...Array.from({ length: 10 }, () => store.settleTokens(user, 500, 100)),
        ...Array.from({ length: 5 }, () => store.settleTokens(user, 50, 0)),
      ]);

      const used = await usedOn(user, '2025-03-10');
      // 5 000 reserved, 4 000 refunded, 250 more refunded: 750 exactly (no refund hit zero).
      expect(used).toBe(750);
    });

    it('starts a new budget at UTC midnight and keeps the old day apart', async () => {
      const { store, clock, user } = setup(MIDNIGHT_AFTER_NOON - SECOND);
      const rule = limits({ dailyTokens: 1_000 });
      await store.reserveTokens(user, 1_000, rule);
      const lateEvening = await store.reserveTokens(user, 1, rule);

      clock.set(MIDNIGHT_AFTER_NOON);
      const nextMorning = await store.reserveTokens(user, 1_000, rule);

      expect(lateEvening).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
      expect(nextMorning).toMatchObject({ allowed: true, remaining: 0 });
      expect(await usedOn(user, '2025-03-10')).toBe(1_000);
      expect(await usedOn(user, '2025-03-11')).toBe(1_000);
    });

    it('a refund settled after midnight for a reservation of the day before creates no budget', async () => {
      const { store, clock, user } = setup(MIDNIGHT_AFTER_NOON - SECOND);
      await store.reserveTokens(user, 900, limits({ dailyTokens: 1_000 }));

      clock.set(MIDNIGHT_AFTER_NOON + SECOND);
      await store.settleTokens(user, 900, 100);

      expect(await usedOn(user, '2025-03-10')).toBe(900);
      expect(await usedOn(user, '2025-03-11')).toBeUndefined();
    });

    it('sets a TTL two days after the end of the budget day', async () => {
      const { store, user } = setup();
      await store.reserveTokens(user, 10, limits());

      const stored = await item(user, 'TOKENS#2025-03-10');

      expect(Number(stored?.expiresAt?.N)).toBe((MIDNIGHT_AFTER_NOON + 2 * DAY) / 1000);
    });

    it.each([
      ['negative', -1],
      ['fractional', 2.5],
      ['not a number', Number.NaN],
    ])('rejects a %s token count', async (_name, tokens) => {
      const { store, user } = setup();
      await expect(store.reserveTokens(user, tokens, limits())).rejects.toThrow(RangeError);
      await expect(store.settleTokens(user, tokens, 0)).rejects.toThrow(RangeError);
    });
  });

  describe('erasure', () => {
    it('removes every limit item of the user, across batches, and nothing of anyone else', async () => {
      const { store, clock, user } = setup();
      const other = randomUUID();
      await store.takeRequest(user, limits());
      await store.takeRequest(other, limits());
      await store.reserveTokens(other, 5, limits());
      // 30 budget days plus the bucket: more than one BatchWriteItem of 25.
      for (let day = 0; day < 30; day++) {
        await store.reserveTokens(user, 5, limits());
        clock.advance(DAY);
      }
      const keysOf = async (who: string) =>
        (
          await client.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': { S: `USER#${who}` } },
            }),
          )
        ).Items ?? [];
      expect(await keysOf(user)).toHaveLength(31);

      await store.eraseUser(user);

      expect(await keysOf(user)).toHaveLength(0);
      expect((await keysOf(other)).map((i) => i.sk?.S).sort()).toEqual(['RATE', 'TOKENS#2025-03-10']);
      // A fresh bucket after erasure: the whole burst is available again.
      expect((await store.takeRequest(user, limits())).remaining).toBe(9);
    });

    it('erasing a user without limit items succeeds', async () => {
      const { store, user } = setup();
      await expect(store.eraseUser(user)).resolves.toBeUndefined();
    });
  });

  describe('failing closed', () => {
    const calls: Array<[string, (store: LimitStore) => Promise<unknown>]> = [
      ['takeRequest', (store) => store.takeRequest('alice', limits())],
      ['reserveTokens', (store) => store.reserveTokens('alice', 10, limits())],
      ['settleTokens', (store) => store.settleTokens('alice', 10, 0)],
      ['eraseUser', (store) => store.eraseUser('alice')],
    ];

    it.each(calls)(
      '%s answers ServiceUnavailableError when DynamoDB cannot be reached',
      async (_name, call) => {
        const client = shortTimeoutClient(`http://127.0.0.1:${await closedPort()}`);
        const store = createDynamoDbLimitStore({ client, tableName, clock: new ManualClock(NOON) });
        try {
          const error = await call(store).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(ServiceUnavailableError);
          expect(error).toMatchObject({ status: 503, headers: { 'Retry-After': '2' } });
        } finally {
          client.destroy();
        }
      },
    );

    it.each([
      ['ProvisionedThroughputExceededException', 400],
      ['ThrottlingException', 400],
      ['RequestLimitExceeded', 400],
      ['InternalServerError', 500],
    ])('maps %s to ServiceUnavailableError', async (type, status) => {
      const server = await errorServer(type, status);
      const failing = shortTimeoutClient(server.endpoint);
      const store = createDynamoDbLimitStore({ client: failing, tableName, clock: new ManualClock(NOON) });
      try {
        const error = await store.takeRequest('alice', limits()).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ServiceUnavailableError);
        expect((error as ServiceUnavailableError).cause).toMatchObject({ name: type });
      } finally {
        failing.destroy();
        await server.stop();
      }
    });

    it('rethrows client faults (a missing table) unchanged instead of disguising them as an outage', async () => {
      const store = createDynamoDbLimitStore({
        client,
        tableName: 'NoSuchTable',
        clock: new ManualClock(NOON),
      });

      const error = await store.takeRequest('alice', limits()).catch((e: unknown) => e);

      expect(error).not.toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ name: 'ResourceNotFoundException' });
    });
  });
});
