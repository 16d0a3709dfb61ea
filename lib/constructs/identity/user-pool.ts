import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  GROUP_DESCRIPTIONS,
  GROUP_PRECEDENCE,
  GROUPS,
  RESOURCE_SERVER_IDENTIFIER,
  RESOURCE_SERVER_SCOPES,
} from '../../../lambda/auth/permissions';
import { ControlPlaneFunction } from './control-plane-function';

/**
 * The user pool's issuer type, set explicitly as `IssuerConfiguration.Type` on the template
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cognito-userpool-issuerconfiguration.html:
 * `Type`, allowed values ORIGINAL | UPDATED, update requires no interruption). `ORIGINAL` issues
 * `iss` = `https://cognito-idp.<region>.amazonaws.com/<pool>`, `UPDATED` issues
 * `https://issuer-cognito-idp.<region>.amazonaws.com/<pool>`
 * (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_IssuerConfigurationType.html).
 * The ALB's `JwtValidationConfig.Issuer` and `AUTH_ISSUER` come from {@link issuerUrlOf}; the
 * deploy-time JWKS resolver (lambda/deploy/jwks-resolver.ts) fetches `<ORIGINAL issuer>/.well-known/jwks.json`,
 * and test/infra/issuer-pinned.test.ts fails if that URL stops being issuerUrlOf()'s. ORIGINAL
 * is kept (not the recommended UPDATED) because the resolver reads the ORIGINAL host; moving to
 * UPDATED means changing the resolver first. `npm run verify:deployment` still compares the live
 * pool's OpenID issuer with issuerUrlOf().
 */
export const USER_POOL_ISSUER_TYPE: IssuerType = 'ORIGINAL';

/** `IssuerConfiguration.Type` values CloudFormation documents. */
export type IssuerType = 'ORIGINAL' | 'UPDATED';

/** The `iss` of tokens of a pool with the given issuer type (default {@link USER_POOL_ISSUER_TYPE}). */
export function issuerUrlOf(
  region: string,
  userPoolId: string,
  type: IssuerType = USER_POOL_ISSUER_TYPE,
): string {
  const host = type === 'UPDATED' ? 'issuer-cognito-idp' : 'cognito-idp';
  return `https://${host}.${region}.amazonaws.com/${userPoolId}`;
}

/** Name of the custom attribute that receives an external IdP's group claim. */
export const IDP_GROUPS_ATTRIBUTE = 'idp_groups';

/** Properties of {@link SecureUserPool}. */
export interface SecureUserPoolProps {
  /** Environment name, used in the pool and log-group names. */
  readonly envName: string;
  /** Managed-login domain prefix; the passkey relying party is `<prefix>.auth.<region>.amazoncognito.com`. */
  readonly domainPrefix: string;
  /** Threat protection for standard and custom authentication. */
  readonly threatProtection: 'AUDIT' | 'ENFORCED';
  /** Self sign-up, admitted only through the allow-list trigger. @default off */
  readonly selfSignUp?: {
    readonly allowedDomains: readonly string[];
    readonly allowedUsers: readonly string[];
  };
  /** Key of the trigger log groups. */
  readonly logsKey: kms.IKey;
  /** ARN of the S3 bucket (SSE-KMS) that receives threat-protection auth events. */
  readonly authEventsBucketArn: string;
  /**
   * Send email through Amazon SES from a verified identity instead of Cognito's default
   * (which has a low daily limit). @default - Cognito's default email
   */
  readonly email?: {
    readonly fromAddress: string;
    readonly fromName?: string;
    readonly replyTo?: string;
    readonly sesVerifiedDomain?: string;
    readonly configurationSet?: string;
  };
  readonly logRetention: logs.RetentionDays;
  /** RETAIN (with deletion protection) everywhere but throw-away environments. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Project root, for bundling the pre-sign-up trigger. */
  readonly projectRoot: string;
}

/**
 * The user pool, secure by default: email sign-in (case-insensitive), MFA required with
 * TOTP (or a user-verified passkey), no SMS anywhere, 14-character passwords with every
 * character class, Plus plan threat protection with its auth events in a CMK-encrypted
 * S3 bucket, recovery by verified email only, and the groups and resource-server scopes
 * of the one permissions table (lambda/auth/permissions.ts).
 */
export class SecureUserPool extends Construct {
  readonly userPool: cognito.UserPool;
  /** Groups by name (`admin`, `operator`, ...). */
  readonly groups: ReadonlyMap<string, cognito.CfnUserPoolGroup>;
  /** The `omnichat` resource server. */
  readonly resourceServer: cognito.UserPoolResourceServer;
  /** Scope objects of the resource server, by scope name (`chat.read`, ...). */
  readonly scopes: ReadonlyMap<string, cognito.OAuthScope>;
  /** Delivery of threat-protection auth events to the S3 bucket. */
  readonly logDelivery: cognito.CfnLogDeliveryConfiguration;
  /** The pre-sign-up trigger, when self sign-up is on. */
  readonly preSignUp?: ControlPlaneFunction;

