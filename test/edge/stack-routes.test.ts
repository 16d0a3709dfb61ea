/**
 * The real stacks' routing table, not a copy: every listener rule of the synthesized Api stack
 * forwards to the function that serves its paths, in every band (Bearer, API key, session),
 * and the local edge (lambda/local/server.ts) routes the same paths to the same functions.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { apiTargetOf } from '../../lambda/local/server';
import { ENV_NAMES, stageFor } from '../support/synth';

interface Rule {
  priority: number;
  paths: string[];
  targetFunction: string;
}

/** Listener rules with their path patterns and the function behind their target group. */
function rulesOf(template: Template): Rule[] {
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const functionOfTargetGroup = (id: string): string => {
    const targets = resources[id]?.Properties.Targets as Array<{ Id: { 'Fn::GetAtt': [string, string] } }>;
    const fn = targets[0]!.Id['Fn::GetAtt'][0];
    return fn.replace(/Function[0-9A-F]{8}$/, '');
  };
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::ElasticLoadBalancingV2::ListenerRule')
    .map((r) => {
      const actions = r.Properties.Actions as Array<{ Type: string; TargetGroupArn?: { Ref: string } }>;
      const forward = actions.find((a) => a.Type === 'forward');
      const conditions = r.Properties.Conditions as Array<{
        Field: string;
        PathPatternConfig?: { Values: string[] };
      }>;
      return {
        priority: r.Properties.Priority as number,
        paths: conditions.find((c) => c.Field === 'path-pattern')?.PathPatternConfig?.Values ?? [],
        targetFunction: forward?.TargetGroupArn ? functionOfTargetGroup(forward.TargetGroupArn.Ref) : 'none',
      };
    })
    .sort((a, b) => a.priority - b.priority);
}

/** A concrete path a pattern matches (`*` stands for one segment). */
const samplePath = (pattern: string) => pattern.replaceAll('*', 'x');

const LOCAL_TO_FUNCTION: Record<string, string> = {
  chat: 'Chat',
  history: 'History',
  keys: 'Keys',
  admin: 'Admin',
};

describe.each(ENV_NAMES)('listener rules of the %s Api stack', (envName) => {
  const rules = rulesOf(Template.fromStack(stageFor(envName).api));

  it('sends the health check to health and the page to web', () => {
    expect(rules.find((r) => r.priority === 10)).toMatchObject({
      paths: ['/healthz'],
      targetFunction: 'Health',
    });
    expect(rules.find((r) => r.priority === 4000)?.targetFunction).toBe('Web');
  });

  it('forwards every API path, in every band, to the function the local edge uses for it', () => {
    const apiRules = rules.filter((r) => r.priority >= 1000 && r.priority < 4000);
    // Four routes (Chat, History, Keys, Admin) x three bands (Bearer, API key, session).
    expect(apiRules).toHaveLength(12);
    for (const rule of apiRules) {
      for (const pattern of rule.paths) {
        const local = apiTargetOf(samplePath(pattern));
        expect(local, pattern).toBeDefined();
        expect([pattern, rule.targetFunction]).toEqual([pattern, LOCAL_TO_FUNCTION[local!]]);
      }
    }
    const bands = (fn: string) =>
      apiRules.filter((r) => r.targetFunction === fn).map((r) => Math.floor(r.priority / 1000));
    for (const fn of Object.values(LOCAL_TO_FUNCTION)) expect(bands(fn)).toEqual([1, 2, 3]);
  });

  it('routes no path to a function that does not serve it', () => {
    for (const rule of rules.filter((r) => r.priority >= 1000 && r.priority < 4000)) {
      const served = new Set(rule.paths.map((p) => apiTargetOf(samplePath(p))));
      expect(served.size).toBe(1);
    }
  });
});
