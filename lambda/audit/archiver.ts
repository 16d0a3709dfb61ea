/**
 * DynamoDB Streams handler that archives the audit table into the tamper-evident S3 chain.
 *
 * INSERT records become `event` lines. The table is append-only, so any MODIFY or REMOVE is
 * tampering (IAM cannot force `attribute_not_exists`, so someone with a broader role could
 * still overwrite or delete): it is archived as a `tamper` line with both images and, once its
 * batch is committed, counted in `AuditTamperDetected` (a retried batch is counted once). The one legitimate REMOVE is a TTL expiry, which DynamoDB itself
 * performs (`userIdentity` = service `dynamodb.amazonaws.com`) after `expiresAt`; the event
 * was archived when it was inserted, so expiries are not archived again.
 *
 * Records of one invocation come from one shard in order. They are chained in that order;
 * on a failure the handler returns `batchItemFailures` from the first uncommitted record on,
 * so Lambda retries from there and order is kept. The archiver function must run one batch
 * at a time (reserved concurrency 1) because all shards share one chain per stream.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  type ObjectLockMode,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type ArchiveSink, appendToChain, ChainConflictError, type ChainRecord, chainIdFrom } from './chain';
import { parseAuditEvent } from './event';
import type { AuditMetrics } from './writer';

/** Object Lock applied to every object the archiver writes (the bucket default may also apply). */
export interface ArchiveObjectLock {
  readonly mode: ObjectLockMode;
  readonly retentionDays: number;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

/** S3 adapter of the archive sink: conditional writes, SHA-256 checksums, optional Object Lock. */
export function createS3ArchiveSink(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly objectLock?: ArchiveObjectLock;
  readonly now: () => Date;
}): ArchiveSink {
  const put = async (
    key: string,
    body: Buffer,
    contentType: string,
    condition: { IfNoneMatch: '*' } | { IfMatch: string },
  ): Promise<string> => {
    const lock = options.objectLock;
    const result = await options.s3.send(
      new PutObjectCommand({
        Bucket: options.bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        // S3 checks the body against this digest, so a corrupted upload is refused, not stored; Object
        // Lock also requires a checksum on every PUT.
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
        ...condition,
        ...(lock !== undefined && {
          ObjectLockMode: lock.mode,
          ObjectLockRetainUntilDate: new Date(options.now().getTime() + lock.retentionDays * 86_400_000),
        }),
      }),
    );
    return result.ETag ?? '';
  };
  return {
    async get(key) {
      try {
        const result = await options.s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: key }));
        const bytes = await result.Body?.transformToByteArray();
        return { body: Buffer.from(bytes ?? new Uint8Array()), etag: result.ETag ?? '' };
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },
    async putIfAbsent(key, body, contentType) {
      try {
        await put(key, body, contentType, { IfNoneMatch: '*' });
        return 'created';
      } catch (error) {
        if (statusOf(error) === 412) return 'exists';
        throw error;
      }
    },
    async putHead(key, body, expectedEtag) {
      try {
        return await put(
          key,
          body,
          'application/json',
          expectedEtag === undefined ? { IfNoneMatch: '*' } : { IfMatch: expectedEtag },
        );
      } catch (error) {
        if (statusOf(error) === 412)
          throw new ChainConflictError(`${key} moved under us (concurrent archiver?).`);
        throw error;
      }
    },
  };
}

const TTL_PRINCIPAL = 'dynamodb.amazonaws.com';

function keysOf(image: Record<string, AttributeValue> | undefined): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const name of ['pk', 'sk']) {
    const value = image?.[name]?.S;
    if (value !== undefined) keys[name] = value;
  }
  return keys;
}

/** True for the REMOVE that DynamoDB TTL performs on an item whose `expiresAt` has passed. */
export function isTtlExpiry(record: DynamoDBRecord): boolean {
  const identity = record.userIdentity as { type?: string; principalId?: string } | undefined;
  const expiresAt = Number(record.dynamodb?.OldImage?.expiresAt?.N);
  const removedAt = record.dynamodb?.ApproximateCreationDateTime;
  return (
    record.eventName === 'REMOVE' &&
    identity?.type === 'Service' &&
    identity.principalId === TTL_PRINCIPAL &&
    Number.isFinite(expiresAt) &&
    removedAt !== undefined &&
    expiresAt <= removedAt
  );
}

