import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import {
  MASKED_DATA_IDENTIFIERS,
  protectLogGroup,
} from '../../lib/constructs/monitoring/log-data-protection';
import {
  SecurityMonitoring,
  type SecurityMonitoringProps,
} from '../../lib/constructs/monitoring/security-monitoring';
import { ENV_NAMES } from '../support/synth';
import { type MonitoredStack, monitoredStack } from './fixture';

type Severity = 'critical' | 'warning';

/** What one alarm must look like in the template. */
interface ExpectedAlarm {
  readonly id: string;
  readonly severity: Severity;
  readonly threshold: number;
  readonly period: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  /** Assertion on the alarm's metric properties (single metric or `Metrics` array). */
  readonly metric: Record<string, unknown>;
}

const insights = (name: string, period: number) => ({
  Metrics: [
    {
      Id: Match.anyValue(),
      Expression: `SELECT SUM(${name}) FROM "OmniChat"`,
      Period: period,
      ReturnData: true,
    },
  ],
});

/** The full alarm table the construct must produce for an environment's thresholds. */
function expectedAlarms(f: MonitoredStack): ExpectedAlarm[] {
  const t = f.config.monitoring.thresholds;
  const fiveMin = { period: 300, evaluationPeriods: 1, datapointsToAlarm: 1 };
  const twoOfThree = { period: 300, evaluationPeriods: 3, datapointsToAlarm: 2 };
  const app = (
    id: string,
    metric: string,
    threshold: number,
    severity: Severity,
    period = 300,
  ): ExpectedAlarm => ({
    id,
    severity,
    threshold,
    period,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    metric: insights(metric, period),
  });
  const lambdaMetric = (fn: string, metricName: string, stat: Record<string, string>) => ({
    Namespace: 'AWS/Lambda',
    MetricName: metricName,
    Period: 300,
    Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
    ...stat,
  });
  const keysFn = f.logicalId(f.keys);
  const archiverFn = f.logicalId(f.archiver);
  return [
    app('AuthFailures', 'AuthFailure', t.authFailuresPer5Min, 'warning'),
    {
      id: 'AlbAuthFailures',
      severity: 'warning',
      threshold: t.authFailuresPer5Min,
      ...fiveMin,
      metric: {
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'ELBAuthFailure',
        Statistic: 'Sum',
        Period: 300,
      },
    },
    {
      id: 'CognitoSignInFailures',
      severity: 'warning',
      threshold: t.authFailuresPer5Min,
      ...fiveMin,
      metric: {
        Metrics: Match.arrayWith([
          Match.objectLike({
            Expression:
              '(FILL(attempts0, 0) - FILL(successes0, 0)) + (FILL(attempts1, 0) - FILL(successes1, 0))',
          }),
          Match.objectLike({
            Id: 'attempts1',
            MetricStat: Match.objectLike({
              Stat: 'SampleCount',
              Metric: Match.objectLike({
                Namespace: 'AWS/Cognito',
                MetricName: 'SignInSuccesses',
                Dimensions: [
                  { Name: 'UserPool', Value: 'eu-central-1_Example1' },
                  { Name: 'UserPoolClient', Value: 'publicclient' },
                ],
              }),
            }),
          }),
          Match.objectLike({ Id: 'successes1', MetricStat: Match.objectLike({ Stat: 'Sum' }) }),
        ]),
      },
    },
    app('AuthzDenied', 'AuthzDenied', t.authzDeniedPer5Min, 'critical'),
    app('CanaryLeak', 'CanaryLeak', 0, 'critical'),
    app('PromptInjections', 'PromptInjectionDetected', t.promptInjectionsPer5Min, 'warning'),
    app('GuardrailDecisions', 'GuardrailDecision', t.guardrailDecisionsPer5Min, 'warning'),
    app('RateLimited', 'RateLimited', t.rateLimited.baseline * t.rateLimited.factor, 'warning'),
    app('QuotaExceeded', 'QuotaExceeded', t.quotaExceeded.baseline * t.quotaExceeded.factor, 'warning', 3600),
    {
      id: 'WafBlocked',
      severity: 'warning',
      threshold: t.wafBlocked.baseline * t.wafBlocked.factor,
      ...fiveMin,
      metric: {
        Namespace: 'AWS/WAFV2',
        MetricName: 'BlockedRequests',
        Statistic: 'Sum',
        Period: 300,
        Dimensions: [
          { Name: 'Region', Value: 'eu-central-1' },
          { Name: 'Rule', Value: 'ALL' },
          { Name: 'WebACL', Value: 'omnichat-test' },
        ],
      },
    },
    app('DataExportVolume', 'DataExport', t.dataExports.baseline * t.dataExports.factor, 'critical', 3600),
    app('DataErasureVolume', 'DataErasure', t.dataErasures.baseline * t.dataErasures.factor, 'warning', 3600),
    app('AuditWriteFailed', 'AuditWriteFailed', 0, 'critical'),
    app('AuditTamperDetected', 'AuditTamperDetected', 0, 'critical'),
    {
      id: 'AuditArchiveLag',
      severity: 'warning',
      threshold: t.archiveLagMinutes * 60_000,
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      metric: lambdaMetric(archiverFn, 'IteratorAge', { Statistic: 'Maximum' }),
    },
    {
      id: 'AuditArchiveDeadLetters',
      severity: 'critical',
      threshold: 0,
      ...fiveMin,
      metric: {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Statistic: 'Maximum',
        Period: 300,
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [f.logicalId(f.deadLetters), 'QueueName'] } },
        ],
      },
    },
    ...(['Alb5xxRate', 'Target5xxRate'] as const).map(
      (id): ExpectedAlarm => ({
        id,
        severity: 'warning',
        threshold: t.http5xxPercent,
        ...twoOfThree,
        metric: {
          Metrics: Match.arrayWith([
            Match.objectLike({
              Expression: `IF(FILL(requests, 0) >= ${t.http5xxMinRequests}, 100 * FILL(errors, 0) / requests, 0)`,
            }),
            Match.objectLike({
              Id: 'errors',
              MetricStat: Match.objectLike({
                Stat: 'Sum',
                Metric: Match.objectLike({
                  MetricName: id === 'Alb5xxRate' ? 'HTTPCode_ELB_5XX_Count' : 'HTTPCode_Target_5XX_Count',
                }),
              }),
            }),
            Match.objectLike({
              Id: 'requests',
              MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'RequestCount' }) }),
            }),
          ]),
        },
      }),
    ),
    ...(
      [
        ['Keys', keysFn, 15],
        ['AuditArchiver', archiverFn, 60],
      ] as const
    ).flatMap(([name, fn, timeoutSeconds]): ExpectedAlarm[] => [
      {
        id: `Lambda${name}Errors`,
        severity: 'warning',
        threshold: t.lambdaErrorsPer5Min,
        ...fiveMin,
        metric: lambdaMetric(fn, 'Errors', { Statistic: 'Sum' }),
      },
      {
        id: `Lambda${name}Throttles`,
        severity: 'warning',
        threshold: 0,
        ...fiveMin,
        metric: lambdaMetric(fn, 'Throttles', { Statistic: 'Sum' }),
      },
      {
        id: `Lambda${name}Duration`,
        severity: 'warning',
        threshold: Math.floor((timeoutSeconds * 1000 * t.lambdaDurationPercentOfTimeout) / 100),
        ...twoOfThree,
        metric: lambdaMetric(fn, 'Duration', { ExtendedStatistic: 'p99' }),
      },
    ]),
    {
      id: 'DynamoApiKeysTableThrottles',
      severity: 'warning',
      threshold: 0,
      ...fiveMin,
      metric: {
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: 'FILL(r, 0) + FILL(w, 0)' }),
          Match.objectLike({
            Id: 'r',
            MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ReadThrottleEvents' }) }),
          }),
          Match.objectLike({
            Id: 'w',
            MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'WriteThrottleEvents' }) }),
          }),
        ]),
      },
    },
    {
      id: 'DynamoApiKeysTableSystemErrors',
      severity: 'warning',
      threshold: 0,
      ...fiveMin,
      metric: {
        Metrics: [
          Match.objectLike({
            Expression: {
              'Fn::Join': [
                '',
                [
                  `SELECT SUM(SystemErrors) FROM SCHEMA("AWS/DynamoDB", Operation, TableName) WHERE TableName = '`,
                  { Ref: f.logicalId(f.table) },
                  "'",
                ],
              ],
            },
            Period: 300,
          }),
        ],
      },
    },
    {
      id: 'AlertsUndelivered',
      severity: 'warning',
      threshold: 0,
      ...fiveMin,
      metric: {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Statistic: 'Maximum',
        Period: 300,
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [f.logicalId(f.monitoring.topics.undelivered), 'QueueName'] },
          },
        ],
      },
    },
    app('BedrockThrottles', 'BedrockThrottled', t.bedrockThrottlesPer5Min, 'warning'),
    app('BedrockErrors', 'BedrockError', t.bedrockErrorsPer5Min, 'warning'),
  ];
}

