/**
 * The alarm catalogue of {@link SecurityMonitoring}, as data: one typed row per alarm
 * (metric, threshold, severity, group, runbook, summary and the composite it feeds), in the
 * style of cdk-nag's rule packs. The construct maps every row with one function; adding an
 * alarm is adding a row. Rows are listed in creation order, which is also the order the
 * composite rules name their alarms in.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { METRIC_NAMESPACE, METRICS, type MetricName } from '../../../lambda/shared/metric-names';
import type { MonitoringConfig } from '../../config/monitoring-config';
import type { Severity } from './alert-topics';
import type {
  AlarmGroup,
  MonitoredArchiver,
  MonitoredFunction,
  MonitoredUserPool,
  MonitoredWebAcl,
} from './monitored-resources';
import type { RunbookSlug } from './runbooks';

const FIVE_MINUTES = Duration.minutes(5);
const ONE_HOUR = Duration.hours(1);

/**
 * The part an alarm plays in the two composites: `SecurityIncident` fires on any
 * `critical-security` alarm, or on an `auth-signal` together with an `abuse-signal`;
 * `ServiceUnhealthy` fires on any `user-facing` alarm, or on a `function-failure` together
 * with a `dependency-failure`.
 */
export type CompositeRole =
  | 'critical-security'
  | 'auth-signal'
  | 'abuse-signal'
  | 'user-facing'
  | 'function-failure'
  | 'dependency-failure';

/** One row of the catalogue. */
export interface AlarmSpec {
  /** Construct id, and the suffix of the alarm name `omnichat-<env>-<id>`. */
  readonly id: string;
  readonly metric: cloudwatch.IMetric;
  /** Alarms when the metric is greater than this. */
  readonly threshold: number;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default evaluationPeriods */
  readonly datapointsToAlarm?: number;
  readonly severity: Severity;
  readonly group: AlarmGroup;
  readonly runbook: RunbookSlug;
  /** First sentence of the description, before the runbook link. */
  readonly summary: string;
  /** @default - feeds no composite */
  readonly role?: CompositeRole;
}

/** What the catalogue is built from: thresholds and the resources being watched. */
export interface AlarmSources {
  readonly thresholds: MonitoringConfig['thresholds'];
  /** Region of the stack (the WAF metric's default `Region` dimension). */
  readonly region: string;
  /** The alert topics' undelivered-notifications queue. */
  readonly undeliveredAlerts: sqs.IQueue;
  readonly functions: Readonly<Record<string, MonitoredFunction>>;
  readonly tables: readonly dynamodb.ITable[];
  readonly directorySyncDeadLetters: readonly sqs.IQueue[];
  readonly loadBalancer?: elbv2.IApplicationLoadBalancer | undefined;
  readonly webAcl?: MonitoredWebAcl | undefined;
  readonly userPool?: MonitoredUserPool | undefined;
  readonly auditArchiver?: MonitoredArchiver | undefined;
}

/** Every alarm of one environment, in creation order. */
export function alarmCatalogue(sources: AlarmSources): AlarmSpec[] {
  return [...securityAlarms(sources), ...dataAlarms(sources), ...serviceAlarms(sources)];
}

/** Sum of one of our custom metrics across every function and dimension set (Metrics Insights). */
export function appMetric(name: MetricName, period: Duration = FIVE_MINUTES): cloudwatch.MathExpression {
  // FROM the namespace (not SCHEMA(...)): a later change of dimensions double-counts
  // (a loud false positive) instead of silently matching nothing.
  return new cloudwatch.MathExpression({
    expression: `SELECT SUM(${name}) FROM "${METRIC_NAMESPACE}"`,
    period,
    label: name,
  });
}

/** `audit-archiver` -> `AuditArchiver`: construct ids from service names and table ids. */
export const pascal = (name: string): string =>
  name
    .split(/[^a-zA-Z0-9]/)
    .filter(Boolean)
    .map((part) => `${part[0]!.toUpperCase()}${part.slice(1)}`)
    .join('');

