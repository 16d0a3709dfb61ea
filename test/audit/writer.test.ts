import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, buildAuditEvent } from '../../lambda/audit/event';
import { createDynamoAuditQueryStore, queryAuditEvents } from '../../lambda/audit/query';
import {
  AuditWriteRefusedError,
  type AuditWriter,
  createDynamoAuditWriter,
  createFileAuditWriter,
  failClosed,
  LOCAL_AUDIT_FILE,
} from '../../lambda/audit/writer';
import { ServiceUnavailableError, ValidationError } from '../../lambda/shared/errors';
import { auditTable } from '../../lib/data/table-schemas';
import { type DynaliteHandle, startDynalite } from '../support/dynalite';
import { chatInput, manyEvents, recordingLogger, recordingMetrics, tempDir, testDeps } from './fixtures';

/** What a chat handler does: audit first, and only then call the model. */
async function chatHandlerCore(
  audit: AuditWriter,
  event: AuditEvent,
  callModel: () => Promise<string>,
): Promise<string> {
  await audit.write(event);
  return callModel();
}

describe('failClosed', () => {
  const brokenWriters: [string, AuditWriter][] = [
    ['rejects', { write: () => Promise.reject(new Error('ProvisionedThroughputExceededException')) }],
    [
      'throws synchronously',
      {
        write: () => {
          throw new Error('socket hang up');
        },
      },
    ],
    ['refuses a duplicate', { write: () => Promise.reject(new AuditWriteRefusedError('01TEST')) }],
  ];

  it.each(brokenWriters)(
    'when the writer %s: 503, AuditWriteFailed, full event logged, model not called',
    async (_how, broken) => {
      // Prepare
      const metrics = recordingMetrics();
      const logger = recordingLogger();
      const event = buildAuditEvent(chatInput(), testDeps());
      let modelCalls = 0;

      // Act
      const outcome = chatHandlerCore(failClosed(broken, { metrics, logger }), event, async () => {
        modelCalls++;
        return 'reply';
      });

      // Assess
      await expect(outcome).rejects.toBeInstanceOf(ServiceUnavailableError);
      await expect(outcome).rejects.toMatchObject({ status: 503, code: 'service_unavailable' });
      expect(modelCalls).toBe(0);
      expect(metrics.calls).toEqual([['AuditWriteFailed', 'Count', 1]]);
      expect(logger.errors).toHaveLength(1);
      expect(logger.errors[0]?.[1]).toMatchObject({ auditWriteFailed: true, auditEvent: event });
    },
  );

  it('still answers 503 and logs the event when the metrics port itself fails', async () => {
    const logger = recordingLogger();
    const metrics = {
      addMetric: () => {
        throw new Error('EMF buffer full');
      },
    };
    const event = buildAuditEvent(chatInput(), testDeps());

    await expect(
      failClosed({ write: () => Promise.reject(new Error('down')) }, { metrics, logger }).write(event),
    ).rejects.toMatchObject({ status: 503 });
    expect(logger.errors[0]?.[1].auditEvent).toEqual(event);
  });

  it('passes through silently when the write succeeds', async () => {
    const metrics = recordingMetrics();
    const logger = recordingLogger();
    const written: AuditEvent[] = [];
    const event = buildAuditEvent(chatInput(), testDeps());

    const reply = await chatHandlerCore(
      failClosed(
        {
          write: async (e) => {
            written.push(e);
          },
        },
        { metrics, logger },
      ),
      event,
      async () => 'reply',
    );

    expect(reply).toBe('reply');
    expect(written).toEqual([event]);
    expect(metrics.calls).toEqual([]);
  });
});

describe('createFileAuditWriter', () => {
  it('appends one fsynced JSON line per event, even under concurrent writes, in a private file', async () => {
    const dir = await tempDir('audit-file');
    const writer = createFileAuditWriter(join(dir, 'audit'));
    const events = manyEvents(40);

    await Promise.all(events.map((event) => writer.write(event)));

    const path = join(dir, 'audit', LOCAL_AUDIT_FILE);
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as AuditEvent).eventId).sort()).toEqual(
      events.map((e) => e.eventId).sort(),
    );
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('refuses an event with unmasked text before touching the file', async () => {
    const dir = await tempDir('audit-file-bad');
    const event = {
      ...buildAuditEvent(chatInput(), testDeps()),
      resource: 'ada@example.com',
    } as unknown as AuditEvent;

    await expect(createFileAuditWriter(dir).write(event)).rejects.toBeInstanceOf(ValidationError);
    await expect(stat(join(dir, LOCAL_AUDIT_FILE))).rejects.toThrow(/ENOENT/);
  });
});