describe.each(ENV_NAMES)('SecurityMonitoring (%s)', (envName) => {
  const f = monitoredStack({ envName });
  const template = Template.fromStack(f.stack);
  const critical = { Ref: f.logicalId(f.monitoring.topics.critical) };
  const warning = { Ref: f.logicalId(f.monitoring.topics.warning) };
  const expected = expectedAlarms(f);

  it('creates exactly the alarms of the table, plus the two composites', () => {
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (r) => r.Properties.AlarmName as string,
    );
    expect(names.sort()).toEqual(expected.map((a) => `omnichat-${envName}-${a.id}`).sort());
    template.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 2);
  });

  it.each(expected.map((a) => [a.id, a] as const))(
    '%s: metric, statistic, period, threshold, comparison, missing data and actions',
    (_id, a) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `omnichat-${envName}-${a.id}`,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: a.threshold,
        EvaluationPeriods: a.evaluationPeriods,
        DatapointsToAlarm: a.datapointsToAlarm,
        TreatMissingData: 'notBreaching',
        AlarmActions: [a.severity === 'critical' ? critical : warning],
        ...(a.severity === 'critical' ? { OKActions: [critical] } : { OKActions: Match.absent() }),
        AlarmDescription: Match.stringLikeRegexp(
          `^\\[${a.severity.toUpperCase()}\\] .+ Runbook: docs/runbooks/[a-z-]+\\.md$`,
        ),
        ...a.metric,
      });
    },
  );

  it('declares a security incident on any critical security alarm, or auth failures together with edge abuse', () => {
    const composite = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm')).find(
      (r) => r.Properties.AlarmName === `omnichat-${envName}-SecurityIncident`,
    );
    const rule = JSON.stringify(composite?.Properties.AlarmRule);
    for (const id of ['AuthzDenied', 'CanaryLeak', 'DataExportVolume', 'AuditTamperDetected']) {
      expect(rule).toContain(`${f.logicalId(f.monitoring.alarms[id]!.alarm)}`);
    }
    // The correlation clause: (auth signal) AND (abuse signal).
    const flat = rule.replace(/\\"/g, '"');
    expect(flat).toMatch(/\(\(ALARM\("[^)]+AuthFailures[\s\S]*\) AND \(ALARM\(/);
    for (const id of [
      'AlbAuthFailures',
      'CognitoSignInFailures',
      'WafBlocked',
      'PromptInjections',
      'RateLimited',
    ]) {
      expect(rule).toContain(f.logicalId(f.monitoring.alarms[id]!.alarm));
    }
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: `omnichat-${envName}-SecurityIncident`,
      AlarmActions: [critical],
      OKActions: [critical],
      AlarmDescription: Match.stringLikeRegexp('Runbook: docs/runbooks/security-incident\\.md$'),
    });
  });

  it('calls the service unhealthy on user-facing 5xx, or a failing function with a failing dependency', () => {
    const composite = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm')).find(
      (r) => r.Properties.AlarmName === `omnichat-${envName}-ServiceUnhealthy`,
    );
    const rule = JSON.stringify(composite?.Properties.AlarmRule);
    for (const id of [
      'Alb5xxRate',
      'Target5xxRate',
      'LambdaKeysErrors',
      'DynamoApiKeysTableSystemErrors',
      'BedrockErrors',
    ]) {
      expect(rule).toContain(f.logicalId(f.monitoring.alarms[id]!.alarm));
    }
    expect(rule).not.toContain(f.logicalId(f.monitoring.alarms.LambdaKeysDuration!.alarm));
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: `omnichat-${envName}-ServiceUnhealthy`,
      AlarmActions: [critical],
      OKActions: [critical],
    });
  });

  it('encrypts both topics with a rotating CMK whose policy admits CloudWatch, and subscribes every alert address', () => {
    const keyId = f.logicalId(f.monitoring.topics.key);
    template.resourceCountIs('AWS::SNS::Topic', 2);
    template.allResourcesProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'DenyGrantsExceptForAwsServices', Effect: 'Deny' }),
          Match.objectLike({
            Sid: 'AllowCloudWatchAlarmsToUseTheAlertKey',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    for (const topic of [critical, warning]) {
      for (const email of f.config.alertEmails) {
        template.hasResourceProperties('AWS::SNS::Subscription', {
          Protocol: 'email',
          Endpoint: email,
          TopicArn: topic,
          RedrivePolicy: {
            deadLetterTargetArn: { 'Fn::GetAtt': [f.logicalId(f.monitoring.topics.undelivered), 'Arn'] },
          },
        });
      }
    }
    template.resourceCountIs('AWS::SNS::Subscription', 2 * f.config.alertEmails.length);
  });

  it('lets only TLS requests and alarms of this account reach the topics', () => {
    template.resourceCountIs('AWS::SNS::TopicPolicy', 2);
    for (const topic of [critical, warning]) {
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [topic],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Principal: '*',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            Match.objectLike({
              Sid: 'AllowAlarmsOfThisAccount',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: topic,
              Condition: {
                ArnLike: {
                  'aws:SourceArn': 'arn:aws:cloudwatch:eu-central-1:123456789012:alarm:*',
                },
                StringEquals: { 'aws:SourceAccount': '123456789012' },
              },
            }),
          ]),
        },
      });
    }
  });

  it('masks e-mails, credentials and card data in the function and WAF log groups', () => {
    for (const group of [f.functionLogs, f.wafLogs]) {
      const resource = template.findResources('AWS::Logs::LogGroup')[f.logicalId(group)];
      const policy = resource?.Properties.DataProtectionPolicy as {
        Statement: Array<{ DataIdentifier: unknown[]; Operation: Record<string, unknown> }>;
      };
      expect(policy.Statement.map((s) => Object.keys(s.Operation)[0])).toEqual(['Audit', 'Deidentify']);
      for (const statement of policy.Statement) {
        const names = statement.DataIdentifier.map(
          (arn) => JSON.stringify(arn).match(/data-identifier\/(\w+)/)?.[1],
        );
        expect(names).toEqual([...MASKED_DATA_IDENTIFIERS]);
      }
      expect(names(policy)).toEqual(
        expect.arrayContaining(['EmailAddress', 'AwsSecretKey', 'CreditCardNumber']),
      );
    }
  });

  it('has a dashboard with security, service and data sections', () => {
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    for (const heading of ['## Security', '## Service', '## Data']) expect(body).toContain(heading);
    for (const title of [
      'Guardrail decisions by category',
      'WAF requests',
      'Load balancer latency (s)',
      'Model tokens used by model (per hour)',
      'Audit archive lag',
      'Sensitive data masked in logs',
    ]) {
      expect(body).toContain(title);
    }
    expect(body).toContain('GROUP BY category');
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: `omnichat-${envName}-security`,
    });
  });
});

