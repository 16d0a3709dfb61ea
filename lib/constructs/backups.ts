import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { denyGrantsExceptForAwsServices } from './encryption-keys';

/** AWS managed policies the backup role needs for S3 buckets, beside the general ones. */
export const S3_BACKUP_POLICIES = [
  'AWSBackupServiceRolePolicyForS3Backup',
  'AWSBackupServiceRolePolicyForS3Restore',
] as const;

/** Properties of {@link Backups}. */
export interface BackupsProps {
  readonly envName: string;
  /** Tables to back up. */
  readonly tables: readonly dynamodb.ITable[];
  /** Buckets to back up (versioned). */
  readonly buckets: readonly s3.IBucket[];
  /** Days each daily recovery point is kept. */
  readonly retentionDays: number;
  /**
   * Vault lock: recovery points cannot be deleted before `retentionDays`, by anyone.
   * @default false
   */
  readonly vaultLock?: boolean;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Daily AWS Backup of the environment's tables and buckets into a vault encrypted with
 * a key of its own (seed 001: separate backup keys), so a compromise or mistaken
 * deletion of the data key does not take the backups with it.
 */
export class Backups extends Construct {
  readonly vault: backup.BackupVault;
  readonly key: kms.Key;
  readonly plan: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: BackupsProps) {
    super(scope, id);
    if (props.retentionDays < 1) throw new Error('Backups: retentionDays must be at least 1');
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.key = new kms.Key(this, 'BackupKey', {
      description: `OmniChat ${props.envName}: backup vault`,
      alias: `alias/omnichat/${props.envName}/backup`,
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      pendingWindow: Duration.days(30),
      removalPolicy,
    });
    denyGrantsExceptForAwsServices(this.key);

    this.vault = new backup.BackupVault(this, 'Vault', {
      encryptionKey: this.key,
      removalPolicy,
      blockRecoveryPointDeletion: true,
      ...(props.vaultLock
        ? {
            lockConfiguration: {
              minRetention: Duration.days(props.retentionDays),
              changeableFor: Duration.days(3),
            },
          }
        : {}),
    });

    this.plan = new backup.BackupPlan(this, 'Plan', { backupVault: this.vault });
    this.plan.addRule(
      new backup.BackupPlanRule({
        ruleName: 'daily',
        scheduleExpression: events.Schedule.cron({ hour: '3', minute: '0' }),
        deleteAfter: Duration.days(props.retentionDays),
        startWindow: Duration.hours(1),
        completionWindow: Duration.hours(8),
      }),
    );
    const selection = this.plan.addSelection('TablesAndBuckets', {
      resources: [
        ...props.tables.map((t) => backup.BackupResource.fromDynamoDbTable(t)),
        ...props.buckets.map((b) => backup.BackupResource.fromArn(b.bucketArn)),
      ],
      allowRestores: true,
    });
    const role = selection.node.findChild('Role') as iam.Role;
    // S3 has managed policies of its own: the general backup/restore policies do not cover
    // it, and an S3 backup job fails without them
    // (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForS3Backup.html,
    // https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForS3Restore.html;
    // the CDK L2 attaches only the general ones, aws/aws-cdk#27900). Their ARNs have no
    // `service-role/` path, unlike the general ones.
    const s3Policies = props.buckets.length > 0 ? [...S3_BACKUP_POLICIES] : [];
    for (const name of s3Policies) role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName(name));
    const acknowledged = [
      ...['AWSBackupServiceRolePolicyForBackup', 'AWSBackupServiceRolePolicyForRestores'].map(
        (policy) => `Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${policy}`,
      ),
      ...s3Policies.map((policy) => `Policy::arn:<AWS::Partition>:iam::aws:policy/${policy}`),
    ];
    for (const finding of acknowledged) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM4[${finding}]`,
        reason:
          'The role is assumable only by backup.amazonaws.com, and AWS maintains these service-role policies as new backup features need new actions; a hand-copied policy would silently break restores. Data-plane access is still bounded by the table and vault key policies.',
      });
    }
  }
}