/** A row of the security group with a warning on the edge-abuse runbook (the common case). */
const abuse = (id: string, metric: cloudwatch.IMetric, threshold: number, summary: string): AlarmSpec => ({
  id,
  metric,
  threshold,
  severity: 'warning',
  group: 'security',
  runbook: 'edge-abuse',
  summary,
  role: 'abuse-signal',
});

function securityAlarms({
  thresholds: t,
  loadBalancer: alb,
  userPool,
  webAcl,
  region,
}: AlarmSources): AlarmSpec[] {
  const authFailure = (id: string, metric: cloudwatch.IMetric, summary: string): AlarmSpec => ({
    id,
    metric,
    threshold: t.authFailuresPer5Min,
    severity: 'warning',
    group: 'security',
    runbook: 'auth-failures',
    summary,
    role: 'auth-signal',
  });
  return [
    authFailure(
      'AuthFailures',
      appMetric(METRICS.AuthFailure),
      `More than ${t.authFailuresPer5Min} failed authentications (bad, expired or missing token or API key) in 5 minutes.`,
    ),
    ...(alb
      ? [
          authFailure(
            'AlbAuthFailures',
            alb.metrics.elbAuthFailure({ period: FIVE_MINUTES, statistic: 'Sum' }),
            `More than ${t.authFailuresPer5Min} sign-ins refused at the load balancer (authenticate-cognito) in 5 minutes.`,
          ),
        ]
      : []),
    ...signInChunks(userPool).map(({ suffix, clientIds, which }) =>
      authFailure(
        `CognitoSignInFailures${suffix}`,
        cognitoSignInFailures(userPool!.userPoolId, clientIds),
        `More than ${t.authFailuresPer5Min} failed Cognito sign-ins (attempts minus successes)${which} in 5 minutes.`,
      ),
    ),
    {
      id: 'AuthzDenied',
      metric: appMetric(METRICS.AuthzDenied),
      threshold: t.authzDeniedPer5Min,
      severity: 'critical',
      group: 'security',
      runbook: 'authz-denied',
      summary: `An authenticated caller was denied a route (more than ${t.authzDeniedPer5Min} in 5 minutes): privilege-escalation attempt or a stolen low-privilege credential.`,
      role: 'critical-security',
    },
    {
      id: 'CanaryLeak',
      metric: appMetric(METRICS.CanaryLeak),
      threshold: 0,
      severity: 'critical',
      group: 'security',
      runbook: 'canary-leak',
      summary:
        'A model reply contained the per-request canary or the system prompt: a prompt-injection attack succeeded against the model (the reply was withheld).',
      role: 'critical-security',
    },
    abuse(
      'PromptInjections',
      appMetric(METRICS.PromptInjectionDetected),
      t.promptInjectionsPer5Min,
      `More than ${t.promptInjectionsPer5Min} prompts blocked as prompt injection in 5 minutes: someone is probing the guardrails.`,
    ),
    abuse(
      'GuardrailDecisions',
      appMetric(METRICS.GuardrailDecision),
      t.guardrailDecisionsPer5Min,
      `More than ${t.guardrailDecisionsPer5Min} guardrail interventions (any layer, category, action) in 5 minutes.`,
    ),
    abuse(
      'RateLimited',
      appMetric(METRICS.RateLimited),
      t.rateLimited.baseline * t.rateLimited.factor,
      `Per-user rate-limit refusals above ${t.rateLimited.factor}x the baseline of ${t.rateLimited.baseline} per 5 minutes (API abuse).`,
    ),
    abuse(
      'QuotaExceeded',
      appMetric(METRICS.QuotaExceeded, ONE_HOUR),
      t.quotaExceeded.baseline * t.quotaExceeded.factor,
      `Daily-token-budget refusals above ${t.quotaExceeded.factor}x the baseline of ${t.quotaExceeded.baseline} per hour (API abuse or a runaway client).`,
    ),
    ...(webAcl
      ? [
          abuse(
            'WafBlocked',
            new cloudwatch.Metric({
              namespace: 'AWS/WAFV2',
              metricName: 'BlockedRequests',
              dimensionsMap: { WebACL: webAcl.name, Region: webAcl.region ?? region, Rule: 'ALL' },
              statistic: 'Sum',
              period: FIVE_MINUTES,
            }),
            t.wafBlocked.baseline * t.wafBlocked.factor,
            `WAF blocked requests above ${t.wafBlocked.factor}x the baseline of ${t.wafBlocked.baseline} per 5 minutes: an attack or a scan is under way.`,
          ),
        ]
      : []),
    {
      id: 'DataExportVolume',
      metric: appMetric(METRICS.DataExport, ONE_HOUR),
      threshold: t.dataExports.baseline * t.dataExports.factor,
      severity: 'critical',
      group: 'security',
      runbook: 'data-exfiltration',
      summary: `GDPR data exports above ${t.dataExports.factor}x the baseline of ${t.dataExports.baseline} per hour: possible exfiltration with stolen credentials.`,
      role: 'critical-security',
    },
    {
      id: 'DataErasureVolume',
      metric: appMetric(METRICS.DataErasure, ONE_HOUR),
      threshold: t.dataErasures.baseline * t.dataErasures.factor,
      severity: 'warning',
      group: 'security',
      runbook: 'data-exfiltration',
      summary: `Account erasures above ${t.dataErasures.factor}x the baseline of ${t.dataErasures.baseline} per hour: possible destruction of data with stolen credentials.`,
    },
  ];
}

