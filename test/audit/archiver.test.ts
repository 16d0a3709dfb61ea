import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditArchiver, createS3ArchiveSink } from '../../lambda/audit/archiver';
import { type ArchiveSink, type BatchHeader, batchLines, type ChainHead } from '../../lambda/audit/chain';
import { verifyArchive } from '../../scripts/audit-verify';
import { type MotoHandle, startMoto } from '../support/moto';
import {
  imageOf,
  insertRecords,
  manyEvents,
  recordingLogger,
  recordingMetrics,
  streamRecord,
  tempDir,
} from './fixtures';
import { createLockedBucket, downloadBucket, listKeys, s3For } from './s3-helpers';

const CHAIN = 'AuditTable-2026-11-23T00-00-00.000';
let bucketCounter = 0;

describe('audit archiver (moto S3 with Object Lock)', () => {
  let moto: MotoHandle;
  let s3: S3Client;

  beforeAll(async () => {
    moto = await startMoto();
    s3 = s3For(moto.endpoint);
  });
  afterAll(async () => {
    s3?.destroy();
    await moto?.stop();
  });

  async function freshArchive(
    wrap: (sink: ArchiveSink) => ArchiveSink = (sink) => sink,
    maxBatchRecords?: number,
  ) {
    const bucket = `audit-archive-${++bucketCounter}`;
    await createLockedBucket(s3, bucket);
    // The archiver's clock (partitions, chain ids) is fixed; the retain-until date is enforced by
    // the real moto server on the real clock, so the sink's clock must be the real one.
    const now = () => new Date('2026-11-23T12:00:00.000Z');
    const sink = wrap(
      createS3ArchiveSink({
        s3,
        bucket,
        now: () => new Date(),
        objectLock: { mode: 'COMPLIANCE', retentionDays: 1 },
      }),
    );
    const metrics = recordingMetrics();
    const logger = recordingLogger();
    const archive = createAuditArchiver({ sink, metrics, logger, now, maxBatchRecords });
    return { bucket, archive, metrics, logger };
  }

  async function readHead(bucket: string): Promise<ChainHead> {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `chain=${CHAIN}/HEAD.json` }));
    return JSON.parse(await object.Body!.transformToString()) as ChainHead;
  }

  async function verified(bucket: string) {
    const dir = await tempDir('archive-download');
    await downloadBucket(s3, bucket, dir);
    return verifyArchive(dir);
  }

  const batchOf = (records: DynamoDBStreamEvent['Records']): DynamoDBStreamEvent => ({ Records: records });

  it('chains successive stream batches in order and the download verifies', async () => {
    // Prepare
    const { bucket, archive, metrics } = await freshArchive();
    const events = manyEvents(15);
    const records = insertRecords(events);

    // Act
    const responses = [];
    for (let i = 0; i < 15; i += 5) responses.push(await archive(batchOf(records.slice(i, i + 5))));

    // Assess
    expect(responses).toEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    const head = await readHead(bucket);
    expect(head.seq).toBe(3);
    const keys = (await listKeys(s3, bucket)).filter((key) => key.endsWith('.jsonl.gz'));
    expect(keys).toHaveLength(3);
    const first = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys[0] }));
    const lines = batchLines(Buffer.from(await first.Body!.transformToByteArray()));
    expect((JSON.parse(lines[0]!) as BatchHeader).prevHash).toBe('0'.repeat(64));
    expect(lines.slice(1).map((line) => JSON.parse(line).event.eventId)).toEqual(
      events.slice(0, 5).map((e) => e.eventId),
    );
    expect(metrics.calls).toEqual(Array.from({ length: 3 }, () => ['AuditEventsArchived', 'Count', 5]));
    const report = await verified(bucket);
    expect(report).toMatchObject({ ok: true, batches: 3, events: 15, duplicateEvents: 0 });
  });

  it('seals an hour manifest when the chain enters a new hour, even when shards interleave out of time order', async () => {
    // Prepare: shard A starts at 11:00:01, shard B's batch begins at 10:59:58, then 12:00 comes.
    const { bucket, archive } = await freshArchive();
    const events = manyEvents(6);
    const at = (iso: string) => Date.parse(iso) / 1000;
    const records = events.map((event, i) => {
      const image = imageOf(event);
      const times = [
        '2026-11-23T11:00:01Z',
        '2026-11-23T11:00:02Z',
        '2026-11-23T10:59:58Z',
        '2026-11-23T11:00:03Z',
        '2026-11-23T12:00:01Z',
        '2026-11-23T12:00:02Z',
      ];
      return streamRecord(
        'INSERT',
        i + 1,
        { keys: { pk: image.pk!, sk: image.sk! }, newImage: image },
        { timeSeconds: at(times[i]!) },
      );
    });

    // Act
    for (let i = 0; i < 6; i += 2) await archive(batchOf(records.slice(i, i + 2)));

    // Assess
    const keys = await listKeys(s3, bucket);
    expect(keys).toContain(`chain=${CHAIN}/2026/11/23/11/manifest.json`);
    expect(keys.filter((key) => key.includes('/10/'))).toEqual([]);
    expect(await verified(bucket)).toMatchObject({ ok: true, batches: 3, events: 6 });
  });

  it('does not archive a redelivered batch twice (lost response, Lambda retries)', async () => {
    const { bucket, archive } = await freshArchive();
    const records = insertRecords(manyEvents(4));

    await archive(batchOf(records));
    const again = await archive(batchOf(records));

    expect(again).toEqual({ batchItemFailures: [] });
    expect((await readHead(bucket)).seq).toBe(1);
    expect(await verified(bucket)).toMatchObject({ ok: true, batches: 1, events: 4, duplicateEvents: 0 });
  });

  it('adopts its own batch after a crash between the batch write and the head update (no fork)', async () => {
    // Prepare: the first head update fails as if the function timed out right after the batch PUT.
    let failHeadOnce = true;
    const { bucket, archive } = await freshArchive((sink) => ({
      ...sink,
      putHead: async (key, body, etag) => {
        if (failHeadOnce) {
          failHeadOnce = false;
          throw new Error('Task timed out');
        }
        return sink.putHead(key, body, etag);
      },
    }));
    const records = insertRecords(manyEvents(6));

    // Act
    const failed = await archive(batchOf(records.slice(0, 3)));
    const retried = await archive(batchOf(records));

    // Assess
    expect(failed.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      records.slice(0, 3).map((r) => r.dynamodb?.SequenceNumber),
    );
    expect(retried).toEqual({ batchItemFailures: [] });
    expect((await readHead(bucket)).seq).toBe(2);
    expect(await verified(bucket)).toMatchObject({ ok: true, batches: 2, events: 6, duplicateEvents: 0 });
  });

  it('on a partial failure returns batchItemFailures from the first uncommitted record, in order, and resumes there', async () => {
    // Prepare: batches of 2; the second batch PUT fails once.
    let puts = 0;
    const { bucket, archive } = await freshArchive(
      (sink) => ({
        ...sink,
        putIfAbsent: async (key, body, type) => {
          if (key.endsWith('.jsonl.gz') && ++puts === 2) throw new Error('SlowDown');
          return sink.putIfAbsent(key, body, type);
        },
      }),
      2,
    );
    const records = insertRecords(manyEvents(6));

    // Act
    const first = await archive(batchOf(records));
    const failedIds = first.batchItemFailures.map((failure) => failure.itemIdentifier);
    const retry = await archive(
      batchOf(records.filter((r) => failedIds.includes(r.dynamodb!.SequenceNumber!))),
    );

    // Assess
    expect(failedIds).toEqual(records.slice(2).map((r) => r.dynamodb?.SequenceNumber));
    expect(retry).toEqual({ batchItemFailures: [] });
    const report = await verified(bucket);
    expect(report).toMatchObject({ ok: true, batches: 3, events: 6 });
  });

  it.each([
    ['MODIFY', 'append-only-item-modified'],
    ['REMOVE', 'append-only-item-removed'],
  ] as const)(
    'archives a %s on the append-only table as tampering and emits AuditTamperDetected',
    async (eventName, reason) => {
      // Prepare
      const { bucket, archive, metrics, logger } = await freshArchive();
      const [event] = manyEvents(1);
      const image = imageOf(event!);
      const keys = { pk: image.pk!, sk: image.sk! };
      const forged = { ...image, event: { S: JSON.stringify({ ...event, outcome: 'success' }) } };
      const records = [
        ...insertRecords([event!]),
        streamRecord(
          eventName,
          2,
          eventName === 'MODIFY' ? { keys, oldImage: image, newImage: forged } : { keys, oldImage: image },
          {
            userIdentity: undefined,
          },
        ),
      ];

      // Act
      const response = await archive(batchOf(records));

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(metrics.calls).toContainEqual(['AuditTamperDetected', 'Count', 1]);
      expect(logger.errors[0]?.[0]).toMatch(/tampering/);
      const report = await verified(bucket);
      expect(report.ok).toBe(true);
      expect(report.tamper).toEqual([expect.objectContaining({ eventName, reason, line: 3 })]);
    },
  );

  it('counts tampering once when its batch fails and Lambda retries it (counted on commit, not per attempt)', async () => {
    // Prepare: the first batch PUT fails, as on an S3 throttle; the retry succeeds.
    let failBatchOnce = true;
    const { bucket, archive, metrics, logger } = await freshArchive((sink) => ({
      ...sink,
      putIfAbsent: async (key, body, type) => {
        if (key.endsWith('.jsonl.gz') && failBatchOnce) {
          failBatchOnce = false;
          throw new Error('SlowDown');
        }
        return sink.putIfAbsent(key, body, type);
      },
    }));
    const [event] = manyEvents(1);
    const image = imageOf(event!);
    const keys = { pk: image.pk!, sk: image.sk! };
    const records = [...insertRecords([event!]), streamRecord('REMOVE', 2, { keys, oldImage: image })];
    const tamperCounts = () => metrics.calls.filter(([name]) => name === 'AuditTamperDetected');

    // Act
    const failed = await archive(batchOf(records));
    const countedOnFailure = tamperCounts().length;
    const failedIds = failed.batchItemFailures.map((f) => f.itemIdentifier);
    const retried = await archive(
      batchOf(records.filter((r) => failedIds.includes(r.dynamodb!.SequenceNumber!))),
    );

    // Assess
    expect(failedIds).toEqual(records.map((r) => r.dynamodb?.SequenceNumber));
    expect(countedOnFailure).toBe(0);
    expect(retried).toEqual({ batchItemFailures: [] });
    expect(tamperCounts()).toEqual([['AuditTamperDetected', 'Count', 1]]);
    // The evidence is logged on each attempt, whatever the metric says.
    expect(logger.errors.filter(([message]) => /tampering/.test(message))).toHaveLength(2);
    const report = await verified(bucket);
    expect(report.tamper).toHaveLength(1);
  });

  it('does not flag a TTL expiry performed by DynamoDB itself, but does flag a forged one', async () => {
    const { bucket, archive, metrics } = await freshArchive();
    const [event] = manyEvents(1, '2026-01-01T00:00:00.000Z');
    const image = imageOf(event!, 60);
    const keys = { pk: image.pk!, sk: image.sk! };
    const expiredAt = Number(image.expiresAt!.N) + 5;
    const ttl = streamRecord(
      'REMOVE',
      2,
      { keys, oldImage: image },
      {
        timeSeconds: expiredAt,
        userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
      },
    );
    const early = streamRecord(
      'REMOVE',
      3,
      { keys, oldImage: image },
      {
        timeSeconds: expiredAt - 3600,
        userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
      },
    );

    await archive(batchOf([...insertRecords([event!]), ttl, early]));

    expect(metrics.calls).toContainEqual(['AuditTamperDetected', 'Count', 1]);
    const report = await verified(bucket);
    expect(report).toMatchObject({ ok: true, events: 1 });
    expect(report.tamper).toHaveLength(1);
  });

  it('Object Lock refuses deleting an archived batch version inside retention; an overwrite leaves it intact', async () => {
    // Prepare
    const { bucket, archive } = await freshArchive();
    await archive(batchOf(insertRecords(manyEvents(3))));
    const key = (await listKeys(s3, bucket)).find((k) => k.endsWith('.jsonl.gz'))!;
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    const versionId = versions.Versions?.[0]?.VersionId;
    const original = await (
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    ).Body!.transformToByteArray();

    // Act + Assess: deleting the version is refused.
    await expect(
      s3.send(
        new DeleteObjectCommand({
          Bucket: bucket,
          Key: key,
          VersionId: versionId,
          BypassGovernanceRetention: true,
        }),
      ),
    ).rejects.toThrow(/Access ?Denied|locked|retention/i);
    // A conditional put (what the archiver does) cannot replace it.
    await expect(
      s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: 'forged',
          IfNoneMatch: '*',
          ChecksumAlgorithm: 'SHA256',
        }),
      ),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
    // A plain overwrite only adds a version; the locked original stays readable by its version id.
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'forged', ChecksumAlgorithm: 'SHA256' }),
    );
    const kept = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    expect(Buffer.from(await kept.Body!.transformToByteArray()).equals(Buffer.from(original))).toBe(true);
    expect(kept.ObjectLockMode).toBe('COMPLIANCE');
    // ...and the latest (forged) version breaks the chain, which verify reports.
    const report = await verified(bucket);
    expect(report.ok).toBe(false);
  });
});
