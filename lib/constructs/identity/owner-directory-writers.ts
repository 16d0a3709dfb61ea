import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DIRECTORY_EVENT_NAMES } from '../../../lambda/auth/directory-writers';
import { toLambdaEnvironment } from '../../../lambda/compose/function-env';
import { ApiFunction } from '../api-function';
import { grantTable, type TableGrant } from '../data-access';

/** Properties of {@link OwnerDirectoryWriters}. */
export interface OwnerDirectoryWritersProps {
  readonly userPool: cognito.UserPool;
  readonly vpc: ec2.IVpc;
  /** Private isolated subnets. */
  readonly subnets: ec2.SubnetSelection;
  /** The API keys table, which holds the owner directory (`OWNER#`, `ALIAS#` items). */
  readonly apiKeysTable: dynamodb.ITable;
  /** The table's key; also encrypts the functions' environment and the dead-letter queue. */
  readonly dataKey: kms.IKey;
  readonly logsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** Concurrency reserved for the pre-token-generation trigger (sign-ins and refreshes at once). @default 20 */
  readonly triggerConcurrency?: number;
}

/**
 * Keeps the owner directory (lambda/auth/owner-directory.ts) true in AWS, so every credential
 * is judged on the user's current groups and status:
 *
 * - a pre-token-generation trigger (V2 event, Plus plan) records the user's groups at every
 *   sign-in and refresh:
 *   https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html
 * - an EventBridge rule on Cognito's CloudTrail management events ("AWS API Call via
 *   CloudTrail", source `aws.cognito-idp`) feeds the directory-sync function, so changes made
 *   in the console or the CLI are applied without a sign-in. CloudTrail delivers management
 *   events to EventBridge on a best-effort basis, and only while a trail logs them:
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event.html
 *   Without a trail, a group change made in the console reaches the directory only at the
 *   user's next sign-in or refresh (pre-token trigger), and a disable or delete never does
 *   (the user cannot sign in any more), so their API keys would keep working: the operator
 *   scripts write the directory themselves and are the supported way (README "Permissions").
 *
 * Both functions live in the isolated subnets and reach DynamoDB through its gateway
 * endpoint; each may write only `OWNER#` and `ALIAS#` items of the table.
 */