describe('DynamoDB audit writer and query (dynalite)', () => {
  let dynalite: DynaliteHandle;
  let tableName: string;
  const cursorKey = new Uint8Array(32).fill(7);

  beforeAll(async () => {
    dynalite = await startDynalite();
    tableName = (await dynalite.createTables([auditTable]))[auditTable.id]!;
  });
  afterAll(async () => {
    await dynalite?.stop();
  });

  it('stores the event with sharded keys, the byTime index keys and the TTL', async () => {
    const writer = createDynamoAuditWriter({ client: dynalite.client, tableName, ttlDays: 90, shards: 8 });
    const event = buildAuditEvent(chatInput(), testDeps('2026-11-23T10:00:00.000Z'));

    await writer.write(event);

    const items = (await dynalite.client.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
    const item = items.find((candidate) => candidate.eventId?.S === event.eventId);
    expect(item?.pk?.S).toMatch(/^USER#3f1c2a9e-0000-4000-8000-000000000001#[0-7]$/);
    expect(item?.sk?.S).toBe(`2026-11-23T10:00:00.000Z#${event.eventId}`);
    expect(item?.gsi1pk?.S).toMatch(/^DAY#2026-11-23#[0-7]$/);
    expect(item?.gsi1sk?.S).toBe(item?.sk?.S);
    expect(Number(item?.expiresAt?.N)).toBe(Date.parse('2026-11-23T10:00:00.000Z') / 1000 + 90 * 86_400);
    expect(JSON.parse(item?.event?.S ?? '')).toEqual(event);
  });

  it('refuses a second put of the same key (attribute_not_exists) and leaves the item unchanged', async () => {
    const writer = createDynamoAuditWriter({ client: dynalite.client, tableName, ttlDays: 90 });
    const event = buildAuditEvent(chatInput({ requestId: 'dup-1' }), testDeps('2026-11-23T11:00:00.000Z'));
    await writer.write(event);
    const altered = { ...event, outcome: 'failure' as const };

    await expect(writer.write(altered)).rejects.toBeInstanceOf(AuditWriteRefusedError);
    await expect(writer.write(altered)).rejects.toMatchObject({ status: 409 });

    const scan = await dynalite.client.send(new ScanCommand({ TableName: tableName }));
    const stored = scan.Items?.find((item) => item.eventId?.S === event.eventId);
    const got = await dynalite.client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: stored!.pk!, sk: stored!.sk! } }),
    );
    expect(JSON.parse(got.Item?.event?.S ?? '').outcome).toBe('success');
  });

  it('spreads one busy actor over the shards (no hot partition)', async () => {
    const writer = createDynamoAuditWriter({ client: dynalite.client, tableName, ttlDays: 1, shards: 8 });
    const events = manyEvents(80, '2026-11-20T00:00:00.000Z', 'busy-user');

    for (const event of events) await writer.write(event);

    const scan = await dynalite.client.send(new ScanCommand({ TableName: tableName }));
    const partitions = new Set(
      scan.Items?.filter((i) => i.pk?.S?.startsWith('USER#busy-user#')).map((i) => i.pk?.S),
    );
    expect(partitions.size).toBe(8);
  });

  it('fails closed with a 503 when DynamoDB is unreachable', async () => {
    const other = await startDynalite();
    await other.stop();
    const metrics = recordingMetrics();
    const logger = recordingLogger();
    const writer = failClosed(createDynamoAuditWriter({ client: other.client, tableName, ttlDays: 1 }), {
      metrics,
      logger,
    });
    const event = buildAuditEvent(chatInput(), testDeps());

    await expect(writer.write(event)).rejects.toMatchObject({ status: 503 });
    expect(metrics.calls).toEqual([['AuditWriteFailed', 'Count', 1]]);
  });

  describe('queryAuditEvents', () => {
    const store = () => createDynamoAuditQueryStore({ client: dynalite.client, tableName });
    const now = () => new Date('2026-11-30T00:00:00.000Z');
    let userEvents: AuditEvent[];

    beforeAll(async () => {
      const writer = createDynamoAuditWriter({ client: dynalite.client, tableName, ttlDays: 30 });
      // Two users over two days; 23 h steps make the events straddle midnight.
      userEvents = manyEvents(25, '2026-11-25T20:00:00.000Z', 'query-user');
      const deps = testDeps('2026-11-25T20:00:30.000Z', 3_600_000);
      const others = Array.from({ length: 10 }, (_, i) =>
        buildAuditEvent(
          {
            ...chatInput({ actor: { sub: 'someone-else' } }),
            type: i % 2 === 0 ? 'DATA_EXPORT' : 'CHAT_REQUEST',
          },
          deps,
        ),
      );
      for (const event of [...userEvents, ...others]) await writer.write(event);
    });

    it('pages through one user in time order with a signed cursor, without gaps or duplicates', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await queryAuditEvents(
          store(),
          { user: 'query-user', limit: 7, cursor },
          { cursorKey, now },
        );
        seen.push(...page.events.map((event) => event.eventId));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== undefined && pages < 10);

      expect(seen).toEqual(userEvents.map((event) => event.eventId));
      expect(pages).toBe(4);
    });

    it('queries by time across days through the byTime index, with a type filter', async () => {
      const page = await queryAuditEvents(
        store(),
        { from: '2026-11-25T00:00:00.000Z', to: '2026-11-27T00:00:00.000Z', type: 'DATA_EXPORT', limit: 50 },
        { cursorKey, now },
      );

      expect(page.events.length).toBe(5);
      expect(page.events.every((event) => event.type === 'DATA_EXPORT')).toBe(true);
      expect(new Set(page.events.map((event) => event.timestamp.slice(0, 10))).size).toBeGreaterThan(1);
    });

    it('pages a time range across midnight, resuming on the right day from the cursor', async () => {
      const range = { from: '2026-11-25T21:00:00.000Z', to: '2026-11-26T06:00:00.000Z' };
      const sizes: number[] = [];
      const times: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await queryAuditEvents(store(), { ...range, limit: 4, cursor }, { cursorKey, now });
        sizes.push(page.events.length);
        times.push(...page.events.map((event) => event.timestamp));
        cursor = page.nextCursor;
      } while (cursor !== undefined && sizes.length < 10);

      expect(sizes).toEqual([4, 4, 1]);
      expect(times).toEqual([...times].sort());
      expect(times[0]).toBe('2026-11-25T21:00:30.000Z');
      expect(times.at(-1)).toBe('2026-11-26T05:00:30.000Z');
    });

    it('pages a query without from/to to the end while the clock moves: the cursor pins the defaults', async () => {
      // The default window is the day before `now`; each call reads a later `now`.
      let calls = 0;
      const moving = () => new Date(Date.parse('2026-11-26T06:00:00.000Z') + calls++ * 3_600_000);
      const times: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await queryAuditEvents(store(), { limit: 3, cursor }, { cursorKey, now: moving });
        times.push(...page.events.map((event) => event.timestamp));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== undefined && pages < 20);

      expect(cursor).toBeUndefined();
      expect(pages).toBeGreaterThan(1);
      expect(times).toEqual([...times].sort());
      expect(new Set(times).size).toBe(times.length);
      // Exactly the first page's window: the day before 06:00 on the 26th.
      expect(times[0]! >= '2026-11-25T06:00:00.000Z').toBe(true);
      expect(times.at(-1)! <= '2026-11-26T06:00:00.000Z').toBe(true);
    });

    it('rejects a cursor whose pinned bounds the next call contradicts', async () => {
      const first = await queryAuditEvents(
        store(),
        { from: '2026-11-25T21:00:00.000Z', limit: 2 },
        { cursorKey, now: () => new Date('2026-11-26T06:00:00.000Z') },
      );
      expect(first.nextCursor).toBeDefined();

      await expect(
        queryAuditEvents(
          store(),
          {
            from: '2026-11-25T21:00:00.000Z',
            to: '2026-11-26T07:00:00.000Z',
            limit: 2,
            cursor: first.nextCursor,
          },
          { cursorKey, now },
        ),
      ).rejects.toThrow(/cursor is invalid/);
    });

    it.each([
      ['a forged cursor', async () => 'eyJ2IjoxfQ.AAAA'],
      [
        'a cursor reused for another user',
        async () =>
          (await queryAuditEvents(store(), { user: 'someone-else', limit: 1 }, { cursorKey, now }))
            .nextCursor!,
      ],
      [
        'a cursor signed with another key',
        async () =>
          (
            await queryAuditEvents(
              store(),
              { user: 'query-user', limit: 1 },
              { cursorKey: new Uint8Array(32), now },
            )
          ).nextCursor!,
      ],
    ])('rejects %s', async (_name, makeCursor) => {
      const cursor = await makeCursor();

      await expect(
        queryAuditEvents(store(), { user: 'query-user', limit: 5, cursor }, { cursorKey, now }),
      ).rejects.toThrow(/cursor is invalid/);
    });

    it.each([
      [{ limit: 0 }, /limit/],
      [{ limit: 10, from: 'yesterday' }, /from must be an ISO-8601/],
      [{ limit: 10, from: '2026-01-01T00:00:00Z' }, /at most 31 days/],
      [{ limit: 10, user: 'bad user' }, /user/],
    ])('rejects bad parameters %o', async (request, message) => {
      await expect(queryAuditEvents(store(), request, { cursorKey, now })).rejects.toThrow(message);
    });

    it('withholds a stored item that is not a masked, valid event', async () => {
      const forged = {
        ...userEvents[0]!,
        eventId: '01KAAAAAAAAAAAAAAAAAAAAAAA',
        details: { guardrail: [], reason: 'mail bob@example.com' },
      };
      await dynalite.client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            pk: { S: 'USER#forged-user#0' },
            sk: { S: `${forged.timestamp}#${forged.eventId}` },
            type: { S: 'CHAT_REQUEST' },
            event: { S: JSON.stringify(forged) },
          },
        }),
      );

      const page = await queryAuditEvents(
        store(),
        { user: 'forged-user', limit: 10 },
        { cursorKey, now, shards: 8 },
      );

      expect(page.events).toEqual([]);
      expect(page.withheld).toBe(1);
    });
  });
});
