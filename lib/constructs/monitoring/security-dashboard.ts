import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRIC_NAMESPACE, METRICS } from '../../../lambda/shared/metric-names';
import type { MonitoredArchiver, MonitoredFunction, MonitoringAlarm } from './monitored-resources';

/** What {@link buildSecurityDashboard} charts. */
export interface SecurityDashboardProps {
  readonly envName: string;
  readonly alarms: Readonly<Record<string, MonitoringAlarm>>;
  readonly composites: readonly cloudwatch.IAlarm[];
  readonly functions: Readonly<Record<string, MonitoredFunction>>;
  readonly tables: readonly dynamodb.ITable[];
  readonly loadBalancer?: elbv2.IApplicationLoadBalancer;
  readonly webAcl?: { readonly name: string; readonly region: string };
  readonly auditArchiver?: MonitoredArchiver;
  readonly protectedLogGroups: readonly logs.ILogGroup[];
}

const FIVE_MINUTES = Duration.minutes(5);
const WIDTH = 8;
const HEIGHT = 6;

/** Sum of a custom metric over all functions; with `groupBy`, one line per dimension value. */
const app = (name: string, groupBy?: string, period: Duration = FIVE_MINUTES): cloudwatch.MathExpression =>
  new cloudwatch.MathExpression({
    expression: `SELECT SUM(${name}) FROM "${METRIC_NAMESPACE}"${groupBy ? ` GROUP BY ${groupBy}` : ''}`,
    period,
    label: groupBy ? '' : name,
  });

const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
  new cloudwatch.GraphWidget({ title, left, right, width: WIDTH, height: HEIGHT });

/**
 * The environment's dashboard in three sections: security (authentication, denials,
 * guardrail decisions by category, WAF), service (latency p50/p99, errors, throttles,
 * tokens used) and data (audit writes, archive lag, sensitive data found in logs).
 */
