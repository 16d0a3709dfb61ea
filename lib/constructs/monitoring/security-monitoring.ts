import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE, METRICS, type MetricName } from '../../../lambda/shared/metric-names';
import type { MonitoringConfig } from '../../config/monitoring-config';
import { AlertTopics, type Severity } from './alert-topics';
import { protectLogGroup } from './log-data-protection';
import { type RunbookSlug, runbookLink } from './runbooks';
import { buildSecurityDashboard } from './security-dashboard';

/** A function to watch and the timeout its p99 duration is judged against. */
export interface MonitoredFunction {
  readonly function: lambda.IFunction;
  /** The function's configured timeout (an `IFunction` does not expose it). */
  readonly timeout: Duration;
}

/** The audit archiver and the dead-letter queue of its stream mapping. */
export interface MonitoredArchiver {
  readonly function: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
}

/** The web ACL, by the name WAF publishes its metrics under. */
export interface MonitoredWebAcl {
  /** Name of the web ACL (for a generated name: `Fn.select(0, Fn.split('|', cfnWebAcl.ref))`). */
  readonly name: string;
  /** @default - the stack's region */
  readonly region?: string;
}

/** The user pool and the app clients whose sign-ins are counted. */
export interface MonitoredUserPool {
  readonly userPoolId: string;
  /**
   * Client ids (at least one). A metric-math alarm may read at most 10 metrics (a hard
   * CloudWatch limit) and each client takes two, so every 5 clients get an alarm of their
   * own: `CognitoSignInFailures` for the first 5, `CognitoSignInFailures2` for the next 5, ...
   */
  readonly clientIds: readonly string[];
}

/** Properties of {@link SecurityMonitoring}. */
export interface SecurityMonitoringProps {
  /**
   * Cognito admin events the directory sync could not apply: a demotion or disable made in
   * the console that the owner directory does not know yet. @default none
   */
  readonly directorySyncDeadLetters?: readonly sqs.IQueue[];
  /** Environment name, alert recipients and the monitoring section of the config. */
  readonly config: {
    readonly name: string;
    readonly alertEmails: readonly string[];
    readonly monitoring: MonitoringConfig;
  };
  /** Key of the alert topics (must be a key of this app). @default - a key created here */
  readonly alertKey?: kms.IKey;
  /** Removal policy of a key created here. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Functions by the `service` name their Powertools metrics carry (e.g. `keys`,
   * `audit-archiver`): errors, throttles and p99 duration are alarmed per function.
   * @default - none
   */
  readonly functions?: Readonly<Record<string, MonitoredFunction>>;
  /** Tables whose throttles and system errors are alarmed. @default - none */
  readonly tables?: readonly dynamodb.ITable[];
  /** The public load balancer: 5xx rates, authentication failures, latency. @default - none */
  readonly loadBalancer?: elbv2.IApplicationLoadBalancer;
  /** The web ACL: blocked-request spikes. @default - none */
  readonly webAcl?: MonitoredWebAcl;
  /** The user pool: failed sign-ins. @default - none */
  readonly userPool?: MonitoredUserPool;
  /** The audit archiver: stream lag and dead letters. @default - none */
  readonly auditArchiver?: MonitoredArchiver;
  /**
   * Log groups that get the masking data-protection policy (function and WAF log groups).
   * They must be log groups defined in this app. @default - none
   */
  readonly protectedLogGroups?: readonly logs.ILogGroup[];
}

/** Which part of the dashboard (and which composite) an alarm belongs to. */
export type AlarmGroup = 'security' | 'service' | 'data';

/** One alarm of the construct, with what the README table and the tests need. */
export interface MonitoringAlarm {
  readonly alarm: cloudwatch.Alarm;
  readonly severity: Severity;
  readonly group: AlarmGroup;
  readonly runbook: RunbookSlug;
}

const FIVE_MINUTES = Duration.minutes(5);
const ONE_HOUR = Duration.hours(1);

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

const pascal = (name: string): string =>
  name
    .split(/[^a-zA-Z0-9]/)
    .filter(Boolean)
    .map((part) => `${part[0]!.toUpperCase()}${part.slice(1)}`)
    .join('');

