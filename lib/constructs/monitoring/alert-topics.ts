import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { denyGrantsExceptForAwsServices } from '../encryption-keys';

/** How urgent an alarm is: `critical` pages, `warning` is looked at the same day. */
export type Severity = 'critical' | 'warning';

/** Properties of {@link AlertTopics}. */
export interface AlertTopicsProps {
  /** Environment name, used in the key alias and topic display names. */
  readonly envName: string;
  /** Addresses subscribed (by e-mail) to both topics. */
  readonly emails: readonly string[];
  /** HTTPS endpoint subscribed to both topics. @default - none */
  readonly webhookUrl?: string;
  /**
   * Key that encrypts the topics. A key of this app gets the key-policy statement that lets
   * CloudWatch alarms use it; an imported key cannot, so it is refused.
   * @default - a key created here, with rotation
   */
  readonly key?: kms.IKey;
  /** What happens to a key created here when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The two alert topics (critical, warning), encrypted with a customer-managed key, with a
 * topic policy that refuses requests without TLS and admits CloudWatch alarms of this
 * account only. Topics encrypted with the AWS-managed `alias/aws/sns` key cannot receive
 * alarm notifications at all (its key policy does not admit CloudWatch), hence the CMK.
 */
export class AlertTopics extends Construct {
  readonly key: kms.IKey;
  readonly critical: sns.Topic;
  readonly warning: sns.Topic;
  /** Notifications SNS could not deliver after its retries (an endpoint down, a bounce). */
  readonly undelivered: sqs.Queue;

  constructor(scope: Construct, id: string, props: AlertTopicsProps) {
    super(scope, id);
    if (props.emails.length === 0) throw new Error('AlertTopics: at least one alert e-mail is required');
    if (props.webhookUrl !== undefined && !props.webhookUrl.startsWith('https://')) {
      throw new Error('AlertTopics: webhookUrl must be an https URL');
    }
    const { account, region, partition } = Stack.of(this);
    this.key = props.key ?? this.createKey(props);
    // CloudWatch publishes as itself, so SNS encrypts with the key on CloudWatch's behalf:
    // the service needs GenerateDataKey* and Decrypt on it (AWS re:Post knowledge center,
    // "cloudwatch-configure-alarm-sns"). No condition keys: CloudWatch documents none for
    // this call, and a wrong one silently drops every alert; the topic policy below is
    // where the source is pinned.
    const added = this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToUseTheAlertKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    if (!added.statementAdded) {
      throw new Error(
        'AlertTopics: the alert key must be a key of this app: its key policy must admit CloudWatch alarms',
      );
    }

    // SNS encrypts what it parks in the queue with the same key, acting as itself.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSnsToParkUndeliveredAlerts',
        principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    this.undelivered = new sqs.Queue(this, 'Undelivered', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const isTheDeadLetterQueue =
      'This queue IS the dead-letter queue of the alert subscriptions: notifications SNS could not deliver after its own retries wait here 14 days for an operator (an alarm watches its depth). A dead-letter queue of a dead-letter queue would only move the same messages again.';
    Validations.of(this.undelivered).acknowledge(
      { id: 'AwsSolutions::AwsSolutions-SQS3', reason: isTheDeadLetterQueue },
      { id: 'Serverless::Serverless-SQSRedrivePolicy', reason: isTheDeadLetterQueue },
      { id: 'cdk-validator-cfnguard::sqs_dlq_check', reason: isTheDeadLetterQueue },
    );
    const deadLetterQueue = this.undelivered;

    const topic = (severity: Severity): sns.Topic => {
      const t = new sns.Topic(this, severity === 'critical' ? 'Critical' : 'Warning', {
        displayName: `OmniChat ${props.envName} ${severity} alerts`,
        masterKey: this.key,
        enforceSSL: true,
      });
      t.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowAlarmsOfThisAccount',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [t.topicArn],
          conditions: {
            ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
            StringEquals: { 'aws:SourceAccount': account },
          },
        }),
      );
      for (const email of props.emails)
        t.addSubscription(new subscriptions.EmailSubscription(email, { deadLetterQueue }));
      if (props.webhookUrl !== undefined) {
        t.addSubscription(
          new subscriptions.UrlSubscription(props.webhookUrl, {
            protocol: sns.SubscriptionProtocol.HTTPS,
            deadLetterQueue,
          }),
        );
      }
      return t;
    };
    this.critical = topic('critical');
    this.warning = topic('warning');
  }

  /** The topic of a severity. */
  topicFor(severity: Severity): sns.Topic {
    return severity === 'critical' ? this.critical : this.warning;
  }

  private createKey(props: AlertTopicsProps): kms.Key {
    const key = new kms.Key(this, 'Key', {
      description: `OmniChat ${props.envName}: alert topics`,
      alias: `alias/omnichat/${props.envName}/alerts`,
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      pendingWindow: Duration.days(30),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    denyGrantsExceptForAwsServices(key);
    return key;
  }
}