/** The audit trail's alarms, then the directory sync's dead letters (a security row, listed here as before). */
function dataAlarms({ thresholds: t, auditArchiver, directorySyncDeadLetters }: AlarmSources): AlarmSpec[] {
  const visibleMessages = (queue: sqs.IQueue) =>
    queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FIVE_MINUTES });
  return [
    {
      id: 'AuditWriteFailed',
      metric: appMetric(METRICS.AuditWriteFailed),
      threshold: 0,
      severity: 'critical',
      group: 'data',
      runbook: 'audit-write-failed',
      summary:
        'An audit event could not be written; the request failed closed (HTTP 503). Every further request that needs auditing fails too.',
    },
    {
      id: 'AuditTamperDetected',
      metric: appMetric(METRICS.AuditTamperDetected),
      threshold: 0,
      severity: 'critical',
      group: 'data',
      runbook: 'audit-tamper',
      summary:
        'The archiver saw a MODIFY or REMOVE on the append-only audit table: someone changed or deleted audit records.',
      role: 'critical-security',
    },
    ...(auditArchiver
      ? ([
          {
            id: 'AuditArchiveLag',
            metric: auditArchiver.function.metric('IteratorAge', {
              statistic: 'Maximum',
              period: FIVE_MINUTES,
            }),
            threshold: t.archiveLagMinutes * 60_000,
            evaluationPeriods: 3,
            datapointsToAlarm: 3,
            severity: 'warning',
            group: 'data',
            runbook: 'audit-archive-lag',
            summary: `The oldest unarchived audit record is older than ${t.archiveLagMinutes} minutes for 15 minutes: the archiver is failing or falling behind.`,
          },
          {
            id: 'AuditArchiveDeadLetters',
            metric: visibleMessages(auditArchiver.deadLetterQueue),
            threshold: 0,
            severity: 'critical',
            group: 'data',
            runbook: 'audit-archive-lag',
            summary:
              'Audit stream records gave up after bounded retries and wait in the dead-letter queue: they are not in the Object Lock archive yet.',
          },
        ] satisfies AlarmSpec[])
      : []),
    ...directorySyncDeadLetters.map(
      (queue, index): AlarmSpec => ({
        id: index === 0 ? 'DirectorySyncDeadLetters' : `DirectorySyncDeadLetters${index + 1}`,
        metric: visibleMessages(queue),
        threshold: 0,
        severity: 'critical',
        group: 'security',
        runbook: 'directory-sync',
        summary:
          'A Cognito group change, disable or deletion made outside the operator scripts could not be applied to the owner directory: that user keeps their old rights until their next sign-in or refresh. Re-run the change with the operator scripts.',
      }),
    ),
  ];
}

