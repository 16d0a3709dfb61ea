import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Properties of {@link EncryptedLogGroup}. */
export interface EncryptedLogGroupProps {
  /** Customer-managed key that encrypts the log events. */
  readonly encryptionKey: kms.IKey;
  /** How long events are kept. */
  readonly retention: logs.RetentionDays;
  /**
   * Fixed name, only where a service requires one (WAF wants `aws-waf-logs-*`).
   * @default - a generated name
   */
  readonly logGroupName?: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A log group that always has a retention period and a CMK: the only way this project
 * creates log groups, so the org rule holds by construction.
 */
export class EncryptedLogGroup extends Construct {
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: EncryptedLogGroupProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      encryptionKey: props.encryptionKey,
      retention: props.retention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      ...(props.logGroupName === undefined ? {} : { logGroupName: props.logGroupName }),
    });
    if (Stack.of(props.encryptionKey) !== Stack.of(this)) {
      Validations.of(this.logGroup).acknowledge({
        id: 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check',
        reason:
          'The log group IS encrypted with a CMK: KmsKeyId is a cross-stack reference to the key in the Data stack, which the guard rule cannot resolve (it accepts only literals and same-stack Refs). The LogGroupRules aspect and a template test assert KmsKeyId on every log group.',
      });
    }
  }
}
