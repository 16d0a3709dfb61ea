/**
 * The audit archiver of the Api stack: the audit table's stream -> the archiver -> the
 * Object Lock bucket, with its dead-letter queue. Construct ids are the stack's own.
 */
import { Duration, type Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { toLambdaEnvironment } from '../../../lambda/compose/function-env';
import type { EnvironmentConfig } from '../../config/schema';
import { ApiFunction } from '../../constructs/api-function';
import { auditTable } from '../../data/table-schemas';
import { auditArchiveBucketName, type DataStack } from '../data-stack';
import type { FunctionBase } from './api-functions';

/** Longest wait of the audit stream mapping to fill a batch, in seconds (Lambda allows 0-300). */
export const ARCHIVE_BATCHING_WINDOW_SECONDS = 300;

/**
 * The audit table's stream -> the archiver -> the Object Lock bucket. One batch at a time
 * per shard (parallelization 1, reserved concurrency 1) keeps each hash chain in order;
 * failed records are reported per item, retried a bounded number of times, and what still
 * fails goes to an encrypted dead-letter queue for an operator, never silently dropped.
 */
export function createAuditArchiver(
  stack: Stack,
  config: EnvironmentConfig,
  base: FunctionBase,
  data: DataStack,
): { fn: ApiFunction; deadLetters: sqs.Queue } {
  const table = data.table(auditTable);
  const streamArn = table.tableStreamArn;
  if (!streamArn) throw new Error('The audit table must have a stream (lib/data/table-schemas.ts)');
  const fn = new ApiFunction(stack, 'AuditArchiver', {
    ...base,
    entry: 'audit-archiver',
    description: 'Audit table stream -> hash-chained batches in the Object Lock archive bucket',
    environment: toLambdaEnvironment('audit-archiver', {
      auditArchiveBucket: auditArchiveBucketName(config),
    }),
    // All shards share one chain, so the archiver should run one batch at a time. Without a
    // reservation (dev, reservations off) two shards can be archived at once: the chain
    // head's conditional write (If-Match) refuses the second writer, which fails its batch
    // and is retried, so the chain never forks; it only costs retries (docs/first-deploy.md).
    ...(config.reservedConcurrency ? { reservedConcurrency: 1 } : {}),
    memorySize: 512,
    timeout: Duration.minutes(1),
    invokedBy: 'stream',
  });
  const deadLetters = new sqs.Queue(stack, 'AuditArchiverDeadLetters', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: data.keys.auditKey,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const isTheDeadLetterQueue =
    'This queue IS the dead-letter destination: the audit stream event source mapping sends records that still fail after bounded retries here for an operator (an alarm watches its depth). A dead-letter queue of a dead-letter queue would only move the same records again.';
  Validations.of(deadLetters).acknowledge(
    { id: 'AwsSolutions::AwsSolutions-SQS3', reason: isTheDeadLetterQueue },
    { id: 'Serverless::Serverless-SQSRedrivePolicy', reason: isTheDeadLetterQueue },
    { id: 'cdk-validator-cfnguard::sqs_dlq_check', reason: isTheDeadLetterQueue },
    {
      id: 'cdk-validator-cfnguard::sqs_queue_encrypted_check',
      reason:
        'The queue IS encrypted: KmsMasterKeyId is the audit CMK, a cross-stack reference that the guard rule cannot resolve (it accepts only literals and same-stack Refs). A template test asserts the key.',
    },
  );
  // The role is immutable (see ApiFunction), so the grants CDK's event source would add are
  // written here explicitly, scoped to this stream, bucket, key and queue.
  // This stream only (as CDK's TableV2 grants it), not `stream/*`.
  fn.grant(
    'ReadAuditStream',
    ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
    [streamArn],
  );
  // Batches and chain heads live under `chain=<id>/`; the archiver reads a head before it
  // appends (conditional on its ETag) and never deletes: Object Lock would refuse anyway.
  const chainObjects = `arn:${stack.partition}:s3:::${auditArchiveBucketName(config)}/chain=*`;
  fn.grant('WriteArchive', ['s3:PutObject', 's3:GetObject'], [chainObjects]);
  Validations.of(fn.policy).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::${chainObjects}]`,
    reason:
      'Object keys are created at run time (one per batch, named by chain, sequence and time); the grant is limited to the chain prefix of this one bucket, with PutObject and GetObject only (no delete, no retention or legal-hold changes).',
  });
  fn.grant('ArchiveKey', ['kms:GenerateDataKey', 'kms:Decrypt'], [data.keys.auditKey.keyArn], {
    StringEquals: {
      'kms:ViaService': [`s3.${stack.region}.amazonaws.com`, `sqs.${stack.region}.amazonaws.com`],
    },
  });
  fn.grant('DeadLetter', ['sqs:SendMessage'], [deadLetters.queueArn]);
  fn.grant('StreamKey', ['kms:Decrypt'], [data.keys.auditKey.keyArn], {
    StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` },
  });
  new lambda.EventSourceMapping(stack, 'AuditStreamToArchiver', {
    target: fn.function,
    eventSourceArn: streamArn,
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    batchSize: 500,
    // Each invocation writes two objects (batch, chain head) and reads one, whatever the batch
    // holds, so the S3 requests per audit event fall with the window (`npm run cost`, audit
    // archive line: 11 events a batch at 10 s, 342 at 300 s, at 1M chats a month). Waiting
    // longer weakens no guarantee: the stream keeps every insert for 24 hours even if its item
    // is deleted meanwhile, the table answers audit queries at once, and the lag alarm
    // (IteratorAge, 15 minutes) stays well above the window. Lambda allows 0 to 300 s for
    // streams (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html).
    maxBatchingWindow: Duration.seconds(ARCHIVE_BATCHING_WINDOW_SECONDS),
    parallelizationFactor: 1,
    bisectBatchOnError: true,
    retryAttempts: 10,
    maxRecordAge: Duration.days(1),
    reportBatchItemFailures: true,
    onFailure: new SqsDlq(deadLetters),
  });
  return { fn, deadLetters };
}