export class OwnerDirectoryWriters extends Construct {
  readonly preTokenGeneration: ApiFunction;
  readonly directorySync: ApiFunction;
  /** Cognito events the sync function could not apply after retries (an alarm watches it). */
  readonly deadLetters: sqs.Queue;
  /** Events EventBridge could not deliver to the sync function (an alarm watches it). */
  readonly deliveryDeadLetters: sqs.Queue;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: OwnerDirectoryWritersProps) {
    super(scope, id);
    const common = {
      vpc: props.vpc,
      subnets: props.subnets,
      logsKey: props.logsKey,
      logRetention: props.logRetention,
      environmentKey: props.dataKey,
    };
    const apiKeysTable = props.apiKeysTable.tableName;

    this.preTokenGeneration = new ApiFunction(this, 'PreTokenGeneration', {
      ...common,
      entry: 'pre-token-generation',
      description: "Cognito pre-token generation: records the user's current groups in the owner directory",
      environment: toLambdaEnvironment('pre-token-generation', { apiKeysTable }),
      reservedConcurrency: props.triggerConcurrency ?? 20,
      memorySize: 256,
      // Cognito waits at most 5 s for a trigger.
      timeout: Duration.seconds(5),
      invokedBy: 'cognito',
    });
    grantDirectoryWrites(this.preTokenGeneration, props, ['GetItem', 'UpdateItem', 'PutItem']);
    props.userPool.addTrigger(
      cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG,
      this.preTokenGeneration.function,
      cognito.LambdaVersion.V2_0,
    );

    this.deadLetters = new sqs.Queue(this, 'DirectorySyncDeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.dataKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const isTheDeadLetterQueue =
      'This queue IS the dead-letter destination of the directory-sync function: Cognito admin events it could not apply after Lambda retried them wait here for an operator (an alarm watches its depth). A dead-letter queue of a dead-letter queue would only move the same events again.';
    Validations.of(this.deadLetters).acknowledge(
      { id: 'AwsSolutions::AwsSolutions-SQS3', reason: isTheDeadLetterQueue },
      { id: 'Serverless::Serverless-SQSRedrivePolicy', reason: isTheDeadLetterQueue },
      { id: 'cdk-validator-cfnguard::sqs_dlq_check', reason: isTheDeadLetterQueue },
      {
        id: 'cdk-validator-cfnguard::sqs_queue_encrypted_check',
        reason:
          'The queue IS encrypted: KmsMasterKeyId is the data CMK, a cross-stack reference that the guard rule cannot resolve (it accepts only literals and same-stack Refs). A template test asserts the key.',
      },
    );

    // Events EventBridge could not hand to the function at all (throttled past its retries).
    // SQS-managed encryption: EventBridge writes to a KMS-encrypted queue only if the CMK's key
    // policy admits events.amazonaws.com, and the data key must not admit a service principal
    // for this; the messages are CloudTrail envelopes (a sub, a group name), no user content.
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html#eb-rule-dlq
    this.deliveryDeadLetters = new sqs.Queue(this, 'DirectorySyncDeliveryDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const isTheDeliveryDeadLetterQueue =
      "This queue IS the dead-letter destination of the EventBridge rule's target (events it could not deliver to the directory-sync function); an alarm watches its depth. A dead-letter queue of a dead-letter queue would only move the same events again.";
    Validations.of(this.deliveryDeadLetters).acknowledge(
      { id: 'AwsSolutions::AwsSolutions-SQS3', reason: isTheDeliveryDeadLetterQueue },
      { id: 'Serverless::Serverless-SQSRedrivePolicy', reason: isTheDeliveryDeadLetterQueue },
      { id: 'cdk-validator-cfnguard::sqs_dlq_check', reason: isTheDeliveryDeadLetterQueue },
    );

    this.directorySync = new ApiFunction(this, 'DirectorySync', {
      ...common,
      entry: 'directory-sync',
      description: 'Cognito admin events (CloudTrail via EventBridge) -> the owner directory',
      environment: toLambdaEnvironment('directory-sync', {
        apiKeysTable,
        userPoolId: props.userPool.userPoolId,
      }),
      reservedConcurrency: 2,
      memorySize: 256,
      timeout: Duration.seconds(30),
      invokedBy: 'eventbridge',
      deadLetterQueue: this.deadLetters,
    });
    grantDirectoryWrites(this.directorySync, props, ['GetItem', 'UpdateItem']);
    // The role is immutable (see ApiFunction): the dead-letter grants are written out here.
    this.directorySync.grant('DeadLetter', ['sqs:SendMessage'], [this.deadLetters.queueArn]);
    this.directorySync.grant(
      'DeadLetterKey',
      ['kms:GenerateDataKey', 'kms:Decrypt'],
      [props.dataKey.keyArn],
      {
        StringEquals: { 'kms:ViaService': `sqs.${Stack.of(this).region}.amazonaws.com` },
      },
    );

    this.rule = new events.Rule(this, 'CognitoAdminEvents', {
      description: 'Cognito user-pool admin calls that change who may do what -> directory sync',
      eventPattern: {
        source: ['aws.cognito-idp'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['cognito-idp.amazonaws.com'],
          eventName: [...DIRECTORY_EVENT_NAMES],
          requestParameters: { userPoolId: [props.userPool.userPoolId] },
        },
      },
      targets: [
        new targets.LambdaFunction(this.directorySync.function, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
          deadLetterQueue: this.deliveryDeadLetters,
        }),
      ],
    });
  }
}

/** Reads and writes of `OWNER#` and `ALIAS#` items only (not the keys themselves). */
function grantDirectoryWrites(
  fn: ApiFunction,
  props: OwnerDirectoryWritersProps,
  actions: TableGrant['actions'],
): void {
  grantTable(fn, {
    sid: 'OwnerDirectory',
    table: props.apiKeysTable,
    key: props.dataKey,
    actions,
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['OWNER#*', 'ALIAS#*'] } },
  });
}
