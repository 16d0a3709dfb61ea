import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AssetHashType,
  type CfnElement,
  DockerImage,
  Duration,
  type ILocalBundling,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeNoReservation } from '../aspects/reserved-concurrency';
import { EncryptedLogGroup } from './encrypted-log-group';
import { bundleFunction, FUNCTION_HANDLER_FILE } from './function-bundling';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Properties of {@link ApiFunction}. */
export interface ApiFunctionProps {
  /** Entry file under lambda/functions/, without extension (e.g. `chat`). */
  readonly entry: string;
  /** One line on what the function does (shown in the console). */
  readonly description: string;
  readonly vpc: ec2.IVpc;
  /** Private isolated subnets. */
  readonly subnets: ec2.SubnetSelection;
  /** Environment variables (no secrets: Lambda shows them to anyone who may read the configuration). */
  readonly environment: Readonly<Record<string, string>>;
  /** Key for the function's log group. */
  readonly logsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** Key that encrypts the environment variables at rest. */
  readonly environmentKey: kms.IKey;
  /**
   * Concurrency reserved for (and capped at) this function.
   * @default - none: the environment turned reservations off (config `reservedConcurrency` absent)
   */
  readonly reservedConcurrency?: number;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default 15 seconds */
  readonly timeout?: Duration;
  /** Compile-time constants for esbuild (e.g. the guardrail policy), JSON-encoded values. */
  readonly define?: Readonly<Record<string, string>>;
  /**
   * A folder under the project root copied beside the bundle as `assets/` (the web page's
   * files), read by the function at cold start.
   */
  readonly assetsDir?: string;
  /**
   * How the function is invoked, which decides where failures go: `load-balancer` answers
   * the caller; `stream` has its failure destination on the event source mapping; `cognito`
   * (a user-pool trigger) fails the sign-in, which Cognito reports; `eventbridge` is invoked
   * asynchronously and needs {@link deadLetterQueue}.
   * @default 'load-balancer'
   */
  readonly invokedBy?: 'load-balancer' | 'stream' | 'cognito' | 'eventbridge';
  /** Where asynchronous invocations that still fail after Lambda's retries go (`eventbridge`). */
  readonly deadLetterQueue?: sqs.IQueue;
}

/**
 * Stages a function's code with {@link bundleFunction}. Its fields are part of CDK's asset
 * cache key (the bundling options, serialized), so each entry, deploy configuration and
 * assets folder is staged once and never mistaken for another.
 */
class LocalFunctionBundling implements ILocalBundling {
  constructor(
    readonly entry: string,
    readonly define: Readonly<Record<string, string>>,
    readonly assetsDir: string | undefined,
  ) {}

  tryBundle(outputDir: string): boolean {
    bundleFunction(projectRoot, this.entry, outputDir, this.define, this.assetsDir);
    if (!existsSync(join(outputDir, FUNCTION_HANDLER_FILE))) {
      throw new Error(`ApiFunction: bundling ${this.entry} wrote no ${FUNCTION_HANDLER_FILE}`);
    }
    return true;
  }
}

/**
 * A Lambda function behind the load balancer, secure by default: Node.js 22 on arm64,
 * bundled and minified as ESM by esbuild, in the isolated subnets with a security group
 * that may only speak HTTPS (and with no internet route, HTTPS reaches only the VPC
 * endpoints), a CMK-encrypted log group with retention, tracing on, environment
 * encrypted with a CMK, and concurrency reserved so one function cannot starve the rest.
 */
