import type { AcceptedLintWarning } from './report';

/**
 * cfn-lint warnings the project accepts, each with the reason. Errors are never
 * accepted; a warning not listed here fails `npm run synth`.
 */
export const ACCEPTED_CFN_LINT_WARNINGS: readonly AcceptedLintWarning[] = [
  {
    rule: 'W3010',
    reason:
      'Availability zones are named in the typed environment config on purpose: synthesis must not look them up (offline, reproducible), and subnets must stay in the same AZs across deployments.',
  },
  {
    rule: 'W3005',
    where: /#Resources\/CustomVpcRestrictDefaultSGCustomResourceProvider/,
    reason:
      "CDK's own custom-resource provider declares a DependsOn on its role that its GetAtt already implies; redundant but harmless, and not ours to edit.",
  },
];
