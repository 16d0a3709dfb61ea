import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/schema';
import { ApiFunction } from '../constructs/api-function';
import { grantTable } from '../constructs/data-access';
import type { PrivateNetwork } from '../constructs/private-network';
import { apiKeysTable, auditTable } from '../data/table-schemas';
import { auditArchiveBucketName, type DataStack } from './data-stack';
import type { IdentityStack } from './identity-stack';
import { retentionDays } from './retention';

/** Properties of {@link ApiStack}. */
export interface ApiStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: PrivateNetwork;
  readonly data: DataStack;
  readonly identity: IdentityStack;
}

/**
 * The stateless serving layer: Lambda functions split by privilege (each role reaches
 * only the tables, keys and models its routes need), the audit archiver, and the edge.
 *
 * Privilege split (DESIGN.md section 5):
 * - every API function: GetItem on the API-keys table (key authentication and the owner
 *   directory) and PutItem, nothing else, on the audit table;
 * - keys: writes the API-keys table;
 * - the archiver: reads the audit stream and writes the Object Lock archive.
 */
export class ApiStack extends Stack {
  /** Functions by name. */
  readonly functions: Readonly<Record<string, ApiFunction>>;
  /** Where audit stream records go when the archiver keeps failing (an alarm watches it). */
  readonly auditDeadLetters: sqs.IQueue;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, network, data, identity } = props;
    const common = {
      vpc: network.vpc,
      subnets: network.computeSubnets,
      logsKey: data.keys.logsKey,
      logRetention: retentionDays(config.logRetentionDays),
      environmentKey: data.keys.dataKey,
    };
    const keysTable = data.table(apiKeysTable);
    const audit = data.table(auditTable);

    /** What every API function needs: identity, key authentication and the audit writer. */
    const apiEnvironment = {
      ...identity.verifierEnvironment,
      TABLE_API_KEYS: keysTable.tableName,
      TABLE_AUDIT: audit.tableName,
      AUDIT_RETENTION_DAYS: String(config.audit.tableRetentionDays),
      POWERTOOLS_METRICS_NAMESPACE: 'OmniChat',
    };
    const apiFunction = (
      name: string,
      props: {
        entry: string;
        description: string;
        environment?: Record<string, string>;
        reservedConcurrency: number;
      },
    ): ApiFunction => {
      const fn = new ApiFunction(this, name, {
        ...common,
        entry: props.entry,
        description: props.description,
        environment: { ...apiEnvironment, ...(props.environment ?? {}) },
        reservedConcurrency: props.reservedConcurrency,
      });
      grantTable(fn, { sid: 'ApiKeysRead', table: keysTable, key: data.keys.dataKey, actions: ['GetItem'] });
      // A used key records when it was last used, and that attribute is all it may change.
      grantTable(fn, {
        sid: 'ApiKeysTouch',
        table: keysTable,
        key: data.keys.dataKey,
        actions: ['UpdateItem'],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'lastUsedAt'] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      });
      // Append-only: PutItem alone (every write carries attribute_not_exists on the key).
      grantTable(fn, { sid: 'AuditAppend', table: audit, key: data.keys.auditKey, actions: ['PutItem'] });
      return fn;
    };

    const health = new ApiFunction(this, 'Health', {
      ...common,
      entry: 'health',
      description: 'GET /healthz for the load balancer; touches no dependency',
      environment: {},
      reservedConcurrency: 5,
      memorySize: 256,
    });

    const keys = apiFunction('Keys', {
      entry: 'keys',
      description: 'GET/POST /api/v1/keys, DELETE /api/v1/keys/{id}: personal API keys (hashes only)',
      reservedConcurrency: 10,
    });
    grantTable(keys, {
      sid: 'ApiKeysWrite',
      table: keysTable,
      key: data.keys.dataKey,
      actions: ['Query', 'PutItem', 'UpdateItem'],
      indexes: ['byOwner'],
    });

    const { fn: auditArchiver, deadLetters } = this.auditArchiver(config, common, data);
    this.auditDeadLetters = deadLetters;

    this.functions = { health, keys, auditArchiver };
  }

  /**
   * The audit table's stream -> the archiver -> the Object Lock bucket. One batch at a time
   * per shard (parallelization 1, reserved concurrency 1) keeps each hash chain in order;
   * failed records are reported per item, retried a bounded number of times, and what still
   * fails goes to an encrypted dead-letter queue for an operator, never silently dropped.
   */
  private auditArchiver(
    config: EnvironmentConfig,
    common: Omit<
      ConstructorParameters<typeof ApiFunction>[2],
      'entry' | 'description' | 'environment' | 'reservedConcurrency'
    >,
    data: DataStack,
  ): { fn: ApiFunction; deadLetters: sqs.Queue } {
    const table = data.table(auditTable);
    const streamArn = table.tableStreamArn;
    if (!streamArn) throw new Error('The audit table must have a stream (lib/data/table-schemas.ts)');
    const fn = new ApiFunction(this, 'AuditArchiver', {
      ...common,
      entry: 'audit-archiver',
      description: 'Audit table stream -> hash-chained batches in the Object Lock archive bucket',
      environment: { AUDIT_ARCHIVE_BUCKET: auditArchiveBucketName(config) },
      reservedConcurrency: 1,
      memorySize: 512,
      timeout: Duration.minutes(1),
      invokedBy: 'stream',
    });
    const deadLetters = new sqs.Queue(this, 'AuditArchiverDeadLetters', {
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
    const chainObjects = `arn:${this.partition}:s3:::${auditArchiveBucketName(config)}/chain=*`;
    fn.grant('WriteArchive', ['s3:PutObject', 's3:GetObject'], [chainObjects]);
    Validations.of(fn.policy).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${chainObjects}]`,
      reason:
        'Object keys are created at run time (one per batch, named by chain, sequence and time); the grant is limited to the chain prefix of this one bucket, with PutObject and GetObject only (no delete, no retention or legal-hold changes).',
    });
    fn.grant('ArchiveKey', ['kms:GenerateDataKey', 'kms:Decrypt'], [data.keys.auditKey.keyArn], {
      StringEquals: {
        'kms:ViaService': [`s3.${this.region}.amazonaws.com`, `sqs.${this.region}.amazonaws.com`],
      },
    });
    fn.grant('DeadLetter', ['sqs:SendMessage'], [deadLetters.queueArn]);
    fn.grant('StreamKey', ['kms:Decrypt'], [data.keys.auditKey.keyArn], {
      StringEquals: { 'kms:ViaService': `dynamodb.${this.region}.amazonaws.com` },
    });
    new lambda.EventSourceMapping(this, 'AuditStreamToArchiver', {
      target: fn.function,
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 500,
      maxBatchingWindow: Duration.seconds(10),
      parallelizationFactor: 1,
      bisectBatchOnError: true,
      retryAttempts: 10,
      maxRecordAge: Duration.days(1),
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(deadLetters),
    });
    return { fn, deadLetters };
  }
}
