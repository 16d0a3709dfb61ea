/**
 * Turns CDK's policy-validation report and cfn-lint's JSON output into
 * `reports/compliance.json`: per pack, the unacknowledged findings and every
 * acknowledgement with its rule, resource path and reason.
 */

/** One unacknowledged finding. */
export interface Finding {
  readonly rule: string;
  readonly path: string;
  readonly message: string;
}

/** One acknowledged finding, with the reason a reviewer signed. */
export interface Acknowledgement {
  readonly rule: string;
  readonly path: string;
  readonly reason: string;
}

/** The result of one pack (a cdk-nag pack, the guard rules, CDK's own checks or cfn-lint). */
export interface PackResult {
  readonly pack: string;
  readonly unacknowledged: number;
  readonly findings: Finding[];
  readonly acknowledgements: Acknowledgement[];
}

/** The whole compliance report. */
export interface ComplianceReport {
  readonly generatedAt: string;
  readonly environments: readonly string[];
  readonly passed: boolean;
  readonly packs: PackResult[];
}

interface ValidationConstruct {
  constructPath?: string;
  cloudFormationResource?: { templatePath?: string; logicalId?: string };
}
interface ValidationViolation {
  ruleName: string;
  description?: string;
  severity?: string;
  violatingConstructs?: ValidationConstruct[];
  acknowledgedId?: string;
  reason?: string;
}
/** The subset of CDK's `validation-report.json` this module reads. */
export interface CdkValidationReport {
  pluginReports: Array<{
    pluginName: string;
    violations?: ValidationViolation[];
    suppressedViolations?: ValidationViolation[];
  }>;
}

/** One match of `cfn-lint --format json`. */
export interface CfnLintMatch {
  Filename: string;
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Rule: { Id: string };
  Location: { Path?: Array<string | number> };
}

/** A cfn-lint warning the project accepts, with the reason. Errors are never accepted. */
export interface AcceptedLintWarning {
  readonly rule: string;
  readonly reason: string;
  /** Accept the warning only where its `template#Resources/...` path matches. @default - everywhere */
  readonly where?: RegExp;
}

/** Maps a plugin name in CDK's report to the pack name of our report. */
const PACK_NAMES: Record<string, string> = {
  'cdk-validator-cfnguard': 'cfn-guard (Control Tower)',
  'CloudFormation Validate': 'CDK template validation',
};

const pathOf = (c: ValidationConstruct): string =>
  c.constructPath ??
  `${c.cloudFormationResource?.templatePath ?? '?'}#${c.cloudFormationResource?.logicalId ?? '?'}`;

/** Builds the per-pack results from CDK's validation report; packs with nothing to say still appear. */
export function packsFromValidationReport(
  report: CdkValidationReport | undefined,
  packs: readonly string[],
): PackResult[] {
  const byPack = new Map<string, PackResult>(
    packs.map((pack) => [pack, { pack, unacknowledged: 0, findings: [], acknowledgements: [] }]),
  );
  for (const plugin of report?.pluginReports ?? []) {
    const pack = PACK_NAMES[plugin.pluginName] ?? plugin.pluginName;
    const result = byPack.get(pack) ?? { pack, unacknowledged: 0, findings: [], acknowledgements: [] };
    const findings = [...result.findings];
    const acknowledgements = [...result.acknowledgements];
    for (const v of plugin.violations ?? []) {
      // CDK's own template checks are advisory (warnings); the packs report errors.
      if (v.severity === 'warning' && pack === 'CDK template validation') continue;
      for (const c of v.violatingConstructs ?? [{}]) {
        findings.push({ rule: v.ruleName, path: pathOf(c), message: v.description ?? '' });
      }
    }
    for (const v of plugin.suppressedViolations ?? []) {
      for (const c of v.violatingConstructs ?? [{}]) {
        acknowledgements.push({ rule: v.ruleName, path: pathOf(c), reason: v.reason ?? '(no reason given)' });
      }
    }
    byPack.set(pack, { pack, unacknowledged: findings.length, findings, acknowledgements });
  }
  return [...byPack.values()];
}

/** Builds the cfn-lint pack: errors always count; warnings count unless accepted with a reason. */
export function packFromCfnLint(
  matches: readonly CfnLintMatch[],
  accepted: readonly AcceptedLintWarning[],
): PackResult {
  const findings: Finding[] = [];
  const acknowledgements: Acknowledgement[] = [];
  for (const m of matches) {
    const path = `${m.Filename}#${(m.Location.Path ?? []).join('/')}`;
    const acceptance =
      m.Level === 'Warning'
        ? accepted.find((a) => a.rule === m.Rule.Id && (a.where?.test(path) ?? true))
        : undefined;
    if (acceptance) {
      acknowledgements.push({ rule: m.Rule.Id, path, reason: acceptance.reason });
    } else if (m.Level !== 'Informational') {
      findings.push({ rule: m.Rule.Id, path, message: m.Message });
    }
  }
  return { pack: 'cfn-lint', unacknowledged: findings.length, findings, acknowledgements };
}

/** Assembles the report; it passes only when every pack has zero unacknowledged findings. */
export function buildComplianceReport(
  environments: readonly string[],
  packs: PackResult[],
  now: Date = new Date(),
): ComplianceReport {
  return {
    generatedAt: now.toISOString(),
    environments,
    passed: packs.every((p) => p.unacknowledged === 0),
    packs,
  };
}
