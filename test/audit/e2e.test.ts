import {
  type AttributeValue as DynamoAttributeValue,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditArchiver, createS3ArchiveSink } from '../../lambda/audit/archiver';
import { buildAuditEvent } from '../../lambda/audit/event';
import { createDynamoAuditWriter, failClosed } from '../../lambda/audit/writer';
import { auditTable } from '../../lib/data/table-schemas';
import { exitCodeOf, formatReport, verifyArchive } from '../../scripts/audit-verify';
import { type DynaliteHandle, startDynalite } from '../support/dynalite';
import { type MotoHandle, startMoto } from '../support/moto';
import { chatInput, recordingLogger, recordingMetrics, streamRecord, tempDir, testDeps } from './fixtures';
import { createLockedBucket, downloadBucket, s3For } from './s3-helpers';

type Item = Record<string, DynamoAttributeValue>;

/** Stream images carry the same attribute values as the SDK's items. */
const asImage = (item: Item): Record<string, AttributeValue> => item as Record<string, AttributeValue>;

describe('audit trail end to end: writer -> dynalite -> stream -> archiver -> moto S3 -> verify', () => {
  let dynalite: DynaliteHandle;
  let moto: MotoHandle;
  let s3: S3Client;
  let tableName: string;

  beforeAll(async () => {
    [dynalite, moto] = await Promise.all([startDynalite(), startMoto()]);
    s3 = s3For(moto.endpoint);
    tableName = (await dynalite.createTables([auditTable]))[auditTable.id]!;
  });
  afterAll(async () => {
    s3?.destroy();
    await Promise.all([dynalite?.stop(), moto?.stop()]);
  });

  async function scanSorted(): Promise<Item[]> {
    const items = (await dynalite.client.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
    return items.sort((a, b) => (a.sk!.S! < b.sk!.S! ? -1 : 1));
  }

  it('archives what the handlers wrote into a chain that verifies, and records later tampering', async () => {
    // Prepare: handlers write through the fail-closed DynamoDB writer.
    const metrics = recordingMetrics();
    const logger = recordingLogger();
    const writer = failClosed(createDynamoAuditWriter({ client: dynalite.client, tableName, ttlDays: 30 }), {
      metrics,
      logger,
    });
    const deps = testDeps('2026-11-23T09:58:00.000Z', 7_000);
    const kinds = [
      'AUTHN_SUCCESS',
      'CHAT_REQUEST',
      'DATA_EXPORT',
      'AUTHZ_DENIED',
      'API_KEY_CREATED',
    ] as const;
    const events = Array.from({ length: 40 }, (_, i) =>
      buildAuditEvent({ ...chatInput({ requestId: `e2e-${i}` }), type: kinds[i % kinds.length]! }, deps),
    );
    for (const event of events) await writer.write(event);
    const items = await scanSorted();
    // The stream delivers one INSERT per PutItem, in write order, in batches of up to 100 (here 16).
    const inserts = items.map((item, i) =>
      streamRecord(
        'INSERT',
        i + 1,
        { keys: { pk: asImage(item).pk!, sk: asImage(item).sk! }, newImage: asImage(item) },
        {
          timeSeconds: Date.parse(JSON.parse(item.event!.S!).timestamp) / 1000,
        },
      ),
    );
    const bucket = 'audit-e2e';
    await createLockedBucket(s3, bucket);
    const archiverMetrics = recordingMetrics();
    const archive = createAuditArchiver({
      sink: createS3ArchiveSink({
        s3,
        bucket,
        now: () => new Date(),
        objectLock: { mode: 'GOVERNANCE', retentionDays: 1 },
      }),
      metrics: archiverMetrics,
      logger: recordingLogger(),
      now: () => new Date(),
    });

    // Act
    const responses = [];
    for (let i = 0; i < inserts.length; i += 16)
      responses.push(await archive({ Records: inserts.slice(i, i + 16) }));
    const dir = await tempDir('e2e-archive');
    await downloadBucket(s3, bucket, dir);
    const report = await verifyArchive(dir);

    // Assess
    expect(metrics.calls).toEqual([]);
    expect(responses.every((response) => response.batchItemFailures.length === 0)).toBe(true);
    expect(report).toMatchObject({ ok: true, batches: 3, events: 40, duplicateEvents: 0, tamper: [] });
    expect(report.firstTime).toBe('2026-11-23T09:58:00.000Z');
    expect(formatReport(report)).toMatch(/RESULT: OK/);
    expect(exitCodeOf(report)).toBe(0);

    // Act again: someone with a broader role rewrites an outcome; the stream shows a MODIFY.
    const target = items[5]!;
    const updated = await dynalite.client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: target.pk!, sk: target.sk! },
        UpdateExpression: 'SET #e = :e',
        ExpressionAttributeNames: { '#e': 'event' },
        ExpressionAttributeValues: { ':e': { S: target.event!.S!.replace('"success"', '"failure"') } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const modify: DynamoDBRecord = streamRecord(
      'MODIFY',
      inserts.length + 1,
      {
        keys: { pk: asImage(target).pk!, sk: asImage(target).sk! },
        oldImage: asImage(target),
        newImage: asImage(updated.Attributes!),
      },
      { userIdentity: undefined },
    );
    await archive({ Records: [modify] });
    await downloadBucket(s3, bucket, dir);
    const after = await verifyArchive(dir);

    // Assess again: the chain is intact and carries the tampering, with both images, for the investigation.
    expect(archiverMetrics.calls).toContainEqual(['AuditTamperDetected', 'Count', 1]);
    expect(after).toMatchObject({ ok: true, batches: 4, events: 40 });
    expect(after.tamper).toEqual([
      expect.objectContaining({ eventName: 'MODIFY', reason: 'append-only-item-modified', line: 2 }),
    ]);
    expect(exitCodeOf(after)).toBe(3);
  });
});
