/**
 * Lambda entry of the audit archiver: thin wiring around {@link createAuditArchiver}.
 * Environment (checked once at load, failing fast):
 * - `AUDIT_ARCHIVE_BUCKET` (required): the Object Lock bucket.
 * - `AUDIT_OBJECT_LOCK_MODE` (`GOVERNANCE` | `COMPLIANCE`) and `AUDIT_OBJECT_LOCK_DAYS`: explicit
 *   retention per object; leave both unset to rely on the bucket's default retention.
 * - `AUDIT_CHAIN_ID` (optional): fixed chain id; by default derived from the stream ARN.
 * The event source mapping must use `ReportBatchItemFailures`, and the function reserved
 * concurrency 1 (one writer per chain).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { type ArchiveObjectLock, createAuditArchiver, createS3ArchiveSink } from './archiver';

/** Reads and checks the archiver's environment; throws with the variable's name. */
export function readArchiverEnv(env: NodeJS.ProcessEnv): {
  bucket: string;
  objectLock?: ArchiveObjectLock;
  chainId?: string;
} {
  const bucket = env.AUDIT_ARCHIVE_BUCKET;
  if (bucket === undefined || bucket === '') throw new Error('AUDIT_ARCHIVE_BUCKET is required.');
  const mode = env.AUDIT_OBJECT_LOCK_MODE;
  const days = env.AUDIT_OBJECT_LOCK_DAYS;
  if ((mode === undefined) !== (days === undefined)) {
    throw new Error('AUDIT_OBJECT_LOCK_MODE and AUDIT_OBJECT_LOCK_DAYS go together.');
  }
  let objectLock: ArchiveObjectLock | undefined;
  if (mode !== undefined && days !== undefined) {
    if (mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') {
      throw new Error('AUDIT_OBJECT_LOCK_MODE must be GOVERNANCE or COMPLIANCE.');
    }
    const retentionDays = Number(days);
    if (!Number.isInteger(retentionDays) || retentionDays < 1) {
      throw new Error('AUDIT_OBJECT_LOCK_DAYS must be an integer >= 1.');
    }
    objectLock = { mode, retentionDays };
  }
  const chainId = env.AUDIT_CHAIN_ID === '' ? undefined : env.AUDIT_CHAIN_ID;
  return {
    bucket,
    ...(objectLock !== undefined && { objectLock }),
    ...(chainId !== undefined && { chainId }),
  };
}

const config = readArchiverEnv(process.env);
const logger = new Logger({ serviceName: 'audit-archiver' });
const metrics = new Metrics({ namespace: 'OmniChat', serviceName: 'audit-archiver' });
const now = (): Date => new Date();

/** The archiver core, built once per container. */
export const archiveStreamBatch: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> =
  createAuditArchiver({
    sink: createS3ArchiveSink({
      s3: new S3Client({}),
      bucket: config.bucket,
      objectLock: config.objectLock,
      now,
    }),
    metrics,
    logger,
    now,
    chainId: config.chainId,
  });

/** Lambda handler (DynamoDB Streams event source, ReportBatchItemFailures). */
export const handler = middy(archiveStreamBatch).use(injectLambdaContext(logger)).use(logMetrics(metrics));
