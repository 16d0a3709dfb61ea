import { Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';

/**
 * Managed data identifiers masked in protected log groups: e-mail addresses, credentials
 * (AWS secret keys and private keys in every common encoding) and payment-card data.
 * IP addresses are deliberately not masked: responders need them to block an attacker in
 * the WAF IP set, and the WAF logs are useless without them.
 */
export const MASKED_DATA_IDENTIFIERS = [
  'EmailAddress',
  'AwsSecretKey',
  'OpenSshPrivateKey',
  'PgpPrivateKey',
  'PkcsPrivateKey',
  'PuttyPrivateKey',
  'CreditCardNumber',
  'CreditCardExpiration',
  'CreditCardSecurityCode',
] as const;

/** Options of {@link protectLogGroup}. */
export interface ProtectLogGroupOptions {
  /**
   * Name of a log group that receives a findings report per log event with sensitive data.
   * A name (not a reference) so a log group in one stack never makes its stack depend on
   * another; without it, findings are still counted in the `AWS/Logs LogEventsWithFindings` metric.
   * @default - no findings report, metric only
   */
  readonly findingsLogGroupName?: string;
}

/** The data-protection policy document (audit + mask) for the managed identifiers above. */
export function dataProtectionPolicyDocument(stack: Stack, options: ProtectLogGroupOptions = {}): object {
  const identifiers = MASKED_DATA_IDENTIFIERS.map(
    (name) => `arn:${stack.partition}:dataprotection::aws:data-identifier/${name}`,
  );
  return {
    Name: 'omnichat-mask-sensitive-data',
    Description: 'Masks e-mail addresses, credentials and card data; reports each finding',
    Version: '2021-06-01',
    Statement: [
      {
        Sid: 'audit',
        DataIdentifier: identifiers,
        Operation: {
          Audit: {
            FindingsDestination:
              options.findingsLogGroupName === undefined
                ? {}
                : { CloudWatchLogs: { LogGroup: options.findingsLogGroupName } },
          },
        },
      },
      { Sid: 'mask', DataIdentifier: identifiers, Operation: { Deidentify: { MaskConfig: {} } } },
    ],
  };
}

/**
 * Puts the masking data-protection policy on a log group this app defines. The policy is a
 * property of the log group itself (`AWS::Logs::LogGroup.DataProtectionPolicy`), so it is
 * set on the log group's own resource, in whatever stack holds it; reading masked values
 * afterwards needs the `logs:Unmask` permission, which no role of this app has.
 */
export function protectLogGroup(logGroup: logs.ILogGroup, options: ProtectLogGroupOptions = {}): void {
  const resource = logGroup.node.defaultChild;
  if (!(resource instanceof logs.CfnLogGroup)) {
    throw new Error(
      `protectLogGroup: ${logGroup.node.path} is not a log group defined in this app (an imported log group cannot be given a policy)`,
    );
  }
  if (resource.dataProtectionPolicy !== undefined) {
    throw new Error(`protectLogGroup: ${logGroup.node.path} already has a data-protection policy`);
  }
  resource.dataProtectionPolicy = dataProtectionPolicyDocument(Stack.of(logGroup), options);
}
