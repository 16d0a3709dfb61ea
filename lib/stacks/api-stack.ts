import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULT_OWNER_CACHE_SECONDS } from '../../lambda/auth/owner-directory';
import { deployConfigDefine } from '../config/deploy-config';
import type { EnvironmentConfig } from '../config/schema';
import { ApiFunction } from '../constructs/api-function';
import { grantTable } from '../constructs/data-access';
import { ChatLoadBalancer } from '../constructs/edge/load-balancer';
import { BedrockGuardrail } from '../constructs/guardrail/bedrock-guardrail';
import { grantGuardedModelAccess } from '../constructs/guardrail/model-access';
import type { PrivateNetwork } from '../constructs/private-network';
import { WebAcl } from '../constructs/web-acl';
import {
  apiKeysTable,
  auditTable,
  conversationsTable,
  limitsTable,
  settingsTable,
} from '../data/table-schemas';
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
 * only the tables, keys and models its routes need), the Bedrock guardrail, the audit
 * archiver, and the edge (WAF web ACL and the load balancer with its auth rules).
 *
 * Privilege split (DESIGN.md section 5; `npm run docs:permissions` renders it):
 * - every API function: GetItem on the API-keys table (key authentication and the owner
 *   directory) and PutItem, nothing else, on the audit table;
 * - chat: the conversations, limits and settings it serves a message with, new data keys,
 *   and Bedrock only for allow-listed models with this environment's guardrail version;
 * - history: reads and deletes the caller's data (export, erasure), decrypts, never encrypts;
 * - keys: writes the API-keys table;
 * - admin: the settings table and the audit query (masked events only);
 * - web: nothing beyond the common grants (it serves files);
 * - the archiver: reads the audit stream and writes the Object Lock archive.
 */
