import { type CfnElement, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EncryptedLogGroup } from '../encrypted-log-group';

/** Properties of {@link ControlPlaneFunction}. */
export interface ControlPlaneFunctionProps {
  /** Absolute path of the TypeScript entry file (exports `handler`). */
  readonly entry: string;
  /** Project root (for bundling and the lock file). */
  readonly projectRoot: string;
  /** One line on what the function does. */
  readonly description: string;
  /** Key for the function's log group. */
  readonly logsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** Removal policy of the log group. */
  readonly logRemovalPolicy: RemovalPolicy;
  /** Who invokes it synchronously, and why it cannot sit in the VPC (goes into the acknowledgements). */
  readonly outsideVpcReason: string;
  /** Environment variables (no secrets). @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Concurrency reserved for and capped at this function. */
  readonly reservedConcurrency: number;
  /** @default 10 seconds */
  readonly timeout?: Duration;
}

/**
 * A small Lambda function that serves the AWS control plane rather than the API (a
 * Cognito trigger, a deploy-time custom resource): Node.js 22 on arm64, minified ESM, a
 * CMK-encrypted log group with retention, tracing on, reserved concurrency, and an
 * execution role whose only permissions are its own logs and traces, in one
 * customer-managed policy. It runs outside the VPC; each use states why.
 */
export class ControlPlaneFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  /** The function's timeout (for the duration alarm; an `IFunction` does not expose it). */
  readonly timeout: Duration;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ControlPlaneFunctionProps) {
    super(scope, id);
    if (props.reservedConcurrency < 1) {
      throw new Error('ControlPlaneFunction: reservedConcurrency must be at least 1');
    }
    this.timeout = props.timeout ?? Duration.seconds(10);
    this.logGroup = new EncryptedLogGroup(this, 'Logs', {
      encryptionKey: props.logsKey,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    }).logGroup;
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `${id}: execution role`,
    });
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `${id}: own logs and traces only`,
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.logGroup.logGroupArn, `${this.logGroup.logGroupArn}:log-stream:*`],
        }),
        new iam.PolicyStatement({
          sid: 'SendTraces',
          actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
          resources: ['*'],
        }),
      ],
    });
    Validations.of(this.policy).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only X-Ray trace submission, which has no resource-level permissions; the function has no other permission.',
    });
    Validations.of(this.policy).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.logGroup.node.defaultChild as CfnElement)}.Arn>:log-stream:*]`,
      reason: 'Log streams are created by the function at run time under its own log group only.',
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      projectRoot: props.projectRoot,
      depsLockFilePath: `${props.projectRoot}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      role: this.role.withoutPolicyUpdates(),
      memorySize: 256,
      timeout: this.timeout,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: { ...(props.environment ?? {}) },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: false,
        mainFields: ['module', 'main'],
        externalModules: [],
        logLevel: nodejs.LogLevel.ERROR,
      },
    });
    this.acknowledge(props.outsideVpcReason);
  }

  private acknowledge(outsideVpcReason: string): void {
    const fn = this.function;
    for (const id of [
      'cdk-validator-cfnguard::lambda_inside_vpc_check',
      'HIPAA.Security::HIPAA.Security-LambdaInsideVPC',
      'NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC',
      'PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC',
    ]) {
      Validations.of(fn).acknowledge({ id, reason: outsideVpcReason });
    }
    const runtimeReason =
      'Pinned to nodejs22.x on purpose (DESIGN.md section 11): the bundle is built and tested for Node 22, in AWS support until 2027; a runtime upgrade is a reviewed change with its own test run.';
    Validations.of(fn).acknowledge({ id: 'AwsSolutions::AwsSolutions-L1', reason: runtimeReason });
    Validations.of(fn).acknowledge({
      id: 'Serverless::Serverless-LambdaLatestVersion',
      reason: runtimeReason,
    });
    const dlqReason =
      'Invoked synchronously (the caller waits for the answer and reports a failure itself), so there is no asynchronous event to park in a dead-letter queue.';
    for (const id of [
      'HIPAA.Security::HIPAA.Security-LambdaDLQ',
      'NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ',
      'PCI.DSS.321::PCI.DSS.321-LambdaDLQ',
      'Serverless::Serverless-LambdaDLQ',
    ]) {
      Validations.of(fn).acknowledge({ id, reason: dlqReason });
    }
  }
}