export function buildSecurityDashboard(
  scope: Construct,
  id: string,
  props: SecurityDashboardProps,
): cloudwatch.Dashboard {
  const alarmsOf = (group: MonitoringAlarm['group']) =>
    Object.values(props.alarms)
      .filter((a) => a.group === group)
      .map((a) => a.alarm);
  const alb = props.loadBalancer;
  const fns = Object.entries(props.functions);

  const security: cloudwatch.IWidget[] = [
    new cloudwatch.TextWidget({ markdown: '## Security', width: 24, height: 1 }),
    new cloudwatch.AlarmStatusWidget({
      title: 'Security alarms',
      alarms: [...props.composites, ...alarmsOf('security')],
      width: 24,
      height: 3,
    }),
    graph('Authentication failures', [
      app(METRICS.AuthFailure),
      ...(alb ? [alb.metrics.elbAuthFailure({ statistic: 'Sum', period: FIVE_MINUTES })] : []),
    ]),
    graph('Authorization denials and prompt leakage', [app(METRICS.AuthzDenied), app(METRICS.CanaryLeak)]),
    graph(
      'Guardrail decisions by category',
      [app(METRICS.GuardrailDecision, 'category')],
      [app(METRICS.PromptInjectionDetected)],
    ),
    graph('Rate limiting and token quota', [app(METRICS.RateLimited), app(METRICS.QuotaExceeded)]),
    graph('Data exports and erasures (per hour)', [
      app(METRICS.DataExport, undefined, Duration.hours(1)),
      app(METRICS.DataErasure, undefined, Duration.hours(1)),
    ]),
  ];
  if (props.webAcl) {
    const waf = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/WAFV2',
        metricName,
        dimensionsMap: { WebACL: props.webAcl!.name, Region: props.webAcl!.region, Rule: 'ALL' },
        statistic: 'Sum',
        period: FIVE_MINUTES,
      });
    security.push(
      graph('WAF requests', [waf('BlockedRequests'), waf('CountedRequests')], [waf('AllowedRequests')]),
    );
  }

  const service: cloudwatch.IWidget[] = [
    new cloudwatch.TextWidget({ markdown: '## Service', width: 24, height: 1 }),
    new cloudwatch.AlarmStatusWidget({
      title: 'Service alarms',
      alarms: alarmsOf('service'),
      width: 24,
      height: 3,
    }),
  ];
  if (alb) {
    service.push(
      graph('Load balancer latency (s)', [
        alb.metrics.targetResponseTime({ statistic: 'p50', period: FIVE_MINUTES }),
        alb.metrics.targetResponseTime({ statistic: 'p99', period: FIVE_MINUTES }),
      ]),
      graph(
        'Load balancer 5xx',
        [
          alb.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, {
            statistic: 'Sum',
            period: FIVE_MINUTES,
          }),
          alb.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
            statistic: 'Sum',
            period: FIVE_MINUTES,
          }),
        ],
        [alb.metrics.requestCount({ statistic: 'Sum', period: FIVE_MINUTES })],
      ),
    );
  }
  if (fns.length > 0) {
    service.push(
      graph(
        'Function duration p50 / p99 (ms)',
        fns.flatMap(([name, { function: fn }]) => [
          fn.metricDuration({ statistic: 'p50', period: FIVE_MINUTES, label: `${name} p50` }),
          fn.metricDuration({ statistic: 'p99', period: FIVE_MINUTES, label: `${name} p99` }),
        ]),
      ),
      graph(
        'Function errors and throttles',
        fns.map(([name, { function: fn }]) =>
          fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES, label: `${name} errors` }),
        ),
        fns.map(([name, { function: fn }]) =>
          fn.metricThrottles({ statistic: 'Sum', period: FIVE_MINUTES, label: `${name} throttles` }),
        ),
      ),
    );
  }
  if (props.tables.length > 0) {
    service.push(
      graph(
        'DynamoDB throttle events',
        props.tables.flatMap((table) => [
          table.metric('ReadThrottleEvents', {
            statistic: 'Sum',
            period: FIVE_MINUTES,
            label: `${table.node.id} read`,
          }),
          table.metric('WriteThrottleEvents', {
            statistic: 'Sum',
            period: FIVE_MINUTES,
            label: `${table.node.id} write`,
          }),
        ]),
      ),
    );
  }
  service.push(
    graph('Bedrock throttles and errors', [app(METRICS.BedrockThrottled), app(METRICS.BedrockError)]),
    graph('Model tokens used by model (per hour)', [app(METRICS.TokensUsed, 'modelId', Duration.hours(1))]),
  );

  const data: cloudwatch.IWidget[] = [
    new cloudwatch.TextWidget({ markdown: '## Data', width: 24, height: 1 }),
    new cloudwatch.AlarmStatusWidget({
      title: 'Audit trail alarms',
      alarms: alarmsOf('data'),
      width: 24,
      height: 3,
    }),
    graph(
      'Audit writes',
      [app(METRICS.AuditEventsArchived)],
      [app(METRICS.AuditWriteFailed), app(METRICS.AuditTamperDetected)],
    ),
  ];
  if (props.auditArchiver) {
    data.push(
      graph(
        'Audit archive lag',
        [props.auditArchiver.function.metric('IteratorAge', { statistic: 'Maximum', period: FIVE_MINUTES })],
        [
          props.auditArchiver.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            statistic: 'Maximum',
            period: FIVE_MINUTES,
          }),
        ],
      ),
    );
  }
  if (props.protectedLogGroups.length > 0) {
    data.push(
      graph(
        'Sensitive data masked in logs',
        props.protectedLogGroups.map(
          (group) =>
            new cloudwatch.Metric({
              namespace: 'AWS/Logs',
              metricName: 'LogEventsWithFindings',
              dimensionsMap: { LogGroupName: group.logGroupName },
              statistic: 'Sum',
              period: FIVE_MINUTES,
              label: group.node.path.split('/').slice(-2).join('/'),
            }),
        ),
      ),
    );
  }

  const dashboard = new cloudwatch.Dashboard(scope, id, {
    dashboardName: `omnichat-${props.envName}-security`,
    defaultInterval: Duration.hours(6),
  });
  // Rows of at most 24 columns, so every section starts on its own row.
  for (const section of [security, service, data]) {
    let row: cloudwatch.IWidget[] = [];
    let width = 0;
    for (const widget of section) {
      if (width + widget.width > 24) {
        dashboard.addWidgets(...row);
        row = [];
        width = 0;
      }
      row.push(widget);
      width += widget.width;
    }
    if (row.length > 0) dashboard.addWidgets(...row);
  }
  return dashboard;
}
