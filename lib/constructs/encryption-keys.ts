import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Properties of {@link EncryptionKeys}. */
export interface EncryptionKeysProps {
  /** Environment name, used in the key aliases (`alias/omnichat/<env>/<purpose>`). */
  readonly envName: string;
  /**
   * What happens to the keys when the stack is deleted. Keys that encrypted retained
   * data must outlive the stack, so anything but a throw-away environment retains them.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The customer-managed KMS keys of one environment, one per purpose so a key policy
 * never has to serve two audiences and a compromise of one stays contained:
 * - `data`: chat tables and the application-level envelope encryption of messages;
 * - `logs`: every CloudWatch log group (flow logs, functions, WAF, Cognito);
 * - `audit`: the audit table, its stream consumers and the Object Lock archive.
 *
 * All rotate yearly. Beyond the account-root statement CDK requires (which lets IAM
 * policies in this account grant use of the key), each key admits a service principal
 * only where that service must act on its own behalf, and only for this account.
 */
export class EncryptionKeys extends Construct {
  /** Key for chat data at rest and envelope encryption of message text. */
  readonly dataKey: kms.Key;
  /** Key for CloudWatch Logs log groups. */
  readonly logsKey: kms.Key;
  /** Key for the audit trail: table, archive bucket, dead-letter queue. */
  readonly auditKey: kms.Key;

  constructor(scope: Construct, id: string, props: EncryptionKeysProps) {
    super(scope, id);
    if (!/^[a-z][a-z0-9-]*$/.test(props.envName)) {
      throw new Error(
        `EncryptionKeys: envName "${props.envName}" must be lower-case letters, digits and dashes`,
      );
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const make = (purpose: string, description: string): kms.Key =>
      new kms.Key(this, `${purpose[0]!.toUpperCase()}${purpose.slice(1)}Key`, {
        description,
        alias: `alias/omnichat/${props.envName}/${purpose}`,
        enableKeyRotation: true,
        rotationPeriod: Duration.days(365),
        // Deletion is the one irreversible KMS action: the longest window gives time to notice.
        pendingWindow: Duration.days(30),
        removalPolicy,
      });

    this.dataKey = make('data', `OmniChat ${props.envName}: chat data and message envelope encryption`);
    this.logsKey = make('logs', `OmniChat ${props.envName}: CloudWatch Logs`);
    this.auditKey = make('audit', `OmniChat ${props.envName}: audit trail and archive`);

    for (const key of [this.dataKey, this.logsKey, this.auditKey]) denyGrantsExceptForAwsServices(key);
    this.allowCloudWatchLogs(this.logsKey);
  }

  /**
   * CloudWatch Logs encrypts as itself, not as the caller, so it needs a key-policy
   * statement. The encryption-context condition limits it to log groups of this account
   * and region (the documented way to scope it; Logs sends no SourceArn).
   */
  private allowCloudWatchLogs(key: kms.Key): void {
    const { region, account, partition } = Stack.of(this);
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:DescribeKey',
        ],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${region}:${account}:log-group:*`,
          },
        },
      }),
    );
  }
}

/**
 * Grants are a second, policy-invisible path to a key. Only AWS services acting for a
 * resource (DynamoDB, Lambda, CloudWatch Logs) may create them; no principal, not even
 * an administrator of this account, can grant itself use of the key directly
 * (Control Tower CT.KMS.PR.3).
 */
export function denyGrantsExceptForAwsServices(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: {
        BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
      },
    }),
  );
}