  constructor(scope: Construct, id: string, props: SecureUserPoolProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retain = removalPolicy !== RemovalPolicy.DESTROY;
    const selfSignUp = props.selfSignUp;
    if (selfSignUp && selfSignUp.allowedDomains.length === 0 && selfSignUp.allowedUsers.length === 0) {
      throw new Error('SecureUserPool: self sign-up needs allowedDomains or allowedUsers');
    }
    const region = Stack.of(this).region;

    if (selfSignUp) {
      this.preSignUp = new ControlPlaneFunction(this, 'PreSignUp', {
        entry: `${props.projectRoot}lambda/auth/pre-sign-up.ts`,
        projectRoot: props.projectRoot,
        description: 'Cognito pre-sign-up: admits only allow-listed domains and addresses',
        logsKey: props.logsKey,
        logRetention: props.logRetention,
        logRemovalPolicy: removalPolicy,
        environment: {
          ALLOWED_DOMAINS: selfSignUp.allowedDomains.join(','),
          ALLOWED_USERS: selfSignUp.allowedUsers.join(','),
        },
        // Cognito waits at most 5 s for a trigger; sign-up bursts beyond 10 at once are not expected.
        reservedConcurrency: 10,
        timeout: Duration.seconds(5),
        outsideVpcReason:
          'Invoked synchronously by Cognito during sign-up; it reads only its environment (the allow-lists) and calls no service and no network, so a VPC would add cold-start latency against the 5 s trigger limit without isolating anything.',
      });
    }

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `omnichat-${props.envName}`,
      featurePlan: cognito.FeaturePlan.PLUS,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      // Receives an external IdP's group claim; clients cannot write it (see AppClients).
      customAttributes: {
        [IDP_GROUPS_ATTRIBUTE]: new cognito.StringAttribute({ maxLen: 2048, mutable: true }),
      },
      selfSignUpEnabled: selfSignUp !== undefined,
      ...(props.email
        ? {
            email: cognito.UserPoolEmail.withSES({
              fromEmail: props.email.fromAddress,
              ...(props.email.fromName ? { fromName: props.email.fromName } : {}),
              ...(props.email.replyTo ? { replyTo: props.email.replyTo } : {}),
              ...(props.email.sesVerifiedDomain ? { sesVerifiedDomain: props.email.sesVerifiedDomain } : {}),
              ...(props.email.configurationSet ? { configurationSetName: props.email.configurationSet } : {}),
              sesRegion: region,
            }),
          }
        : {}),
      ...(this.preSignUp ? { lambdaTriggers: { preSignUp: this.preSignUp.function } } : {}),
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false, email: false },
      enableSmsRole: false,
      signInPolicy: { allowedFirstAuthFactors: { password: true, passkey: true } },
      passkeyRelyingPartyId: `${props.domainPrefix}.auth.${region}.amazoncognito.com`,
      // A passkey counts as MFA only when the authenticator verified the user (PIN, biometrics).
      passkeyUserVerification: cognito.PasskeyUserVerification.REQUIRED,
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(1),
        passwordHistorySize: 24,
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      standardThreatProtectionMode:
        props.threatProtection === 'ENFORCED'
          ? cognito.StandardThreatProtectionMode.FULL_FUNCTION
          : cognito.StandardThreatProtectionMode.AUDIT_ONLY,
      customThreatProtectionMode:
        props.threatProtection === 'ENFORCED'
          ? cognito.CustomThreatProtectionMode.FULL_FUNCTION
          : cognito.CustomThreatProtectionMode.AUDIT_ONLY,
      // No device tracking: a remembered device may skip MFA, and MFA must hold on every sign-in.
      deletionProtection: retain,
      removalPolicy,
    });

    // Pinned rather than left to Cognito's default, so the issuer every verifier derives from
    // issuerUrlOf() is the one the pool's tokens carry. cfn-lint 1.51 does not know the property:
    // the compliance gate extends its schema with exactly the documented shape
    // (lib/compliance/cfn-lint-schema-extensions.ts) instead of ignoring E3002.
    (this.userPool.node.defaultChild as cognito.CfnUserPool).issuerConfiguration = {
      type: USER_POOL_ISSUER_TYPE,
    };
    // Threat-protection auth events go to S3 with SSE-KMS (lib/constructs/secure-buckets.ts,
    // AuthEventsBucket): a CloudWatch Logs destination "must not be encrypted with AWS KMS"
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cognito-logdeliveryconfiguration-cloudwatchlogsconfiguration.html),
    // and every log destination here has a CMK. S3 is supported for userAuthEvents
    // (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_LogConfigurationType.html).
    this.logDelivery = new cognito.CfnLogDeliveryConfiguration(this, 'LogDelivery', {
      userPoolId: this.userPool.userPoolId,
      logConfigurations: [
        {
          eventSource: 'userAuthEvents',
          logLevel: 'INFO',
          s3Configuration: { bucketArn: props.authEventsBucketArn },
        },
      ],
    });

    const groups = new Map<string, cognito.CfnUserPoolGroup>();
    for (const group of GROUPS) {
      groups.set(
        group,
        new cognito.CfnUserPoolGroup(this, `Group-${group}`, {
          userPoolId: this.userPool.userPoolId,
          groupName: group,
          description: GROUP_DESCRIPTIONS[group],
          precedence: GROUP_PRECEDENCE[group],
        }),
      );
    }
    this.groups = groups;

    const serverScopes = RESOURCE_SERVER_SCOPES.map(
      (s) =>
        new cognito.ResourceServerScope({ scopeName: s.scopeName, scopeDescription: s.scopeDescription }),
    );
    this.resourceServer = this.userPool.addResourceServer('ResourceServer', {
      identifier: RESOURCE_SERVER_IDENTIFIER,
      userPoolResourceServerName: 'OmniChat API',
      scopes: serverScopes,
    });
    this.scopes = new Map(
      serverScopes.map((s) => [s.scopeName, cognito.OAuthScope.resourceServer(this.resourceServer, s)]),
    );
  }
}
