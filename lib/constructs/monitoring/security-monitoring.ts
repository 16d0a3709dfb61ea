import { type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MonitoringConfig } from '../../config/monitoring-config';
import { type AlarmSpec, alarmCatalogue, type CompositeRole, pascal } from './alarm-catalogue';
import { AlertTopics, type Severity } from './alert-topics';
import { protectLogGroup } from './log-data-protection';
import type {
  MonitoredArchiver,
  MonitoredFunction,
  MonitoredUserPool,
  MonitoredWebAcl,
  MonitoringAlarm,
} from './monitored-resources';
import { type RunbookSlug, runbookLink } from './runbooks';
import { buildSecurityDashboard } from './security-dashboard';

export { appMetric } from './alarm-catalogue';
export type {
  AlarmGroup,
  MonitoredArchiver,
  MonitoredFunction,
  MonitoredUserPool,
  MonitoredWebAcl,
  MonitoringAlarm,
} from './monitored-resources';

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

    // --- Alarms: one per catalogue row (alarm-catalogue.ts) ------------------------------
    const alb = props.loadBalancer;
    const specs = alarmCatalogue({
      thresholds: config.monitoring.thresholds,
      region: Stack.of(this).region,
      undeliveredAlerts: this.topics.undelivered,
      functions: props.functions ?? {},
      tables: props.tables ?? [],
      directorySyncDeadLetters: props.directorySyncDeadLetters ?? [],
      loadBalancer: alb,
      webAcl: props.webAcl,
      userPool: props.userPool,
      auditArchiver: props.auditArchiver,
    });
    const alarms = specs.map((spec) => ({ spec, alarm: this.alarm(spec) }));
    const playing = (role: CompositeRole): cloudwatch.Alarm[] =>
      alarms.filter(({ spec }) => spec.role === role).map(({ alarm }) => alarm);
    const authSignals = playing('auth-signal');
    const abuseSignals = playing('abuse-signal');
    const userFacing = playing('user-facing');
    const functionFailures = playing('function-failure');
    const dependencyFailures = playing('dependency-failure');

    // --- Composite alarms -------------------------------------------------------------
    const criticalSecurity = playing('critical-security');
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

  /** Maps one catalogue row to its alarm, with the topic of its severity as action. */
  private alarm(spec: AlarmSpec): cloudwatch.Alarm {
    const { id } = spec;
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
