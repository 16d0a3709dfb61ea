import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Properties of {@link AccessLogsBucket}. */
export interface AccessLogsBucketProps {
  /** Days access logs are kept. */
  readonly retentionDays: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Receives S3 server access logs (and, later, the load balancer's access logs). Both
 * delivery services write only to buckets with SSE-S3, so this bucket cannot use a CMK.
 */
export class AccessLogsBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: AccessLogsBucketProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.retentionDays),
          noncurrentVersionExpiration: Duration.days(7),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
      autoDeleteObjects: false,
    });
    publishEventsToEventBridge(this.bucket);
    const reasons: Array<[string, string]> = [
      [
        'cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check',
        'S3 server access logging and ELB access logging deliver only to buckets encrypted with SSE-S3 (AES-256); a KMS key is not supported by those delivery services.',
      ],
      [
        'cdk-validator-cfnguard::s3_bucket_logging_enabled_check',
        'This is the access-log destination itself; logging it into itself would loop. Its writes come from the S3 and ELB log-delivery services only.',
      ],
      [
        'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
        'Operational access logs expire by lifecycle; the immutable record of user and admin actions is the audit archive, which has Object Lock.',
      ],
      [
        'AwsSolutions::AwsSolutions-S1',
        'This is the access-log destination itself; logging it into itself would loop and logging it elsewhere only moves the question. Its writes come from the S3 and ELB log-delivery services only (bucket policy).',
      ],
      ...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].flatMap(
        (pack): Array<[string, string]> => [
          [
            `${pack}::${pack}-S3BucketLoggingEnabled`,
            'This is the access-log destination itself; logging it into itself would loop. Its writes come from the S3 and ELB log-delivery services only.',
          ],
          [
            `${pack}::${pack}-S3DefaultEncryptionKMS`,
            'S3 server access logging and ELB access logging deliver only to buckets encrypted with SSE-S3 (AES-256); a KMS key is not supported by those delivery services.',
          ],
          [
            `${pack}::${pack}-S3BucketReplicationEnabled`,
            'Access logs are operational telemetry with a lifecycle of their own; cross-region replication would double their cost without protecting customer data.',
          ],
        ],
      ),
    ];
    for (const [ackId, reason] of reasons) Validations.of(this.bucket).acknowledge({ id: ackId, reason });
  }
}

/** Properties of {@link AuditArchiveBucket}. */
export interface AuditArchiveBucketProps {
  /** Audit CMK. */
  readonly encryptionKey: kms.IKey;
  /** Object Lock mode: COMPLIANCE outside dev. */
  readonly objectLockMode: 'GOVERNANCE' | 'COMPLIANCE';
  /** Days each object is locked. Objects expire one day after their lock ends. */
  readonly retentionDays: number;
  /** Where the bucket's own access logs go. */
  readonly accessLogsBucket: s3.IBucket;
  /**
   * A fixed, predictable name (see `auditArchiveBucketName`), so the archiver's grant can
   * name its objects without a cross-stack token, and operators know where the trail is.
   */
  readonly bucketName: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The tamper-evident audit archive: Object Lock with a default retention on every
 * object version (COMPLIANCE outside dev, so nobody, root included, can delete or
 * overwrite a batch before it ends), versioning, the audit CMK with bucket keys, TLS only,
 * no public access, and its own access logged.
 */
export class AuditArchiveBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: AuditArchiveBucketProps) {
    super(scope, id);
    if (props.retentionDays < 1) throw new Error('AuditArchiveBucket: retentionDays must be at least 1');
    const duration = Duration.days(props.retentionDays);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        props.objectLockMode === 'COMPLIANCE'
          ? s3.ObjectLockRetention.compliance(duration)
          : s3.ObjectLockRetention.governance(duration),
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'audit-archive/',
      lifecycleRules: [
        {
          id: 'expire-after-lock',
          expiration: Duration.days(props.retentionDays + 1),
          noncurrentVersionExpiration: Duration.days(props.retentionDays + 1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
    });
    publishEventsToEventBridge(this.bucket);
    for (const pack of ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321']) {
      Validations.of(this.bucket).acknowledge({
        id: `${pack}::${pack}-S3BucketReplicationEnabled`,
        reason:
          'Objects are immutable under Object Lock and the bucket is in the AWS Backup plan (its own vault and key); cross-region replication is a data-residency decision left to the deploying organisation.',
      });
    }
  }
}

/** Properties of {@link AuthEventsBucket}. */
export interface AuthEventsBucketProps {
  /** The logs CMK (the key of every log destination). Its policy gets the delivery statement. */
  readonly encryptionKey: kms.Key;
  /** Days auth events are kept (the environment's log retention). */
  readonly retentionDays: number;
  /** Where the bucket's own access logs go. */
  readonly accessLogsBucket: s3.IBucket;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Destination of Cognito's threat-protection user-auth events (`userAuthEvents`). A
 * CloudWatch Logs destination "must not be encrypted with AWS KMS"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cognito-logdeliveryconfiguration-cloudwatchlogsconfiguration.html),
 * and the org rule is a CMK on every log destination, so the events go to S3 with SSE-KMS
 * under the logs CMK instead: `userAuthEvents` supports an S3 destination
 * (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_LogConfigurationType.html).
 * The log-delivery service writes as `delivery.logs.amazonaws.com`; the bucket and key
 * policies admit it for this account's delivery sources only, as "Logs sent to Amazon S3"
 * prescribes (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-S3.html).
 */
export class AuthEventsBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: AuthEventsBucketProps) {
    super(scope, id);
    const { account, region, partition } = Stack.of(this);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'auth-events/',
      lifecycleRules: [
        {
          id: 'expire-auth-events',
          expiration: Duration.days(props.retentionDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
    });
    publishEventsToEventBridge(this.bucket);
    const fromOurDeliverySources = {
      StringEquals: { 'aws:SourceAccount': account },
      ArnLike: { 'aws:SourceArn': `arn:${partition}:logs:${region}:${account}:delivery-source:*` },
    };
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AWSLogDeliveryWrite',
        principals: [new iam.ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`AWSLogs/${account}/*`)],
        conditions: {
          ...fromOurDeliverySources,
          StringEquals: {
            ...fromOurDeliverySources.StringEquals,
            's3:x-amz-acl': 'bucket-owner-full-control',
          },
        },
      }),
    );
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowLogDeliveryToAuthEventsBucket',
        principals: [new iam.ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOurDeliverySources,
      }),
    );
    const reasons: Array<[string, string]> = [
      [
        'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
        'Operational security telemetry (Cognito risk events) that expires by lifecycle; the immutable record of user and admin actions is the audit archive, which has Object Lock.',
      ],
      ...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].map((pack): [string, string] => [
        `${pack}::${pack}-S3BucketReplicationEnabled`,
        'Cognito auth events are operational telemetry with a lifecycle of their own; cross-region replication is a data-residency decision left to the deploying organisation.',
      ]),
    ];
    for (const [ackId, reason] of reasons) Validations.of(this.bucket).acknowledge({ id: ackId, reason });
  }
}

/**
 * Object-level events (puts, deletes, lock changes) go to EventBridge, where detection
 * rules can see them (Control Tower CT.S3.PR.4). Set on the L1 bucket: the L2 switch
 * would add a custom-resource Lambda for what CloudFormation supports natively.
 */
function publishEventsToEventBridge(bucket: s3.Bucket): void {
  const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
  cfnBucket.notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };
}
