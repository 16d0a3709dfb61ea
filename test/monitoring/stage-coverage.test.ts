import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { MASKED_DATA_IDENTIFIERS } from '../../lib/constructs/monitoring/log-data-protection';
import { ENV_NAMES, stageFor } from '../support/synth';

/**
 * Monitoring coverage of the REAL stages, not the fixture: a function or table added to a
 * stack without alarms, or a log group without the masking policy, fails here.
 */

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
type Outputs = Record<string, { Value: unknown }>;

interface StackTemplate {
  readonly stackName: string;
  readonly resources: Resources;
  readonly outputs: Outputs;
}

interface AlarmMetric {
  readonly namespace: unknown;
  readonly metricName: unknown;
  readonly dimensions: readonly { Name: string; Value: unknown }[];
}

interface AlarmView {
  readonly name: string;
  readonly properties: Record<string, unknown>;
  readonly metrics: readonly AlarmMetric[];
  /** Metric-math and Metrics Insights expressions (strings or `Fn::Join`s). */
  readonly expressions: readonly unknown[];
}

function stackTemplate(stack: Stack): StackTemplate {
  const json = Template.fromStack(stack).toJSON() as { Resources: Resources; Outputs?: Outputs };
  return { stackName: stack.stackName, resources: json.Resources, outputs: json.Outputs ?? {} };
}

const ofType = (t: StackTemplate, type: string) =>
  Object.entries(t.resources).filter(([, resource]) => resource.Type === type);

/** A reference to a resource of another stack: its `Ref`, published as an output. */
interface CrossStackRef {
  readonly stackName: string;
  readonly outputNames: readonly string[];
  /** Export names of those outputs (strong references import them). */
  readonly exportNames: readonly string[];
}

/**
 * How another stack of the stage refers to a resource's `Ref` (a function or table name):
 * `Fn::ImportValue` of the export of an output of the producing stack whose value is that
 * `Ref` (strong references, cdk.json), or `Fn::GetStackOutput` of that output (weak ones).
 */
function refTo(t: StackTemplate, logicalId: string): CrossStackRef {
  const outputs = Object.entries(t.outputs).filter(
    ([, output]) => JSON.stringify(output.Value) === JSON.stringify({ Ref: logicalId }),
  );
  return {
    stackName: t.stackName,
    outputNames: outputs.map(([outputName]) => outputName),
    exportNames: outputs
      .map(([, output]) => (output as { Export?: { Name?: unknown } }).Export?.Name)
      .filter((name): name is string => typeof name === 'string'),
  };
}

/** True when a value is, or (deep inside a `Fn::Join`) contains, the reference. */
function refersTo(value: unknown, ref: CrossStackRef): boolean {
  if (Array.isArray(value)) return value.some((item) => refersTo(item, ref));
  if (value === null || typeof value !== 'object') return false;
  const imported = (value as Record<string, unknown>)['Fn::ImportValue'];
  if (typeof imported === 'string') return ref.exportNames.includes(imported);
  const output = (value as Record<string, unknown>)['Fn::GetStackOutput'] as
    | { StackName?: unknown; OutputName?: unknown }
    | undefined;
  if (output !== undefined) {
    return output.StackName === ref.stackName && ref.outputNames.includes(String(output.OutputName));
  }
  return Object.values(value).some((item) => refersTo(item, ref));
}

function alarmsOf(t: StackTemplate): AlarmView[] {
  return ofType(t, 'AWS::CloudWatch::Alarm').map(([id, resource]) => {
    const p = resource.Properties ?? {};
    const metrics: AlarmMetric[] = [];
    const expressions: unknown[] = [];
    if (p.MetricName !== undefined) {
      metrics.push({
        namespace: p.Namespace,
        metricName: p.MetricName,
        dimensions: (p.Dimensions ?? []) as AlarmMetric['dimensions'],
      });
    }
    for (const query of (p.Metrics ?? []) as Record<string, unknown>[]) {
      const stat = query.MetricStat as { Metric: Record<string, unknown> } | undefined;
      if (stat) {
        metrics.push({
          namespace: stat.Metric.Namespace,
          metricName: stat.Metric.MetricName,
          dimensions: (stat.Metric.Dimensions ?? []) as AlarmMetric['dimensions'],
        });
      }
      if (query.Expression !== undefined) expressions.push(query.Expression);
    }
    return { name: String(p.AlarmName ?? id), properties: p, metrics, expressions };
  });
}

/** Alarms reading `namespace/metricName` with dimension `dimension` = the referenced resource. */
const alarmsOn = (
  alarms: readonly AlarmView[],
  namespace: string,
  metricName: string,
  dimension: string,
  ref: CrossStackRef,
) =>
  alarms.filter((alarm) =>
    alarm.metrics.some(
      (m) =>
        m.namespace === namespace &&
        m.metricName === metricName &&
        m.dimensions.some((d) => d.Name === dimension && refersTo(d.Value, ref)),
    ),
  );

const hasActions = (alarm: AlarmView) =>
  Array.isArray(alarm.properties.AlarmActions) && alarm.properties.AlarmActions.length > 0;

