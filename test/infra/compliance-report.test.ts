import { describe, expect, it } from 'vitest';
import {
  buildComplianceReport,
  type CdkValidationReport,
  type CfnLintMatch,
  packFromCfnLint,
  packsFromValidationReport,
} from '../../lib/compliance/report';

const lint = (rule: string, level: CfnLintMatch['Level'], resource = 'Thing'): CfnLintMatch => ({
  Filename: 'cdk.out/assembly-dev/x.template.json',
  Level: level,
  Message: `${rule} says so`,
  Rule: { Id: rule },
  Location: { Path: ['Resources', resource, 'Properties'] },
});

describe('compliance report', () => {
  it('lists every requested pack even when the plugin reported nothing', () => {
    const packs = packsFromValidationReport({ pluginReports: [] }, ['AwsSolutions', 'Serverless']);
    expect(packs).toEqual([
      { pack: 'AwsSolutions', unacknowledged: 0, findings: [], acknowledgements: [] },
      { pack: 'Serverless', unacknowledged: 0, findings: [], acknowledgements: [] },
    ]);
  });

  it('counts one finding per violating construct and keeps acknowledgements with their reasons', () => {
    const report: CdkValidationReport = {
      pluginReports: [
        {
          pluginName: 'AwsSolutions',
          violations: [
            {
              ruleName: 'AwsSolutions-S1',
              description: 'no access logs',
              violatingConstructs: [{ constructPath: 'dev/Data/A' }, { constructPath: 'dev/Data/B' }],
            },
          ],
          suppressedViolations: [
            {
              ruleName: 'AwsSolutions-IAM5',
              reason: 'because',
              violatingConstructs: [{ constructPath: 'dev/Api/Role' }],
            },
          ],
        },
        {
          pluginName: 'cdk-validator-cfnguard',
          violations: [{ ruleName: 'ct_rule', violatingConstructs: [{}] }],
        },
      ],
    };
    const [aws, guard] = packsFromValidationReport(report, ['AwsSolutions', 'cfn-guard (Control Tower)']);
    expect(aws?.unacknowledged).toBe(2);
    expect(aws?.findings.map((f) => f.path)).toEqual(['dev/Data/A', 'dev/Data/B']);
    expect(aws?.acknowledgements).toEqual([
      { rule: 'AwsSolutions-IAM5', path: 'dev/Api/Role', reason: 'because' },
    ]);
    expect(guard?.unacknowledged).toBe(1);
  });

  it('counts cfn-lint errors always, warnings unless accepted, informational never', () => {
    const pack = packFromCfnLint(
      [
        lint('E3001', 'Error'),
        lint('W3010', 'Warning'),
        lint('W9999', 'Warning'),
        lint('I1022', 'Informational'),
      ],
      [
        { rule: 'W3010', reason: 'AZs are configured' },
        { rule: 'E3001', reason: 'errors are never accepted' },
      ],
    );
    expect(pack.findings.map((f) => f.rule)).toEqual(['E3001', 'W9999']);
    expect(pack.acknowledgements).toEqual([
      {
        rule: 'W3010',
        path: 'cdk.out/assembly-dev/x.template.json#Resources/Thing/Properties',
        reason: 'AZs are configured',
      },
    ]);
  });

  it('accepts a scoped warning only where its path matches', () => {
    const accepted = [{ rule: 'W3005', reason: 'CDK provider', where: /#Resources\/CustomProvider/ }];
    const pack = packFromCfnLint(
      [lint('W3005', 'Warning', 'CustomProviderHandler'), lint('W3005', 'Warning', 'Mine')],
      accepted,
    );
    expect(pack.acknowledgements).toHaveLength(1);
    expect(pack.findings.map((f) => f.path)).toEqual([
      'cdk.out/assembly-dev/x.template.json#Resources/Mine/Properties',
    ]);
  });

  it('passes only when every pack is clean', () => {
    const clean = { pack: 'a', unacknowledged: 0, findings: [], acknowledgements: [] };
    const dirty = {
      pack: 'b',
      unacknowledged: 1,
      findings: [{ rule: 'r', path: 'p', message: 'm' }],
      acknowledgements: [],
    };
    expect(buildComplianceReport(['dev'], [clean]).passed).toBe(true);
    expect(buildComplianceReport(['dev'], [clean, dirty]).passed).toBe(false);
  });
});