export class ApiFunction extends Construct {
  /** The entry's file name in lambda/functions/ (its environment contract: lambda/compose/function-env.ts). */
  readonly entry: string;
  readonly function: lambda.Function;
  /** The function's timeout (the duration alarm fires near it). */
  readonly timeout: Duration;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;
  /** The execution role. Its permissions live in {@link policy}, a customer-managed policy. */
  readonly role: iam.Role;
  /** Every permission of the function; add to it with {@link grant}. */
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ApiFunctionProps) {
    super(scope, id);
    this.entry = props.entry;
    if (!/^[a-z][a-z0-9-]*$/.test(props.entry))
      throw new Error(`ApiFunction: entry "${props.entry}" must be a plain file name`);
    if (props.reservedConcurrency !== undefined && props.reservedConcurrency < 1)
      throw new Error('ApiFunction: reservedConcurrency must be at least 1');
    if ((props.invokedBy === 'eventbridge') !== (props.deadLetterQueue !== undefined)) {
      throw new Error(
        'ApiFunction: a dead-letter queue is required for, and only for, invokedBy "eventbridge"',
      );
    }

    this.logGroup = new EncryptedLogGroup(this, 'Logs', {
      encryptionKey: props.logsKey,
      retention: props.logRetention,
    }).logGroup;
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${id}: HTTPS out to VPC endpoints only`,
      allowAllOutbound: false,
    });
    // Compute subnets route nowhere but to the VPC endpoints, so 443 "anywhere" reaches only
    // them; gateway-endpoint prefix lists would need a lookup at synth, which we never do.
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to VPC endpoints');

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `${id}: execution role`,
    });
    // Permissions go into one customer-managed policy (reviewable, no inline policies). The
    // function gets an immutable view of the role, so CDK cannot add grants behind our back;
    // a grant made on the mutable role elsewhere creates an inline policy and fails the
    // compliance gate instead of passing silently.
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `${id}: permissions of the function`,
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.logGroup.logGroupArn, `${this.logGroup.logGroupArn}:log-stream:*`],
        }),
        new iam.PolicyStatement({
          sid: 'ManageVpcNetworkInterfaces',
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
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
        'Only the VPC network-interface actions Lambda needs to attach the function to its subnets (EC2 does not support resource-level permissions for Describe* and interface management before the interface exists) and X-Ray trace submission (no resource-level permissions). Every data permission of the function is scoped to its resources.',
    });
    Validations.of(this.policy).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.logGroup.node.defaultChild as CfnElement)}.Arn>:log-stream:*]`,
      reason: 'Log streams are created by the function at run time under its own log group only.',
    });

    this.timeout = props.timeout ?? Duration.seconds(15);
    this.function = new lambda.Function(this, 'Function', {
      // Staged by esbuild on this machine (lib/constructs/function-bundling.ts, the same call
      // the benchmark measures); the code asset is hashed from that output.
      code: lambda.Code.fromAsset(projectRoot, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Required by the type, never pulled: local bundling either stages the code or
          // throws, so CDK never falls back to bundling in a container.
          image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
          local: new LocalFunctionBundling(props.entry, props.define ?? {}, props.assetsDir),
        },
      }),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      role: this.role.withoutPolicyUpdates(),
      memorySize: props.memorySize ?? 512,
      timeout: this.timeout,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      ...(props.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrency }),
      environmentEncryption: props.environmentKey,
      // No NODE_OPTIONS=--enable-source-maps: reading and parsing the map at every cold start
      // was the largest part of chat's load time (npm run bench: load p50 ratio 1.198 with it,
      // 0.676 without, same run). The maps still ship beside the code (function-bundling.ts) to
      // decode a logged stack trace offline; error logs carry minified frames.
      environment: { ...props.environment },
      // Both the dead-letter queue and the on-failure destination name the same queue: the
      // compliance packs ask for one or the other, and a failure parked twice is harmless.
      ...(props.deadLetterQueue === undefined
        ? {}
        : {
            deadLetterQueue: props.deadLetterQueue,
            onFailure: new destinations.SqsDestination(props.deadLetterQueue),
            retryAttempts: 2,
          }),
    });
    if (props.reservedConcurrency === undefined) acknowledgeNoReservation(this.function);
    this.acknowledgeInvocation(props.invokedBy ?? 'load-balancer');
  }

  /** Grants `actions` on `resources` (and under `conditions`) through the function's managed policy. */
  grant(sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>): void {
    this.policy.addStatements(
      new iam.PolicyStatement({
        sid,
        actions,
        resources,
        ...(conditions === undefined ? {} : { conditions }),
      }),
    );
  }

  /**
   * Denies `actions` on `resources` (under `conditions`) through the function's managed policy.
   * An explicit deny wins over every allow, so it holds even if a later grant is too broad.
   */
  deny(sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>): void {
    this.policy.addStatements(
      new iam.PolicyStatement({
        sid,
        effect: iam.Effect.DENY,
        actions,
        resources,
        ...(conditions === undefined ? {} : { conditions }),
      }),
    );
  }

  private acknowledgeInvocation(invokedBy: NonNullable<ApiFunctionProps['invokedBy']>): void {
    Validations.of(this.function).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
      reason:
        'The function IS in the VPC: VpcConfig lists the isolated compute subnets and its own security group; the subnet ids are cross-stack references that the guard rule cannot resolve (it accepts only literals and same-stack Refs). A template test asserts VpcConfig on every function.',
    });
    const runtimeReason =
      'Pinned to nodejs22.x on purpose (DESIGN.md section 11): the bundle is built and tested for Node 22, which is in AWS support until 2027; moving to a newer runtime is a reviewed change with its own test run, not a silent upgrade.';
    Validations.of(this.function).acknowledge({ id: 'AwsSolutions::AwsSolutions-L1', reason: runtimeReason });
    Validations.of(this.function).acknowledge({
      id: 'Serverless::Serverless-LambdaLatestVersion',
      reason: runtimeReason,
    });
    // An asynchronously invoked function has its dead-letter queue: nothing to acknowledge.
    if (invokedBy === 'eventbridge') return;
    const reason =
      invokedBy === 'load-balancer'
        ? 'Invoked synchronously by the load balancer: a failed request is answered (and retried by the client), so there is no asynchronous event to park in a dead-letter queue.'
        : invokedBy === 'cognito'
          ? 'Invoked synchronously by Cognito as a user-pool trigger: a failure fails the sign-in or refresh, which Cognito reports to the user, so there is no asynchronous event to park in a dead-letter queue.'
          : 'Invoked by a DynamoDB stream event source mapping, never asynchronously: records that still fail after bounded retries go to the on-failure SQS destination configured on the mapping (a function DLQ applies only to asynchronous invocation).';
    for (const id of [
      'HIPAA.Security::HIPAA.Security-LambdaDLQ',
      'NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ',
      'PCI.DSS.321::PCI.DSS.321-LambdaDLQ',
      'Serverless::Serverless-LambdaDLQ',
    ]) {
      Validations.of(this.function).acknowledge({ id, reason });
    }
  }
}