export class ApiStack extends Stack {
  /** Functions by name. */
  readonly functions: Readonly<Record<string, ApiFunction>>;
  /** Where audit stream records go when the archiver keeps failing (an alarm watches it). */
  readonly auditDeadLetters: sqs.IQueue;
  /** The Bedrock guardrail every model call names, at its pinned version. */
  readonly guardrail: BedrockGuardrail;
  /** The regional web ACL in front of the load balancer and the user pool. */
  readonly webAcl: WebAcl;
  /** The load balancer with its listener rules. */
  readonly edge: ChatLoadBalancer;

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
      // The owner-directory cache: how long a demotion, disable or erasure takes to reach
      // every credential (at most 60 s; lambda/auth/owner-directory.ts, README "Permissions").
      OWNER_CACHE_SECONDS: String(DEFAULT_OWNER_CACHE_SECONDS),
    };
    const apiFunction = (
      name: string,
      props: Pick<
        ConstructorParameters<typeof ApiFunction>[2],
        'entry' | 'description' | 'reservedConcurrency' | 'memorySize' | 'timeout' | 'define' | 'assetsDir'
      > & { environment?: Record<string, string> },
    ): ApiFunction => {
      const fn = new ApiFunction(this, name, {
        ...common,
        ...props,
        environment: { ...apiEnvironment, ...(props.environment ?? {}) },
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

    const concurrency = config.reservedConcurrency;
    const health = new ApiFunction(this, 'Health', {
      ...common,
      entry: 'health',
      description: 'GET /healthz for the load balancer; touches no dependency',
      environment: {},
      reservedConcurrency: concurrency?.health,
      memorySize: 256,
    });

    const keys = apiFunction('Keys', {
      entry: 'keys',
      description: 'GET/POST /api/v1/keys, DELETE /api/v1/keys/{id}: personal API keys (hashes only)',
      reservedConcurrency: concurrency?.keys,
    });
    grantTable(keys, {
      sid: 'ApiKeysWrite',
      table: keysTable,
      key: data.keys.dataKey,
      actions: ['Query', 'PutItem', 'UpdateItem'],
      indexes: ['byOwner'],
    });

    const conversations = data.table(conversationsTable);
    const limits = data.table(limitsTable);
    const settings = data.table(settingsTable);
    /** What the chat, history and admin functions compose their services from (lambda/runtime/aws-services.ts). */
    const serviceEnvironment = {
      TABLE_CONVERSATIONS: conversations.tableName,
      TABLE_LIMITS: limits.tableName,
      TABLE_SETTINGS: settings.tableName,
      DATA_KEY_ARN: data.keys.dataKey.keyArn,
      DATA_RETENTION_DAYS: String(config.dataRetentionDays),
    };
    // The allow-list, the default system prompt and the local policy are compiled into the
    // bundles: a change to them is a deployment, reviewed like code.
    const define = deployConfigDefine(config);

    this.guardrail = new BedrockGuardrail(this, 'Guardrail', {
      policy: config.guardrail,
      namePrefix: `omnichat-${config.name}`,
      kmsKey: data.keys.dataKey,
      description: `OmniChat ${config.name}: content filters, denied topics, words and PII on every model call`,
    });

    const chat = apiFunction('Chat', {
      entry: 'chat',
      description: 'POST /api/v1/chat, GET /api/v1/models: the only function that may call Bedrock',
      environment: {
        ...serviceEnvironment,
        // The ARN, not the bare id: bedrock:GuardrailIdentifier is compared with `<ARN>:<version>`.
        GUARDRAIL_ID: this.guardrail.guardrailArn,
        GUARDRAIL_VERSION: this.guardrail.versionNumber,
      },
      reservedConcurrency: concurrency?.chat,
      // Most of a request is spent waiting for the model; the CPU work (policy engine, AES,
      // token check) is well under 10 ms at this size, and memory is what Lambda bills.
      memorySize: 512,
      // Converse with bounded retries plus the audit and limit writes; the ALB waits longer.
      timeout: Duration.seconds(60),
      define,
    });
    grantTable(chat, {
      sid: 'ConversationsChat',
      table: conversations,
      key: data.keys.dataKey,
      actions: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
    });
    grantTable(chat, {
      sid: 'LimitsChat',
      table: limits,
      key: data.keys.dataKey,
      actions: ['GetItem', 'UpdateItem'],
    });
    grantTable(chat, { sid: 'SettingsRead', table: settings, key: data.keys.dataKey, actions: ['Query'] });
    grantDataKeys(chat, data, ['kms:GenerateDataKey', 'kms:Decrypt']);
    grantGuardedModelAccess(chat, {
      models: config.models.allowList,
      guardrail: this.guardrail,
      account: this.account,
      region: this.region,
    });

    const history = apiFunction('History', {
      entry: 'history',
      description: 'Conversations (list, get, delete), GET /api/v1/me/export and DELETE /api/v1/me',
      environment: serviceEnvironment,
      reservedConcurrency: concurrency?.history,
      memorySize: 512,
      timeout: Duration.seconds(30),
      define,
    });
    grantTable(history, {
      sid: 'ConversationsHistory',
      table: conversations,
      key: data.keys.dataKey,
      actions: ['GetItem', 'Query', 'DeleteItem', 'BatchWriteItem'],
    });
    // Erasure: the caller's keys (found by owner) and limit counters go with their data.
    grantTable(history, {
      sid: 'ApiKeysErase',
      table: keysTable,
      key: data.keys.dataKey,
      actions: ['Query', 'DeleteItem'],
      indexes: ['byOwner'],
    });
    // The last step of an erasure: the owner-directory tombstone (OWNER# items only).
    grantTable(history, {
      sid: 'OwnerTombstone',
      table: keysTable,
      key: data.keys.dataKey,
      actions: ['UpdateItem'],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['OWNER#*'] } },
    });
    grantTable(history, {
      sid: 'LimitsErase',
      table: limits,
      key: data.keys.dataKey,
      actions: ['Query', 'BatchWriteItem'],
    });
    grantTable(history, { sid: 'SettingsRead', table: settings, key: data.keys.dataKey, actions: ['Query'] });
    grantDataKeys(history, data, ['kms:Decrypt']);

    const admin = apiFunction('Admin', {
      entry: 'admin',
      description: 'Runtime settings, the model allow-list and the audit query (admin group only)',
      environment: serviceEnvironment,
      reservedConcurrency: concurrency?.admin,
      memorySize: 512,
      timeout: Duration.seconds(30),
      define,
    });
    // Settings versions are appended, never overwritten (PutItem with attribute_not_exists);
    // the audit-cursor secret lives in the same table.
    grantTable(admin, {
      sid: 'SettingsAdmin',
      table: settings,
      key: data.keys.dataKey,
      actions: ['GetItem', 'Query', 'PutItem'],
    });
    // The only reader of the audit table.
    grantTable(admin, {
      sid: 'AuditQuery',
      table: audit,
      key: data.keys.auditKey,
      actions: ['Query'],
      indexes: ['byTime'],
    });
    // The cursor secret is sealed with a data key like messages are.
    grantDataKeys(admin, data, ['kms:GenerateDataKey', 'kms:Decrypt']);

    const identityConfig = config.identity;
    const web = apiFunction('Web', {
      entry: 'web',
      description: "The web chat page (GET /, GET /app/*) behind the load balancer's Cognito login",
      environment: {
        COGNITO_LOGOUT_URL: Fn.join('', [
          identity.domain.baseUrl(),
          '/logout?client_id=',
          identity.albClient.userPoolClientId,
          `&logout_uri=${encodeURIComponent(identityConfig.logoutUrls[0]!)}`,
        ]),
      },
      reservedConcurrency: concurrency?.web,
      memorySize: 256,
      assetsDir: 'lambda/web/assets',
    });

    const { fn: auditArchiver, deadLetters } = this.auditArchiver(config, common, data);
    this.auditDeadLetters = deadLetters;

    this.webAcl = new WebAcl(this, 'WebAcl', {
      envName: config.name,
      rateLimitPerMinute: config.edge.rateLimitPerMinute,
      chatRateLimitPerMinute: config.edge.chatRateLimitPerMinute,
      ...(config.edge.ipRateCeilingPerMinute === undefined
        ? {}
        : { ipRateCeilingPerMinute: config.edge.ipRateCeilingPerMinute }),
      promptInjectionAction: config.edge.promptInjectionAction,
      anonymousIpList: config.edge.anonymousIpList,
      botControl: config.edge.botControl,
      ipAllowList: config.edge.ipAllowList,
      ipAllowListScope: config.edge.ipAllowListScope,
      countryAllowList: config.edge.countryAllowList,
      logsKey: data.keys.logsKey,
      logRetention: retentionDays(config.logRetentionDays),
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });

    this.edge = new ChatLoadBalancer(this, 'Edge', {
      vpc: network.vpc,
      config,
      userPool: identity.userPool,
      albClient: identity.albClient,
      domain: identity.domain,
      issuer: identity.issuer,
      webAcl: this.webAcl,
      healthTarget: health.function,
      webTarget: web.function,
      apiRoutes: [
        { name: 'Chat', pathPatterns: ['/api/v1/chat', '/api/v1/models'], target: chat.function },
        {
          name: 'History',
          pathPatterns: ['/api/v1/conversations', '/api/v1/conversations/*', '/api/v1/me', '/api/v1/me/*'],
          target: history.function,
        },
        { name: 'Keys', pathPatterns: ['/api/v1/keys', '/api/v1/keys/*'], target: keys.function },
        { name: 'Admin', pathPatterns: ['/api/v1/admin/*'], target: admin.function },
      ],
    });
    // Managed login is a public sign-in form: the same ACL (rate limits, IP reputation,
    // bad inputs) protects it as the load balancer. A new web ACL is not at once available
    // for association (WAFUnavailableEntityException, "An entity is unavailable ... Please
    // retry"; https://docs.aws.amazon.com/waf/latest/APIReference/API_AssociateWebACL.html),
    // and CloudFormation would otherwise start both associations the moment the ACL exists.
    // The user pool's association waits for the ACL's logging configuration and the load
    // balancer's association (which needs the load balancer, minutes), so the order is fixed
    // and the ACL has long propagated; a failure still rolls back cleanly.
    const userPoolAssociation = this.webAcl.associate('UserPoolAssociation', identity.userPool.userPoolArn);
    userPoolAssociation.addResourceDependency(this.edge.webAclAssociation);
    userPoolAssociation.addResourceDependency(this.webAcl.loggingConfiguration);

    // Point the host name (config edge.hostName) at this name (CNAME, or a Route 53 alias).
    new CfnOutput(this, 'LoadBalancerDnsName', { value: this.edge.loadBalancer.loadBalancerDnsName });

    this.functions = { health, keys, chat, history, admin, web, auditArchiver };
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
      // All shards share one chain, so the archiver should run one batch at a time. Without a
      // reservation (dev, reservations off) two shards can be archived at once: the chain
      // head's conditional write (If-Match) refuses the second writer, which fails its batch
      // and is retried, so the chain never forks; it only costs retries (docs/first-deploy.md).
      ...(config.reservedConcurrency ? { reservedConcurrency: 1 } : {}),
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

/**
 * Data keys under the data CMK, called by the function itself (not through DynamoDB), and
 * only with the encryption context the envelope cipher binds every message to.
 */
function grantDataKeys(fn: ApiFunction, data: DataStack, actions: string[]): void {
  fn.grant('DataKeys', actions, [data.keys.dataKey.keyArn], {
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['user', 'conversation'] },
    Null: { 'kms:EncryptionContextKeys': 'false' },
  });
}
