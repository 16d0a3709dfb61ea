import { App, type CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { cdkJsonContext } from '../../lib/app';
import type { MonitoringConfigInput } from '../../lib/config/monitoring-config';
import { monitoringConfigSchema } from '../../lib/config/monitoring-config';
import type { EnvironmentConfig } from '../../lib/config/schema';
import { EncryptedLogGroup } from '../../lib/constructs/encrypted-log-group';
import {
  SecurityMonitoring,
  type SecurityMonitoringProps,
} from '../../lib/constructs/monitoring/security-monitoring';
import { configOf } from '../support/synth';

/** The real resources the construct watches, in one small stack. */
export interface MonitoredStack {
  readonly app: App;
  readonly stack: Stack;
  readonly monitoring: SecurityMonitoring;
  readonly config: EnvironmentConfig;
  readonly keys: lambda.Function;
  readonly archiver: lambda.Function;
  readonly table: dynamodb.Table;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly deadLetters: sqs.Queue;
  readonly functionLogs: logs.LogGroup;
  readonly wafLogs: logs.LogGroup;
  /** Logical id of a construct's CloudFormation resource. */
  logicalId(construct: { node: { defaultChild?: unknown } }): string;
}

/** Options of {@link monitoredStack}. */
export interface MonitoredStackOptions {
  /** Committed environment whose config is used. @default 'prod' */
  readonly envName?: string;
  /** Replaces the environment's monitoring section. */
  readonly monitoring?: MonitoringConfigInput;
  /** Overrides of the construct's props, possibly built in the stack. */
  readonly props?: Partial<SecurityMonitoringProps> | ((stack: Stack) => Partial<SecurityMonitoringProps>);
  /** Cloud assembly directory. @default - a temporary one */
  readonly outdir?: string;
  /** Called with the app before anything is built (compliance plugins). */
  readonly beforeBuild?: (app: App) => void;
}

/**
 * A standalone stack with a small VPC, an internet-facing ALB, two inline-code functions
 * (one playing the audit archiver), a table, a dead-letter queue and two CMK-encrypted log
 * groups, watched by {@link SecurityMonitoring} with the given environment's config.
 */
export function monitoredStack(options: MonitoredStackOptions = {}): MonitoredStack {
  const base = configOf(options.envName ?? 'prod');
  const config: EnvironmentConfig =
    options.monitoring === undefined
      ? base
      : { ...base, monitoring: monitoringConfigSchema.parse(options.monitoring) };
  const app = new App({
    context: cdkJsonContext(),
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
  });
  options.beforeBuild?.(app);
  const stack = new Stack(app, 'MonitoringTest', {
    env: { account: '123456789012', region: 'eu-central-1' },
  });
  const logsKey = new kms.Key(stack, 'LogsKey', {
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
  });
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc, internetFacing: true });
  const functionLogs = new EncryptedLogGroup(stack, 'KeysLogs', {
    encryptionKey: logsKey,
    retention: logs.RetentionDays.ONE_YEAR,
  }).logGroup;
  const wafLogs = new EncryptedLogGroup(stack, 'WafLogs', {
    encryptionKey: logsKey,
    retention: logs.RetentionDays.ONE_YEAR,
    logGroupName: 'aws-waf-logs-omnichat-test',
  }).logGroup;
  const inline = (id: string, timeout: Duration) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
      timeout,
    });
  const keys = inline('KeysFunction', Duration.seconds(15));
  const archiver = inline('ArchiverFunction', Duration.minutes(1));
  const table = new dynamodb.Table(stack, 'ApiKeysTable', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  });
  const deadLetters = new sqs.Queue(stack, 'DeadLetters', { encryption: sqs.QueueEncryption.KMS_MANAGED });

  const monitoring = new SecurityMonitoring(stack, 'Monitoring', {
    config,
    removalPolicy: RemovalPolicy.DESTROY,
    functions: {
      keys: { function: keys, timeout: Duration.seconds(15) },
      'audit-archiver': { function: archiver, timeout: Duration.minutes(1) },
    },
    tables: [table],
    loadBalancer,
    webAcl: { name: 'omnichat-test' },
    userPool: { userPoolId: 'eu-central-1_Example1', clientIds: ['albclient', 'publicclient'] },
    auditArchiver: { function: archiver, deadLetterQueue: deadLetters },
    protectedLogGroups: [functionLogs, wafLogs],
    ...(typeof options.props === 'function' ? options.props(stack) : options.props),
  });
  return {
    app,
    stack,
    monitoring,
    config,
    keys,
    archiver,
    table,
    loadBalancer,
    deadLetters,
    functionLogs,
    wafLogs,
    logicalId: (construct) => stack.getLogicalId(construct.node.defaultChild as CfnElement),
  };
}