/** Converts a stream record to a chain record; `undefined` for a TTL expiry (not archived again). */
export function toChainRecord(record: DynamoDBRecord, now: () => Date): ChainRecord | undefined {
  if (isTtlExpiry(record)) return undefined;
  const stream = record.dynamodb;
  const seconds = stream?.ApproximateCreationDateTime;
  const timeMs = seconds === undefined ? now().getTime() : Math.round(seconds * 1000);
  const time = new Date(timeMs).toISOString();
  const recordId = record.eventID ?? stream?.SequenceNumber ?? `${timeMs}`;
  const keys = keysOf(stream?.Keys ?? stream?.NewImage ?? stream?.OldImage);
  if (record.eventName === 'INSERT') {
    try {
      const event = parseAuditEvent(JSON.parse(stream?.NewImage?.event?.S ?? 'null'));
      return { recordId, timeMs, line: { kind: 'event', recordId, time, keys, event } };
    } catch {
      // Only the writer puts items and it validates; anything else is a forged or broken insert.
      return {
        recordId,
        timeMs,
        line: {
          kind: 'tamper',
          recordId,
          time,
          eventName: 'INSERT',
          reason: 'insert-not-a-valid-audit-event',
          keys,
          newImage: stream?.NewImage,
          userIdentity: record.userIdentity,
        },
      };
    }
  }
  return {
    recordId,
    timeMs,
    line: {
      kind: 'tamper',
      recordId,
      time,
      eventName: record.eventName ?? 'UNKNOWN',
      reason: record.eventName === 'MODIFY' ? 'append-only-item-modified' : 'append-only-item-removed',
      keys,
      ...(stream?.OldImage !== undefined && { oldImage: stream.OldImage }),
      ...(stream?.NewImage !== undefined && { newImage: stream.NewImage }),
      ...(record.userIdentity !== undefined && { userIdentity: record.userIdentity }),
    },
  };
}

/** Chain id of a stream: table name and stream label from the event source ARN. */
export function chainIdOfStream(eventSourceArn: string | undefined): string {
  const match = /:table\/([^/]+)\/stream\/([^/]+)$/.exec(eventSourceArn ?? '');
  return chainIdFrom(match === null ? 'audit' : `${match[1]}-${match[2]}`);
}

/** Dependencies of {@link createAuditArchiver}. */
export interface AuditArchiverDeps {
  readonly sink: ArchiveSink;
  readonly metrics: AuditMetrics;
  readonly logger: {
    error(message: string, attributes: Record<string, unknown>): void;
    info(message: string, attributes: Record<string, unknown>): void;
  };
  readonly now: () => Date;
  /** Fixed chain id; by default derived from the stream ARN. */
  readonly chainId?: string;
  readonly maxBatchRecords?: number;
}

/** Builds the stream handler core: archives a batch and reports the records to retry. */
export function createAuditArchiver(
  deps: AuditArchiverDeps,
): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  return async (event) => {
    const records = event.Records;
    const chainRecords: ChainRecord[] = [];
    const sourceIndex: number[] = [];
    records.forEach((record, index) => {
      const chainRecord = toChainRecord(record, deps.now);
      if (chainRecord === undefined) return;
      chainRecords.push(chainRecord);
      sourceIndex.push(index);
    });
    const tampered = chainRecords.filter((record) => record.line.kind === 'tamper');
    if (tampered.length > 0) {
      // Logged on every attempt (the evidence survives a batch that never commits); counted
      // below, once, when the batch holding the record is committed.
      deps.logger.error('Audit table tampering detected', {
        auditTamper: tampered.map((record) => ({
          recordId: record.recordId,
          keys: record.line.keys,
          eventName: record.line.kind === 'tamper' ? record.line.eventName : 'INSERT',
        })),
      });
    }
    const chainId = deps.chainId ?? chainIdOfStream(records[0]?.eventSourceARN);
    const result = await appendToChain(deps.sink, chainId, chainRecords, {
      maxBatchRecords: deps.maxBatchRecords,
    });
    // Metrics count only what this invocation committed: a failed batch that Lambda retries
    // is counted when the retry commits it, not on every attempt. Leading records the head
    // already holds are counted again, on purpose: they come back only when the invocation
    // that committed them died before answering (timeout, crash), so its metrics were never
    // flushed.
    const committed = chainRecords.slice(0, result.committedRecords);
    const archivedEvents = committed.filter((record) => record.line.kind === 'event').length;
    if (archivedEvents > 0) deps.metrics.addMetric('AuditEventsArchived', 'Count', archivedEvents);
    const archivedTamper = committed.filter((record) => record.line.kind === 'tamper').length;
    if (archivedTamper > 0) deps.metrics.addMetric('AuditTamperDetected', 'Count', archivedTamper);
    if (result.error === undefined) {
      deps.logger.info('Audit records archived', {
        chainId,
        batches: result.batchKeys,
        records: records.length,
      });
      return { batchItemFailures: [] };
    }
    // Retry from the first uncommitted record: everything after it is listed too, in order.
    const firstFailed = sourceIndex[result.committedRecords] ?? records.length;
    const error = result.error;
    deps.logger.error('Audit archive write failed; asking for a retry', {
      chainId,
      committedRecords: result.committedRecords,
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
    });
    return {
      batchItemFailures: records.slice(firstFailed).map((record, offset) => ({
        itemIdentifier: record.dynamodb?.SequenceNumber ?? record.eventID ?? String(firstFailed + offset),
      })),
    };
  };
}