/** A warning of the service group on the service-unhealthy runbook (every service row). */
const service = (
  id: string,
  metric: cloudwatch.IMetric,
  threshold: number,
  summary: string,
  extra: Pick<AlarmSpec, 'evaluationPeriods' | 'datapointsToAlarm' | 'role'> = {},
): AlarmSpec => ({
  id,
  metric,
  threshold,
  severity: 'warning',
  group: 'service',
  runbook: 'service-unhealthy',
  summary,
  ...extra,
});

function serviceAlarms(sources: AlarmSources): AlarmSpec[] {
  const { thresholds: t, loadBalancer: alb } = sources;
  const twoOfThree = { evaluationPeriods: 3, datapointsToAlarm: 2 } as const;
  const rate5xx = (errors: cloudwatch.IMetric, label: string) =>
    http5xxRate(errors, alb!.metrics.requestCount({ statistic: 'Sum' }), t.http5xxMinRequests, label);
  return [
    ...(alb
      ? [
          service(
            'Alb5xxRate',
            rate5xx(
              alb.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum' }),
              'Load balancer 5xx %',
            ),
            t.http5xxPercent,
            `More than ${t.http5xxPercent}% of requests answered 5xx by the load balancer itself (no healthy target, timeouts) in 2 of 3 five-minute periods.`,
            { ...twoOfThree, role: 'user-facing' },
          ),
          service(
            'Target5xxRate',
            rate5xx(
              alb.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum' }),
              'Target 5xx %',
            ),
            t.http5xxPercent,
            `More than ${t.http5xxPercent}% of requests answered 5xx by the functions in 2 of 3 five-minute periods.`,
            { ...twoOfThree, role: 'user-facing' },
          ),
        ]
      : []),
    ...Object.entries(sources.functions).flatMap(([name, monitored]) => functionAlarms(name, monitored, t)),
    ...sources.tables.flatMap((table) => tableAlarms(table)),
    service(
      'BedrockThrottles',
      appMetric(METRICS.BedrockThrottled),
      t.bedrockThrottlesPer5Min,
      `Bedrock throttled more than ${t.bedrockThrottlesPer5Min} model calls in 5 minutes (account quota reached).`,
      { role: 'dependency-failure' },
    ),
    service(
      'BedrockErrors',
      appMetric(METRICS.BedrockError),
      t.bedrockErrorsPer5Min,
      `More than ${t.bedrockErrorsPer5Min} model or guardrail calls failed (timeout, 5xx, validation, guardrail error) in 5 minutes.`,
      { role: 'dependency-failure' },
    ),
    service(
      'AlertsUndelivered',
      sources.undeliveredAlerts.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: FIVE_MINUTES,
      }),
      0,
      'SNS could not deliver alert notifications (webhook down, mailbox bouncing); they wait in the undelivered-alerts queue.',
    ),
  ];
}

/** Errors, throttles and p99 duration of one function. */
function functionAlarms(
  name: string,
  monitored: MonitoredFunction,
  t: MonitoringConfig['thresholds'],
): AlarmSpec[] {
  const fn = monitored.function;
  const p = pascal(name);
  const limitMs = Math.floor((monitored.timeout.toMilliseconds() * t.lambdaDurationPercentOfTimeout) / 100);
  return [
    service(
      `Lambda${p}Errors`,
      fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }),
      t.lambdaErrorsPer5Min,
      `Function ${name}: more than ${t.lambdaErrorsPer5Min} invocation errors (unhandled exceptions, timeouts) in 5 minutes.`,
      { role: 'function-failure' },
    ),
    service(
      `Lambda${p}Throttles`,
      fn.metricThrottles({ statistic: 'Sum', period: FIVE_MINUTES }),
      0,
      `Function ${name}: invocations throttled at its reserved concurrency (load or abuse beyond its share).`,
      { role: 'function-failure' },
    ),
    service(
      `Lambda${p}Duration`,
      fn.metricDuration({ statistic: 'p99', period: FIVE_MINUTES }),
      limitMs,
      `Function ${name}: p99 duration above ${t.lambdaDurationPercentOfTimeout}% of its ${monitored.timeout.toSeconds()} s timeout (${limitMs} ms) in 2 of 3 five-minute periods.`,
      { evaluationPeriods: 3, datapointsToAlarm: 2 },
    ),
  ];
}

