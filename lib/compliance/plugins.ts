import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { type App, Validations } from 'aws-cdk-lib';
import {
  AwsSolutionsChecks,
  HIPAASecurityChecks,
  NIST80053R5Checks,
  PCIDSS321Checks,
  ServerlessChecks,
} from 'cdk-nag';

/** The compliance packs run on every synth; `reports/compliance.json` has one entry each. */
export const COMPLIANCE_PACKS = [
  'AwsSolutions',
  'HIPAA.Security',
  'NIST.800.53.R5',
  'PCI.DSS.321',
  'Serverless',
  'cfn-guard (Control Tower)',
] as const;

/**
 * Registers the five cdk-nag packs and the Control Tower proactive guard rules as
 * policy-validation plugins: any unacknowledged finding fails synthesis.
 */
export function addCompliancePlugins(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new HIPAASecurityChecks(app),
    new NIST80053R5Checks(app),
    new PCIDSS321Checks(app),
    new ServerlessChecks(app),
    new CfnGuardValidator({ controlTowerRulesEnabled: true }),
  );
}
