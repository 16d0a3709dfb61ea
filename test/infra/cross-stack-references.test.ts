/**
 * Cross-stack references are strong (`Fn::ImportValue`), not weak (`Fn::GetStackOutput`).
 * CloudFormation resolves `Fn::GetStackOutput` only while it executes a change set, so the
 * change set shows the value as "known after apply" and plans a replacement of every property
 * it feeds that requires one, whether or not the value changed (aws/aws-cdk#38829, #38503).
 * Here that would plan to replace, among others, the audit stream's event source mapping
 * (EventSourceArn requires replacement), which would start a new mapping at TRIM_HORIZON and
 * re-archive a day of events. An import is resolved when the change set is created: only a
 * real change of the upstream value plans a replacement, and CloudFormation refuses to change
 * an export in use, so the order is enforced (docs/first-deploy.md, "Changing a stack output").
 */
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { cdkJsonContext } from '../../lib/app';
import { ENV_NAMES, stageFor } from '../support/synth';

describe('cross-stack references', () => {
  it('are configured strong in cdk.json', () => {
    expect(cdkJsonContext()['@aws-cdk/core:defaultCrossStackReferences']).toBe('strong');
  });

  describe.each(ENV_NAMES)('%s', (envName) => {
    const stage = stageFor(envName);
    const stacks = {
      Data: stage.data,
      Identity: stage.identity,
      Network: stage.network,
      Api: stage.api,
      Monitoring: stage.monitoring,
    };

    it('no template reads another stack through Fn::GetStackOutput', () => {
      for (const [name, stack] of Object.entries(stacks)) {
        expect(JSON.stringify(Template.fromStack(stack).toJSON()), name).not.toContain('Fn::GetStackOutput');
      }
    });

    it('the audit event source mapping and the chat role read the Data stack through imports', () => {
      const api = Template.fromStack(stage.api).toJSON() as {
        Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
      };
      const mapping = Object.values(api.Resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping')!;
      expect(JSON.stringify(mapping.Properties.EventSourceArn)).toMatch(
        /"Fn::ImportValue":"omnichat-[a-z]+-data:ExportsOutputFnGetAttTablesAuditTable/,
      );
      const imports = JSON.stringify(api).match(/Fn::ImportValue/g) ?? [];
      expect(imports.length).toBeGreaterThan(0);
    });
  });
});