/** Throttles and system errors of one table. */
function tableAlarms(table: dynamodb.ITable): AlarmSpec[] {
  const p = pascal(table.node.id);
  return [
    service(
      `Dynamo${p}Throttles`,
      new cloudwatch.MathExpression({
        expression: 'FILL(r, 0) + FILL(w, 0)',
        usingMetrics: {
          r: table.metric('ReadThrottleEvents', { statistic: 'Sum' }),
          w: table.metric('WriteThrottleEvents', { statistic: 'Sum' }),
        },
        period: FIVE_MINUTES,
        label: `${table.node.id} throttle events`,
      }),
      0,
      `Table ${table.node.id}: read or write requests throttled.`,
      { role: 'dependency-failure' },
    ),
    service(
      `Dynamo${p}SystemErrors`,
      new cloudwatch.MathExpression({
        expression: `SELECT SUM(SystemErrors) FROM SCHEMA("AWS/DynamoDB", Operation, TableName) WHERE TableName = '${table.tableName}'`,
        period: FIVE_MINUTES,
        label: `${table.node.id} system errors`,
      }),
      0,
      `Table ${table.node.id}: DynamoDB answered requests with HTTP 500 (service-side errors).`,
      { role: 'dependency-failure' },
    ),
  ];
}

/** 5xx as a percentage of requests, 0 while there are fewer than `minRequests` requests. */
function http5xxRate(
  errors: cloudwatch.IMetric,
  requests: cloudwatch.IMetric,
  minRequests: number,
  label: string,
): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `IF(FILL(requests, 0) >= ${minRequests}, 100 * FILL(errors, 0) / requests, 0)`,
    usingMetrics: { errors, requests },
    period: FIVE_MINUTES,
    label,
  });
}

/** App clients per sign-in alarm: two metrics each, and a metric-math alarm reads at most 10. */
const CLIENTS_PER_SIGN_IN_ALARM = 5;

/** The user pool's clients in groups of {@link CLIENTS_PER_SIGN_IN_ALARM}, one alarm each. */
function signInChunks(
  userPool: MonitoredUserPool | undefined,
): { suffix: string; clientIds: readonly string[]; which: string }[] {
  const clientIds = userPool?.clientIds ?? [];
  const chunks = Math.ceil(clientIds.length / CLIENTS_PER_SIGN_IN_ALARM);
  return Array.from({ length: chunks }, (_, chunk) => {
    const start = chunk * CLIENTS_PER_SIGN_IN_ALARM;
    const watched = clientIds.slice(start, start + CLIENTS_PER_SIGN_IN_ALARM);
    const which =
      chunks === 1 ? '' : ` of app clients ${start + 1}-${start + watched.length} of ${clientIds.length}`;
    return { suffix: chunk === 0 ? '' : String(chunk + 1), clientIds: watched, which };
  });
}

/**
 * Failed Cognito sign-ins: `SignInSuccesses` counts every attempt in its SampleCount and the
 * successes in its Sum, per user pool and app client.
 */
function cognitoSignInFailures(userPoolId: string, clientIds: readonly string[]): cloudwatch.MathExpression {
  if (clientIds.length > CLIENTS_PER_SIGN_IN_ALARM) {
    throw new Error(`cognitoSignInFailures: at most ${CLIENTS_PER_SIGN_IN_ALARM} clients per alarm`);
  }
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  const terms: string[] = [];
  clientIds.forEach((clientId, i) => {
    const metric = (statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Cognito',
        metricName: 'SignInSuccesses',
        dimensionsMap: { UserPool: userPoolId, UserPoolClient: clientId },
        statistic,
        period: FIVE_MINUTES,
      });
    usingMetrics[`attempts${i}`] = metric('SampleCount');
    usingMetrics[`successes${i}`] = metric('Sum');
    terms.push(`(FILL(attempts${i}, 0) - FILL(successes${i}, 0))`);
  });
  return new cloudwatch.MathExpression({
    expression: terms.join(' + '),
    usingMetrics,
    period: FIVE_MINUTES,
    label: 'Cognito failed sign-ins',
  });
}