describe.each(ENV_NAMES)('monitoring coverage of the real %s stage', (envName) => {
  const stage = stageFor(envName);
  const monitoring = stackTemplate(stage.monitoring);
  const alarms = alarmsOf(monitoring);
  const producers = { Api: stackTemplate(stage.api), Identity: stackTemplate(stage.identity) };
  const functions = Object.entries(producers).flatMap(([stackId, t]) =>
    ofType(t, 'AWS::Lambda::Function').map(([id, resource]) => ({
      stackId,
      id,
      template: t,
      properties: resource.Properties ?? {},
    })),
  );
  const data = stackTemplate(stage.data);
  const tables = ofType(data, 'AWS::DynamoDB::Table');

  it('finds what it checks (the Api and Identity functions, the Data tables, the alarms)', () => {
    expect(functions.filter((f) => f.stackId === 'Api').length).toBeGreaterThanOrEqual(7);
    expect(functions.map((f) => f.id)).toContainEqual(expect.stringMatching(/^JwksResolverFunction/));
    expect(tables.length).toBeGreaterThanOrEqual(5);
    expect(alarms.length).toBeGreaterThan(20);
  });

  it.each(['Errors', 'Throttles', 'Duration'])(
    'every Lambda function of the Api and Identity stacks has a %s alarm with an action',
    (metricName) => {
      const missing = functions.filter((fn) => {
        const ref = refTo(fn.template, fn.id);
        const watching = alarmsOn(alarms, 'AWS/Lambda', metricName, 'FunctionName', ref);
        return !watching.some(hasActions);
      });
      expect(missing.map((fn) => `${fn.stackId}/${fn.id}`)).toEqual([]);
    },
  );

  it('every duration alarm fires before its function times out', () => {
    for (const fn of functions) {
      const ref = refTo(fn.template, fn.id);
      const timeoutMs = Number(fn.properties.Timeout ?? 3) * 1000;
      for (const alarm of alarmsOn(alarms, 'AWS/Lambda', 'Duration', 'FunctionName', ref)) {
        expect(alarm.properties.Threshold, alarm.name).toBeLessThan(timeoutMs);
      }
    }
  });

  it('every DynamoDB table of the Data stack has a throttle alarm (reads and writes) and a system-error alarm', () => {
    const missing: string[] = [];
    for (const [id] of tables) {
      const ref = refTo(data, id);
      const reads = alarmsOn(alarms, 'AWS/DynamoDB', 'ReadThrottleEvents', 'TableName', ref);
      const writes = alarmsOn(alarms, 'AWS/DynamoDB', 'WriteThrottleEvents', 'TableName', ref);
      const throttled = reads.some((alarm) => writes.includes(alarm) && hasActions(alarm));
      const systemErrors =
        alarmsOn(alarms, 'AWS/DynamoDB', 'SystemErrors', 'TableName', ref).some(hasActions) ||
        alarms.some(
          (alarm) =>
            hasActions(alarm) &&
            alarm.expressions.some(
              (e) =>
                /SUM\(SystemErrors\) FROM SCHEMA\(\\?"AWS\/DynamoDB\\?"/.test(JSON.stringify(e)) &&
                refersTo(e, ref),
            ),
        );
      if (!throttled) missing.push(`${id}: throttles`);
      if (!systemErrors) missing.push(`${id}: system errors`);
    }
    expect(missing).toEqual([]);
  });

  const masks = (policy: unknown): boolean => {
    const json = JSON.stringify(policy ?? null);
    return (
      json.includes('"Deidentify"') && MASKED_DATA_IDENTIFIERS.every((name) => json.includes(`/${name}"`))
    );
  };

  it("every function's log group (its LoggingConfig) has the masking data-protection policy", () => {
    const unprotected: string[] = [];
    for (const fn of functions) {
      const target = (fn.properties.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)?.LogGroup
        ?.Ref;
      const logGroup = target === undefined ? undefined : fn.template.resources[target];
      if (logGroup?.Type !== 'AWS::Logs::LogGroup') {
        unprotected.push(`${fn.stackId}/${fn.id}: logs to a log group this stack does not define`);
      } else if (!masks(logGroup.Properties?.DataProtectionPolicy)) {
        unprotected.push(`${fn.stackId}/${fn.id}: ${target} has no masking policy`);
      }
    }
    expect(unprotected).toEqual([]);
  });

  it('the aws-waf-logs-* log group has the masking data-protection policy', () => {
    const waf = Object.values(producers).flatMap((t) =>
      ofType(t, 'AWS::Logs::LogGroup').filter(([, r]) =>
        String(r.Properties?.LogGroupName).startsWith('aws-waf-logs-'),
      ),
    );
    expect(waf).toHaveLength(1);
    expect(masks(waf[0]![1].Properties?.DataProtectionPolicy)).toBe(true);
  });

  it('every other log group of the Api and Identity stacks has it too', () => {
    const unprotected = Object.entries(producers).flatMap(([stackId, t]) =>
      ofType(t, 'AWS::Logs::LogGroup')
        .filter(([, r]) => !masks(r.Properties?.DataProtectionPolicy))
        .map(([id]) => `${stackId}/${id}`),
    );
    expect(unprotected).toEqual([]);
    // Cognito's user-auth events go to S3 under the logs CMK (a KMS log group is refused by
    // Cognito), so no log group of theirs needs masking; readers need kms:Decrypt on that key.
    const authEvents = ofType(producers.Identity, 'AWS::Logs::LogGroup').filter(([, r]) =>
      /user-auth-events/.test(String(r.Properties?.LogGroupName)),
    );
    expect(authEvents).toHaveLength(0);
  });
});
