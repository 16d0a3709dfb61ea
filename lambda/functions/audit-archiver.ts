/**
 * Audit archiver: DynamoDB stream of the audit table -> hash-chained, gzipped JSON Lines
 * batches in the Object Lock bucket; thin wiring around {@link createAuditArchiver}. Its
 * environment is the contract's (lambda/compose/function-env.ts): `AUDIT_ARCHIVE_BUCKET`,
 * the Object Lock bucket, read and checked once at load, failing the cold start naming it.
 * Objects take the bucket's default retention (lib/constructs/secure-buckets.ts), and the
 * chain id is derived from the stream ARN.
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
import { createAuditArchiver, createS3ArchiveSink } from '../audit/archiver';
import { readFunctionEnv } from '../compose/function-env';

const env = readFunctionEnv('audit-archiver');
const logger = new Logger({ serviceName: 'audit-archiver' });
const metrics = new Metrics({ namespace: 'OmniChat', serviceName: 'audit-archiver' });
const now = (): Date => new Date();

/** The archiver core, built once per container. */
export const archiveStreamBatch: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> =
  createAuditArchiver({
    sink: createS3ArchiveSink({ s3: new S3Client({}), bucket: env.auditArchiveBucket, now }),
    metrics,
    logger,
    now,
  });

/** Lambda handler (DynamoDB Streams event source, ReportBatchItemFailures). */
export const handler = middy(archiveStreamBatch).use(injectLambdaContext(logger)).use(logMetrics(metrics));
