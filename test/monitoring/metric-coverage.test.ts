import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMESPACE, METRICS } from '../../lambda/shared/metric-names';
import { monitoredStack } from './fixture';

const root = fileURLToPath(new URL('../..', import.meta.url));
const lambdaDir = join(root, 'lambda');

/**
 * Declared metrics that monitoring alarms on although no Lambda code emits them yet, each
 * with the owner of the gap. The test below fails both when a new name appears here that
 * IS emitted (remove it) and when an alarmed name is neither emitted nor listed.
 */
const NOT_YET_EMITTED: Readonly<Record<string, string>> = {};

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The first argument of every `count(`, `countWith(` and `addMetric(` call in `source`. */
function firstArguments(source: string): string[] {
  const args: string[] = [];
  for (const match of source.matchAll(/\b(?:count|countWith|addMetric)\s*\(/g)) {
    let depth = 0;
    let end = match.index + match[0].length;
    for (; end < source.length; end++) {
      const c = source[end];
      if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
    }
    args.push(source.slice(match.index + match[0].length, end));
  }
  return args;
}

/** Metric names in an argument: string literals and `METRICS.Name` references. */
function namesIn(argument: string): string[] {
  const literals = [...argument.matchAll(/'([A-Za-z][A-Za-z0-9]*)'|"([A-Za-z][A-Za-z0-9]*)"/g)].map(
    (m) => m[1] ?? m[2] ?? '',
  );
  const references = [...argument.matchAll(/\bMETRICS\.([A-Za-z0-9]+)/g)].map((m) => m[1] ?? '');
  return [...literals, ...references];
}

/** Every metric name the Lambda code emits, with the files that emit it. */
function emittedNames(): Map<string, string[]> {
  const emitted = new Map<string, string[]>();
  for (const file of tsFiles(lambdaDir)) {
    for (const argument of firstArguments(readFileSync(file, 'utf8'))) {
      for (const name of namesIn(argument)) {
        emitted.set(name, [...(emitted.get(name) ?? []), relative(root, file)]);
      }
    }
  }
  return emitted;
}

/** Text of a CloudFormation value with its intrinsic functions flattened and quotes unescaped. */
const flatten = (value: unknown): string => JSON.stringify(value).replace(/\\+"/g, '"');

/** Our metric names read by the alarms' Metrics Insights queries or metric stats. */
function alarmedNames(template: Template): Set<string> {
  const names = new Set<string>();
  for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const props = alarm.Properties as Record<string, unknown>;
    if (props.Namespace === METRIC_NAMESPACE) names.add(String(props.MetricName));
    for (const m of matchesInNamespace(flatten(props.Metrics ?? []))) names.add(m);
  }
  return names;
}

function matchesInNamespace(text: string): string[] {
  const fromQueries = [
    ...text.matchAll(new RegExp(`\\w+\\((\\w+)\\) FROM (?:SCHEMA\\()?"${METRIC_NAMESPACE}"`, 'g')),
  ].map((m) => m[1] ?? '');
  const fromStats = [
    ...text.matchAll(new RegExp(`"Namespace":"${METRIC_NAMESPACE}","MetricName":"(\\w+)"`, 'g')),
    ...text.matchAll(new RegExp(`"MetricName":"(\\w+)","Namespace":"${METRIC_NAMESPACE}"`, 'g')),
    ...text.matchAll(new RegExp(`\\["${METRIC_NAMESPACE}","(\\w+)"`, 'g')),
  ].map((m) => m[1] ?? '');
  return [...fromQueries, ...fromStats];
}

/** Our metric names charted on the dashboard. */
function chartedNames(template: Template): Set<string> {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  return new Set(dashboards.flatMap((d) => matchesInNamespace(flatten(d.Properties.DashboardBody))));
}

describe('metric coverage: the Lambda code and the monitoring agree', () => {
  const emitted = emittedNames();
  const declared = new Set<string>(Object.values(METRICS));
  const template = Template.fromStack(monitoredStack().stack);
  const alarmed = alarmedNames(template);
  const charted = chartedNames(template);

  it('finds the emitters (the scan itself works)', () => {
    expect(firstArguments("m.count(err ? 'BedrockThrottled' : 'BedrockError', { a: 1 })")).toEqual([
      "err ? 'BedrockThrottled' : 'BedrockError'",
    ]);
    expect(namesIn('count(METRICS.AuthFailure)')).toEqual(['AuthFailure']);
    for (const name of [
      'AuthFailure',
      'AuthzDenied',
      'GuardrailDecision',
      'CanaryLeak',
      'AuditWriteFailed',
    ]) {
      expect(emitted.has(name), name).toBe(true);
    }
  });

  it('emits only declared names (lambda/shared/metric-names.ts is the list)', () => {
    const undeclared = [...emitted.keys()].filter((name) => !declared.has(name));
    expect(undeclared.map((n) => `${n} in ${emitted.get(n)?.join(', ')}`)).toEqual([]);
  });

  it('alarms on or charts every declared and every emitted name', () => {
    const unwatched = [...new Set([...declared, ...emitted.keys()])].filter(
      (name) => !alarmed.has(name) && !charted.has(name),
    );
    expect(unwatched).toEqual([]);
  });

  it('alarms on no name that nobody emits, except the listed gaps, and each listed gap is still open', () => {
    const silent = [...alarmed].filter((name) => !emitted.has(name));
    expect(silent.sort()).toEqual(Object.keys(NOT_YET_EMITTED).sort());
    for (const name of Object.keys(NOT_YET_EMITTED)) expect(declared.has(name), name).toBe(true);
  });

  it('alarms only on declared names, and charts the counters that have no alarm of their own', () => {
    expect([...alarmed].filter((name) => !declared.has(name))).toEqual([]);
    const chartOnly = [...declared].filter((name) => !alarmed.has(name));
    expect(chartOnly.sort()).toEqual(['AuditEventsArchived', 'TokensUsed']);
    for (const name of chartOnly) expect(charted.has(name), name).toBe(true);
  });
});
