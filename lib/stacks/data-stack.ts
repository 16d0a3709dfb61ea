import { RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/schema';
import { AppTables } from '../constructs/app-tables';
import { Backups } from '../constructs/backups';
import { EncryptionKeys } from '../constructs/encryption-keys';
import { AccessLogsBucket, AuditArchiveBucket, AuthEventsBucket } from '../constructs/secure-buckets';
import { allTables, auditTable, type TableSchema } from '../data/table-schemas';

/** Name of the environment's audit archive bucket (globally unique: account and region in it). */
export function auditArchiveBucketName(
  config: Pick<EnvironmentConfig, 'name' | 'account' | 'region'>,
): string {
  return `omnichat-${config.name}-audit-archive-${config.account}-${config.region}`;
}

/** Properties of {@link DataStack}. */
export interface DataStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/**
 * Stateful resources of one environment: KMS keys, tables and buckets, and their
 * backups. Kept apart from the stateless stacks so those can be replaced freely;
 * termination-protected, deletion-protected and retained outside dev.
 */
export class DataStack extends Stack {
  /** The environment's customer-managed keys. */
  readonly keys: EncryptionKeys;
  /** The DynamoDB tables, built from lib/data/table-schemas.ts. */
  readonly tables: AppTables;
  /** Destination of S3 server access logs and load balancer access logs. */
  readonly accessLogs: AccessLogsBucket;
  /** Object Lock archive of the audit trail. */
  readonly auditArchive: AuditArchiveBucket;
  /** Cognito's threat-protection auth events (S3 with the logs CMK; see AuthEventsBucket). */
  readonly authEvents: AuthEventsBucket;
  /** AWS Backup plan, when enabled in config. */
  readonly backups?: Backups;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, terminationProtection: props.config.terminationProtection });
    const { config } = props;
    const retain = config.removalPolicy !== 'destroy';
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.keys = new EncryptionKeys(this, 'Keys', { envName: config.name, removalPolicy });
    this.tables = new AppTables(this, 'Tables', {
      schemas: allTables,
      encryptionKey: this.keys.dataKey,
      keyOverrides: { [auditTable.id]: this.keys.auditKey },
      deletionProtection: retain,
      removalPolicy,
    });
    this.accessLogs = new AccessLogsBucket(this, 'AccessLogs', {
      retentionDays: config.logRetentionDays,
      removalPolicy,
    });
    this.auditArchive = new AuditArchiveBucket(this, 'AuditArchive', {
      bucketName: auditArchiveBucketName(config),
      encryptionKey: this.keys.auditKey,
      objectLockMode: config.audit.objectLockMode,
      retentionDays: config.audit.archiveRetentionDays,
      accessLogsBucket: this.accessLogs.bucket,
      // Retained in every environment, dev included: CloudFormation deletes only empty buckets
      // and nobody may delete an object under Object Lock before its retention ends
      // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html), so a Delete
      // policy makes `cdk destroy` of dev fail as soon as one batch is archived. Retained, the
      // destroy completes and the bucket empties itself by lifecycle (docs/first-deploy.md,
      // "Tearing dev down"); staging and prod are unchanged.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.authEvents = new AuthEventsBucket(this, 'AuthEvents', {
      encryptionKey: this.keys.logsKey,
      retentionDays: config.logRetentionDays,
      accessLogsBucket: this.accessLogs.bucket,
      removalPolicy,
    });
    if (!config.backup.enabled) {
      const reason = `Backups are off in ${config.name} by configuration (backup.enabled): its data is disposable test data deleted with the stack, and point-in-time recovery (35 days) stays on. Staging and prod tables are in the AWS Backup plan, in a vault with its own CMK (docs/restore.md).`;
      for (const table of this.tables.byId.values()) {
        Validations.of(table).acknowledge(
          { id: 'HIPAA.Security::HIPAA.Security-DynamoDBInBackupPlan', reason },
          { id: 'NIST.800.53.R5::NIST.800.53.R5-DynamoDBInBackupPlan', reason },
        );
      }
    }
    if (config.backup.enabled) {
      this.backups = new Backups(this, 'Backups', {
        envName: config.name,
        tables: [...this.tables.byId.values()],
        buckets: [this.auditArchive.bucket],
        retentionDays: config.backup.retentionDays,
        vaultLock: config.backup.vaultLock,
        removalPolicy,
      });
    }
  }

  /** The table built from `schema`. */
  table(schema: TableSchema): dynamodb.Table {
    return this.tables.table(schema);
  }
}