const names = (policy: { Statement: Array<{ DataIdentifier: unknown[] }> }): string[] =>
  policy.Statement.flatMap((s) =>
    s.DataIdentifier.map((arn) => JSON.stringify(arn).match(/data-identifier\/(\w+)/)?.[1] ?? ''),
  );

describe('SecurityMonitoring options', () => {
  it('subscribes the HTTPS webhook and links runbooks under the configured base URL', () => {
    const f = monitoredStack({
      monitoring: {
        webhookUrl: 'https://hooks.example.com/omnichat',
        runbookBaseUrl: 'https://git.example.com/omnichat/blob/main/docs/runbooks',
      },
    });
    const template = Template.fromStack(f.stack);
    for (const topic of [f.monitoring.topics.critical, f.monitoring.topics.warning]) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'https',
        Endpoint: 'https://hooks.example.com/omnichat',
        TopicArn: { Ref: f.logicalId(topic) },
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'omnichat-prod-CanaryLeak',
      AlarmDescription: Match.stringLikeRegexp(
        'Runbook: https://git\\.example\\.com/omnichat/blob/main/docs/runbooks/canary-leak\\.md$',
      ),
    });
  });

  it('applies changed thresholds from config', () => {
    const f = monitoredStack({
      monitoring: { thresholds: { authFailuresPer5Min: 9, dataExports: { baseline: 3, factor: 20 } } },
    });
    const template = Template.fromStack(f.stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'omnichat-prod-AuthFailures',
      Threshold: 9,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'omnichat-prod-DataExportVolume',
      Threshold: 60,
    });
  });

  it('uses a given key of this app for the topics and adds the CloudWatch statement to its policy', () => {
    let given: kms.Key | undefined;
    const f = monitoredStack({
      props: (stack) => {
        given = new kms.Key(stack, 'GivenKey', { enableKeyRotation: true });
        return { alertKey: given };
      },
    });
    const template = Template.fromStack(f.stack);
    expect(f.monitoring.topics.key).toBe(given);
    template.resourceCountIs('AWS::KMS::Key', 2); // the fixture's logs key and the given key
    template.allResourcesProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [f.logicalId(given!), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({ Sid: 'AllowCloudWatchAlarmsToUseTheAlertKey' })]),
      },
    });
  });

  it.each([
    [
      'an imported alert key',
      (f: MonitoredStack) => ({
        alertKey: kms.Key.fromKeyArn(
          f.stack,
          'Imported',
          'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        ),
      }),
      /alert key must be a key of this app/,
    ],
    [
      'a timeout beyond 15 minutes',
      (f: MonitoredStack) => ({ functions: { keys: { function: f.keys, timeout: Duration.minutes(20) } } }),
      /function keys timeout must be 1-900 seconds/,
    ],
    [
      'a function name that is not a service name',
      (f: MonitoredStack) => ({
        functions: { 'Keys Fn': { function: f.keys, timeout: Duration.seconds(15) } },
      }),
      /function name "Keys Fn" must be the function's service name/,
    ],
    [
      'a user pool without clients',
      () => ({ userPool: { userPoolId: 'eu-central-1_Example1', clientIds: [] } }),
      /userPool.clientIds must list at least one client/,
    ],
    [
      'a user-pool client listed twice',
      () => ({ userPool: { userPoolId: 'eu-central-1_Example1', clientIds: ['a', 'b', 'a'] } }),
      /userPool.clientIds must be distinct/,
    ],
    [
      'an imported log group',
      (f: MonitoredStack) => ({
        protectedLogGroups: [logs.LogGroup.fromLogGroupName(f.stack, 'ImportedLogs', 'x')],
      }),
      /is not a log group defined in this app/,
    ],
  ])('refuses %s with a clear message', (_what, props, message) => {
    const f = monitoredStack();
    expect(() => monitoredStackWith(f, props(f))).toThrow(message);
  });

  it('watches every user-pool client: one sign-in alarm per 5 clients (at most 10 metrics each), all in the security composite', () => {
    // Prepare: 12 clients, more than one metric-math alarm may read (10 metrics, 2 per client).
    const clientIds = Array.from({ length: 12 }, (_, i) => `client${String(i + 1).padStart(2, '0')}`);
    const f = monitoredStack({ props: { userPool: { userPoolId: 'eu-central-1_Example1', clientIds } } });
    const template = Template.fromStack(f.stack);

    // Assess
    const ids = Object.keys(f.monitoring.alarms).filter((id) => id.startsWith('CognitoSignInFailures'));
    expect(ids).toEqual(['CognitoSignInFailures', 'CognitoSignInFailures2', 'CognitoSignInFailures3']);
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    const watched: string[] = [];
    for (const id of ids) {
      const alarm = alarms[f.logicalId(f.monitoring.alarms[id]!.alarm)]!;
      const metrics = alarm.Properties.Metrics as {
        MetricStat?: { Metric: { Dimensions: { Name: string; Value: string }[] } };
        Stat?: string;
      }[];
      const stats = metrics.filter((m) => m.MetricStat !== undefined);
      expect(stats.length, id).toBeLessThanOrEqual(10);
      const clients = new Set(
        stats.map((m) => m.MetricStat!.Metric.Dimensions.find((d) => d.Name === 'UserPoolClient')!.Value),
      );
      watched.push(...clients);
      expect(alarm.Properties.Threshold).toBe(f.config.monitoring.thresholds.authFailuresPer5Min);
    }
    expect(watched.sort()).toEqual(clientIds);
    const composite = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm')).find(
      (r) => r.Properties.AlarmName === `omnichat-${f.config.name}-SecurityIncident`,
    );
    const rule = JSON.stringify(composite?.Properties.AlarmRule);
    for (const id of ids) expect(rule).toContain(f.logicalId(f.monitoring.alarms[id]!.alarm));
  });

  it('refuses to protect a log group twice', () => {
    const f = monitoredStack();
    expect(() => protectLogGroup(f.functionLogs)).toThrow(/already has a data-protection policy/);
  });
});

/** Builds a second SecurityMonitoring in the fixture's stack with some props replaced. */
function monitoredStackWith(f: MonitoredStack, props: Partial<SecurityMonitoringProps>): void {
  new SecurityMonitoring(f.stack, 'Other', {
    config: f.config,
    functions: { keys: { function: f.keys, timeout: Duration.seconds(15) } },
    ...props,
  });
}
