import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { inventory } from '../../lib/cost/inventory';
import { environmentCost, TARGETS } from '../../lib/cost/report';
import type { CfnResource } from '../../lib/cost/templates';
import { configOf, ENV_NAMES, stageFor } from '../support/synth';

/** The environment's cost, as `npm run cost` computes it, from a fresh in-process synthesis. */
function costOf(envName: string) {
  const stage = stageFor(envName);
  const config = configOf(envName);
  const stacks = [stage.data, stage.identity, stage.network, stage.api, stage.monitoring].map((stack) => ({
    stackName: stack.stackName,
    template: Template.fromStack(stack).toJSON() as { Resources?: Record<string, CfnResource> },
  }));
  return environmentCost(inventory({ envName, stacks }), {
    conversationDays: config.dataRetentionDays,
    auditTableDays: config.audit.tableRetentionDays,
    archiveDays: config.audit.archiveRetentionDays,
    logDays: config.logRetentionDays,
  });
}

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const costSection = readme.slice(
  readme.indexOf('`npm run cost` prices'),
  readme.indexOf('## The compliance gate'),
);

describe.each(ENV_NAMES)("the README's cost figures for %s", (envName) => {
  const cost = costOf(envName);

  it('match the model (idle per month and request path per 1,000 chats)', () => {
    const row = costSection.split('\n').find((line) => line.startsWith(`| ${envName} `));
    expect(row, `README cost table has no row for ${envName}`).toBeDefined();
    expect(row).toContain(`$${cost.idleMonthly.toFixed(2)}`);
    expect(row).toContain(`$${cost.perThousand.requestPath.toFixed(3)}`);
  });
});

describe("the README's dev floor", () => {
  const cost = costOf('dev');
  const sum = (keys: ReadonlySet<string>) =>
    cost.idleItems.filter((i) => keys.has(i.priceKey)).reduce((s, i) => s + i.monthly, 0);

  it('load balancer, its IPv4s, the web ACL with its rules and the endpoints alone exceed the dev target', () => {
    const edgeAndNetwork = sum(
      new Set(['albHour', 'publicIpv4Hour', 'wafWebAcl', 'wafRule', 'interfaceEndpointHour']),
    );
    expect(costSection).toContain(`$${edgeAndNetwork.toFixed(2)}`);
    expect(edgeAndNetwork).toBeGreaterThan(TARGETS.idle.dev!);
  });

  it('every dev idle line is a control (or needed by one), so the floor is the idle total', () => {
    const controls = new Set([
      'albHour',
      'publicIpv4Hour',
      'wafWebAcl',
      'wafRule',
      'interfaceEndpointHour',
      'alarmStandardMetric',
      'alarmInsightsMetric',
      'alarmComposite',
      'dashboard',
      'kmsKeyMonth',
    ]);
    expect(sum(controls)).toBeCloseTo(cost.idleMonthly, 6);
    expect(costSection).toContain(`floor $${cost.idleMonthly.toFixed(2)}`);
  });
});