/**
 * Security and service monitoring of one environment (DESIGN.md section 9): critical and
 * warning alert topics, an alarm per signal with a runbook link, two composite alarms
 * ("security incident", "service unhealthy"), a dashboard, and the masking
 * data-protection policy on the log groups it is given.
 *
 * Missing data is treated as not breaching throughout, on purpose: our metrics are EMF
 * counters emitted only when something happens, and AWS metrics (ALB, SQS, Lambda) stop
 * when there is no traffic; silence means nothing happened, not an outage. The one
 * outage silence would hide (no traffic at all) is the load balancer's, which has its
 * health checks.
 */
export class SecurityMonitoring extends Construct {
  readonly topics: AlertTopics;
  /** Every metric alarm by id. */
  readonly alarms: Readonly<Record<string, MonitoringAlarm>>;
  readonly securityIncident: cloudwatch.CompositeAlarm;
  readonly serviceUnhealthy: cloudwatch.CompositeAlarm;
  readonly dashboard: cloudwatch.Dashboard;

  private readonly alarmsById: Record<string, MonitoringAlarm> = {};
  private readonly envName: string;
  private readonly runbookBaseUrl: string | undefined;

  constructor(scope: Construct, id: string, props: SecurityMonitoringProps) {
    super(scope, id);
    const { config } = props;
    const t = config.monitoring.thresholds;
    this.envName = config.name;
    this.runbookBaseUrl = config.monitoring.runbookBaseUrl;
    this.validate(props);

    this.topics = new AlertTopics(this, 'Topics', {
      envName: config.name,
      emails: config.alertEmails,
      ...(config.monitoring.webhookUrl === undefined ? {} : { webhookUrl: config.monitoring.webhookUrl }),
      ...(props.alertKey === undefined ? {} : { key: props.alertKey }),
      ...(props.removalPolicy === undefined ? {} : { removalPolicy: props.removalPolicy }),
    });

    // --- Security -------------------------------------------------------------------
    const authSignals = [
      this.alarm('AuthFailures', {
        metric: appMetric(METRICS.AuthFailure),
        threshold: t.authFailuresPer5Min,
        severity: 'warning',
        group: 'security',
        runbook: 'auth-failures',
        summary: `More than ${t.authFailuresPer5Min} failed authentications (bad, expired or missing token or API key) in 5 minutes.`,
      }),
    ];
    const alb = props.loadBalancer;
    if (alb) {
      authSignals.push(
        this.alarm('AlbAuthFailures', {
          metric: alb.metrics.elbAuthFailure({ period: FIVE_MINUTES, statistic: 'Sum' }),
          threshold: t.authFailuresPer5Min,
          severity: 'warning',
          group: 'security',
          runbook: 'auth-failures',
          summary: `More than ${t.authFailuresPer5Min} sign-ins refused at the load balancer (authenticate-cognito) in 5 minutes.`,
        }),
      );
    }
    if (props.userPool) {
      const { userPoolId, clientIds } = props.userPool;
      const chunks = Math.ceil(clientIds.length / CLIENTS_PER_SIGN_IN_ALARM);
      for (let chunk = 0; chunk < chunks; chunk++) {
        const start = chunk * CLIENTS_PER_SIGN_IN_ALARM;
        const watched = clientIds.slice(start, start + CLIENTS_PER_SIGN_IN_ALARM);
        const which =
          chunks === 1 ? '' : ` of app clients ${start + 1}-${start + watched.length} of ${clientIds.length}`;
        authSignals.push(
          this.alarm(`CognitoSignInFailures${chunk === 0 ? '' : chunk + 1}`, {
            metric: cognitoSignInFailures(userPoolId, watched),
            threshold: t.authFailuresPer5Min,
            severity: 'warning',
            group: 'security',
            runbook: 'auth-failures',
            summary: `More than ${t.authFailuresPer5Min} failed Cognito sign-ins (attempts minus successes)${which} in 5 minutes.`,
          }),
        );
      }
    }
    const authzDenied = this.alarm('AuthzDenied', {
      metric: appMetric(METRICS.AuthzDenied),
      threshold: t.authzDeniedPer5Min,
      severity: 'critical',
      group: 'security',
      runbook: 'authz-denied',
      summary: `An authenticated caller was denied a route (more than ${t.authzDeniedPer5Min} in 5 minutes): privilege-escalation attempt or a stolen low-privilege credential.`,
    });
    const canaryLeak = this.alarm('CanaryLeak', {
      metric: appMetric(METRICS.CanaryLeak),
      threshold: 0,
      severity: 'critical',
      group: 'security',
      runbook: 'canary-leak',
      summary:
        'A model reply contained the per-request canary or the system prompt: a prompt-injection attack succeeded against the model (the reply was withheld).',
    });
    const abuseSignals = [
      this.alarm('PromptInjections', {
        metric: appMetric(METRICS.PromptInjectionDetected),
        threshold: t.promptInjectionsPer5Min,
        severity: 'warning',
        group: 'security',
        runbook: 'edge-abuse',
        summary: `More than ${t.promptInjectionsPer5Min} prompts blocked as prompt injection in 5 minutes: someone is probing the guardrails.`,
      }),
      this.alarm('GuardrailDecisions', {
        metric: appMetric(METRICS.GuardrailDecision),
        threshold: t.guardrailDecisionsPer5Min,
        severity: 'warning',
        group: 'security',
        runbook: 'edge-abuse',
        summary: `More than ${t.guardrailDecisionsPer5Min} guardrail interventions (any layer, category, action) in 5 minutes.`,
      }),
      this.alarm('RateLimited', {
        metric: appMetric(METRICS.RateLimited),
        threshold: t.rateLimited.baseline * t.rateLimited.factor,
        severity: 'warning',
        group: 'security',
        runbook: 'edge-abuse',
        summary: `Per-user rate-limit refusals above ${t.rateLimited.factor}x the baseline of ${t.rateLimited.baseline} per 5 minutes (API abuse).`,
      }),
      this.alarm('QuotaExceeded', {
        metric: appMetric(METRICS.QuotaExceeded, ONE_HOUR),
        threshold: t.quotaExceeded.baseline * t.quotaExceeded.factor,
        severity: 'warning',
        group: 'security',
        runbook: 'edge-abuse',
        summary: `Daily-token-budget refusals above ${t.quotaExceeded.factor}x the baseline of ${t.quotaExceeded.baseline} per hour (API abuse or a runaway client).`,
      }),
    ];
    if (props.webAcl) {
      abuseSignals.push(
        this.alarm('WafBlocked', {
          metric: new cloudwatch.Metric({
            namespace: 'AWS/WAFV2',
            metricName: 'BlockedRequests',
            dimensionsMap: {
              WebACL: props.webAcl.name,
              Region: props.webAcl.region ?? Stack.of(this).region,
              Rule: 'ALL',
            },
            statistic: 'Sum',
            period: FIVE_MINUTES,
          }),
          threshold: t.wafBlocked.baseline * t.wafBlocked.factor,
          severity: 'warning',
          group: 'security',
          runbook: 'edge-abuse',
          summary: `WAF blocked requests above ${t.wafBlocked.factor}x the baseline of ${t.wafBlocked.baseline} per 5 minutes: an attack or a scan is under way.`,
        }),
      );
    }
    const exfiltration = this.alarm('DataExportVolume', {
      metric: appMetric(METRICS.DataExport, ONE_HOUR),
      threshold: t.dataExports.baseline * t.dataExports.factor,
      severity: 'critical',
      group: 'security',
      runbook: 'data-exfiltration',
      summary: `GDPR data exports above ${t.dataExports.factor}x the baseline of ${t.dataExports.baseline} per hour: possible exfiltration with stolen credentials.`,
    });
    this.alarm('DataErasureVolume', {
      metric: appMetric(METRICS.DataErasure, ONE_HOUR),
      threshold: t.dataErasures.baseline * t.dataErasures.factor,
      severity: 'warning',
      group: 'security',
      runbook: 'data-exfiltration',
      summary: `Account erasures above ${t.dataErasures.factor}x the baseline of ${t.dataErasures.baseline} per hour: possible destruction of data with stolen credentials.`,
    });

    // --- Data (audit trail) ---------------------------------------------------------
    this.alarm('AuditWriteFailed', {
      metric: appMetric(METRICS.AuditWriteFailed),
      threshold: 0,
      severity: 'critical',
      group: 'data',
      runbook: 'audit-write-failed',
      summary:
        'An audit event could not be written; the request failed closed (HTTP 503). Every further request that needs auditing fails too.',
    });
    const tamper = this.alarm('AuditTamperDetected', {
      metric: appMetric(METRICS.AuditTamperDetected),
      threshold: 0,
      severity: 'critical',
      group: 'data',
      runbook: 'audit-tamper',
      summary:
        'The archiver saw a MODIFY or REMOVE on the append-only audit table: someone changed or deleted audit records.',
    });
    if (props.auditArchiver) {
      const { function: archiver, deadLetterQueue } = props.auditArchiver;
      this.alarm('AuditArchiveLag', {
        metric: archiver.metric('IteratorAge', { statistic: 'Maximum', period: FIVE_MINUTES }),
        threshold: t.archiveLagMinutes * 60_000,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        severity: 'warning',
        group: 'data',
        runbook: 'audit-archive-lag',
        summary: `The oldest unarchived audit record is older than ${t.archiveLagMinutes} minutes for 15 minutes: the archiver is failing or falling behind.`,
      });
      this.alarm('AuditArchiveDeadLetters', {
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: FIVE_MINUTES,
        }),
        threshold: 0,
        severity: 'critical',
        group: 'data',
        runbook: 'audit-archive-lag',
        summary:
          'Audit stream records gave up after bounded retries and wait in the dead-letter queue: they are not in the Object Lock archive yet.',
      });
    }

    for (const [index, queue] of (props.directorySyncDeadLetters ?? []).entries()) {
      this.alarm(index === 0 ? 'DirectorySyncDeadLetters' : `DirectorySyncDeadLetters${index + 1}`, {
        metric: queue.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: FIVE_MINUTES,
        }),
        threshold: 0,
        severity: 'critical',
        group: 'security',
        runbook: 'directory-sync',
        summary:
          'A Cognito group change, disable or deletion made outside the operator scripts could not be applied to the owner directory: that user keeps their old rights until their next sign-in or refresh. Re-run the change with the operator scripts.',
      });
    }

    // --- Service --------------------------------------------------------------------
    const userFacing: cloudwatch.Alarm[] = [];
    const functionFailures: cloudwatch.Alarm[] = [];
    const dependencyFailures: cloudwatch.Alarm[] = [];
    if (alb) {
      userFacing.push(
        this.alarm('Alb5xxRate', {
          metric: http5xxRate(
            alb.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum' }),
            alb.metrics.requestCount({ statistic: 'Sum' }),
            t.http5xxMinRequests,
            'Load balancer 5xx %',
          ),
          threshold: t.http5xxPercent,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          severity: 'warning',
          group: 'service',
          runbook: 'service-unhealthy',
          summary: `More than ${t.http5xxPercent}% of requests answered 5xx by the load balancer itself (no healthy target, timeouts) in 2 of 3 five-minute periods.`,
        }),
        this.alarm('Target5xxRate', {
          metric: http5xxRate(
            alb.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum' }),
            alb.metrics.requestCount({ statistic: 'Sum' }),
            t.http5xxMinRequests,
            'Target 5xx %',
          ),
          threshold: t.http5xxPercent,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          severity: 'warning',
          group: 'service',
          runbook: 'service-unhealthy',
          summary: `More than ${t.http5xxPercent}% of requests answered 5xx by the functions in 2 of 3 five-minute periods.`,
        }),
      );
    }
    for (const [name, monitored] of Object.entries(props.functions ?? {})) {
      const fn = monitored.function;
      const p = pascal(name);
      functionFailures.push(
        this.alarm(`Lambda${p}Errors`, {
          metric: fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }),
          threshold: t.lambdaErrorsPer5Min,
          severity: 'warning',
          group: 'service',
          runbook: 'service-unhealthy',
          summary: `Function ${name}: more than ${t.lambdaErrorsPer5Min} invocation errors (unhandled exceptions, timeouts) in 5 minutes.`,
        }),
        this.alarm(`Lambda${p}Throttles`, {
          metric: fn.metricThrottles({ statistic: 'Sum', period: FIVE_MINUTES }),
          threshold: 0,
          severity: 'warning',
          group: 'service',
          runbook: 'service-unhealthy',
          summary: `Function ${name}: invocations throttled at its reserved concurrency (load or abuse beyond its share).`,
        }),
      );
      const limitMs = Math.floor(
        (monitored.timeout.toMilliseconds() * t.lambdaDurationPercentOfTimeout) / 100,
      );
      this.alarm(`Lambda${p}Duration`, {
        metric: fn.metricDuration({ statistic: 'p99', period: FIVE_MINUTES }),
        threshold: limitMs,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        severity: 'warning',
        group: 'service',
        runbook: 'service-unhealthy',
        summary: `Function ${name}: p99 duration above ${t.lambdaDurationPercentOfTimeout}% of its ${monitored.timeout.toSeconds()} s timeout (${limitMs} ms) in 2 of 3 five-minute periods.`,
      });
    }
    for (const table of props.tables ?? []) {
      const p = pascal(table.node.id);
      dependencyFailures.push(
        this.alarm(`Dynamo${p}Throttles`, {
          metric: new cloudwatch.MathExpression({
            expression: 'FILL(r, 0) + FILL(w, 0)',
            usingMetrics: {
              r: table.metric('ReadThrottleEvents', { statistic: 'Sum' }),
              w: table.metric('WriteThrottleEvents', { statistic: 'Sum' }),
            },
            period: FIVE_MINUTES,
            label: `${table.node.id} throttle events`,
          }),
          threshold: 0,
          severity: 'warning',
          group: 'service',
          runbook: 'service-unhealthy',
          summary: `Table ${table.node.id}: read or write requests throttled.`,
        }),
        this.alarm(`Dynamo${p}SystemErrors`, {
          metric: new cloudwatch.MathExpression({
            expression: `SELECT SUM(SystemErrors) FROM SCHEMA("AWS/DynamoDB", Operation, TableName) WHERE TableName = '${table.tableName}'`,
            period: FIVE_MINUTES,
            label: `${table.node.id} system errors`,
          }),
          threshold: 0,
          severity: 'warning',
          group: 'service',
          runbook: 'service-unhealthy',
          summary: `Table ${table.node.id}: DynamoDB answered requests with HTTP 500 (service-side errors).`,
        }),
      );
    }
    dependencyFailures.push(
      this.alarm('BedrockThrottles', {
        metric: appMetric(METRICS.BedrockThrottled),
        threshold: t.bedrockThrottlesPer5Min,
        severity: 'warning',
        group: 'service',
        runbook: 'service-unhealthy',
        summary: `Bedrock throttled more than ${t.bedrockThrottlesPer5Min} model calls in 5 minutes (account quota reached).`,
      }),
      this.alarm('BedrockErrors', {
        metric: appMetric(METRICS.BedrockError),
        threshold: t.bedrockErrorsPer5Min,
        severity: 'warning',
        group: 'service',
        runbook: 'service-unhealthy',
        summary: `More than ${t.bedrockErrorsPer5Min} model or guardrail calls failed (timeout, 5xx, validation, guardrail error) in 5 minutes.`,
      }),
    );

    this.alarm('AlertsUndelivered', {
      metric: this.topics.undelivered.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: FIVE_MINUTES,
      }),
      threshold: 0,
      severity: 'warning',
      group: 'service',
      runbook: 'service-unhealthy',
      summary:
        'SNS could not deliver alert notifications (webhook down, mailbox bouncing); they wait in the undelivered-alerts queue.',
    });

    // --- Composite alarms -------------------------------------------------------------
    const criticalSecurity = [authzDenied, canaryLeak, exfiltration, tamper];
    this.securityIncident = this.composite('SecurityIncident', {
      rule: cloudwatch.AlarmRule.anyOf(
        ...criticalSecurity.map(ruleOf),
        cloudwatch.AlarmRule.allOf(
          cloudwatch.AlarmRule.anyOf(...authSignals.map(ruleOf)),
          cloudwatch.AlarmRule.anyOf(...abuseSignals.map(ruleOf)),
        ),
      ),
      runbook: 'security-incident',
      summary:
        'Security incident: a critical security alarm fired, or authentication failures coincide with edge abuse (WAF blocks, injection probes, rate limiting). Declare an incident.',
    });
    const failures = [...functionFailures, ...dependencyFailures];
    const correlated =
      functionFailures.length > 0
        ? [
            cloudwatch.AlarmRule.allOf(
              cloudwatch.AlarmRule.anyOf(...functionFailures.map(ruleOf)),
              cloudwatch.AlarmRule.anyOf(...dependencyFailures.map(ruleOf)),
            ),
          ]
        : [];
    this.serviceUnhealthy = this.composite('ServiceUnhealthy', {
      rule:
        userFacing.length + correlated.length > 0
          ? cloudwatch.AlarmRule.anyOf(...userFacing.map(ruleOf), ...correlated)
          : cloudwatch.AlarmRule.anyOf(...failures.map(ruleOf)),
      runbook: 'service-unhealthy',
      summary:
        'Service unhealthy: users get 5xx answers, or functions fail while a dependency (DynamoDB, Bedrock) fails.',
    });

    // --- Log protection and dashboard --------------------------------------------------
    for (const logGroup of props.protectedLogGroups ?? []) protectLogGroup(logGroup);
    this.alarms = this.alarmsById;
    this.dashboard = buildSecurityDashboard(this, 'Dashboard', {
      envName: config.name,
      alarms: this.alarmsById,
      composites: [this.securityIncident, this.serviceUnhealthy],
      functions: props.functions ?? {},
      tables: props.tables ?? [],
      ...(alb ? { loadBalancer: alb } : {}),
      ...(props.webAcl
        ? { webAcl: { name: props.webAcl.name, region: props.webAcl.region ?? Stack.of(this).region } }
        : {}),
      ...(props.auditArchiver ? { auditArchiver: props.auditArchiver } : {}),
      protectedLogGroups: props.protectedLogGroups ?? [],
    });
  }

  private validate(props: SecurityMonitoringProps): void {
    if (!/^[a-z][a-z0-9-]*$/.test(props.config.name)) {
      throw new Error(
        `SecurityMonitoring: config.name "${props.config.name}" must be lower-case letters, digits and dashes`,
      );
    }
    for (const [name, fn] of Object.entries(props.functions ?? {})) {
      if (!/^[a-z][a-zA-Z0-9-]*$/.test(name)) {
        throw new Error(
          `SecurityMonitoring: function name "${name}" must be the function's service name (e.g. audit-archiver)`,
        );
      }
      const seconds = fn.timeout.toSeconds();
      if (seconds < 1 || seconds > 900) {
        throw new Error(`SecurityMonitoring: function ${name} timeout must be 1-900 seconds, got ${seconds}`);
      }
    }
    const tableIds = (props.tables ?? []).map((t) => pascal(t.node.id));
    if (new Set(tableIds).size !== tableIds.length) {
      throw new Error(
        `SecurityMonitoring: tables must have distinct construct ids, got ${tableIds.join(', ')}`,
      );
    }
    const clients = props.userPool?.clientIds ?? [];
    if (props.userPool && clients.length === 0) {
      throw new Error('SecurityMonitoring: userPool.clientIds must list at least one client');
    }
    if (new Set(clients).size !== clients.length) {
      throw new Error(`SecurityMonitoring: userPool.clientIds must be distinct, got ${clients.join(', ')}`);
    }
  }

  private description(severity: Severity, runbook: RunbookSlug, summary: string): string {
    return `[${severity.toUpperCase()}] ${summary} Runbook: ${runbookLink(runbook, this.runbookBaseUrl)}`;
  }

  private alarm(
    id: string,
    spec: {
      metric: cloudwatch.IMetric;
      threshold: number;
      evaluationPeriods?: number;
      datapointsToAlarm?: number;
      severity: Severity;
      group: AlarmGroup;
      runbook: RunbookSlug;
      summary: string;
    },
  ): cloudwatch.Alarm {
    if (this.alarmsById[id]) throw new Error(`SecurityMonitoring: duplicate alarm ${id}`);
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `omnichat-${this.envName}-${id}`,
      alarmDescription: this.description(spec.severity, spec.runbook, spec.summary),
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: spec.evaluationPeriods ?? 1,
      datapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods ?? 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const topic = new actions.SnsAction(this.topics.topicFor(spec.severity));
    alarm.addAlarmAction(topic);
    // Critical alarms page; the all-clear tells the responder the action worked. Warnings
    // are read from the inbox, where an OK message is only noise.
    if (spec.severity === 'critical') alarm.addOkAction(topic);
    this.alarmsById[id] = { alarm, severity: spec.severity, group: spec.group, runbook: spec.runbook };
    return alarm;
  }

  private composite(
    id: string,
    spec: { rule: cloudwatch.IAlarmRule; runbook: RunbookSlug; summary: string },
  ): cloudwatch.CompositeAlarm {
    const alarm = new cloudwatch.CompositeAlarm(this, id, {
      compositeAlarmName: `omnichat-${this.envName}-${id}`,
      alarmDescription: this.description('critical', spec.runbook, spec.summary),
      alarmRule: spec.rule,
    });
    const topic = new actions.SnsAction(this.topics.critical);
    alarm.addAlarmAction(topic);
    alarm.addOkAction(topic);
    return alarm;
  }
}

const ruleOf = (alarm: cloudwatch.IAlarm): cloudwatch.IAlarmRule =>
  cloudwatch.AlarmRule.fromAlarm(alarm, cloudwatch.AlarmState.ALARM);

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
