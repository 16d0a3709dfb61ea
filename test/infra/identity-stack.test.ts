import type { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  GROUP_PRECEDENCE,
  GROUPS,
  RESOURCE_SERVER_IDENTIFIER,
  RESOURCE_SERVER_SCOPES,
} from '../../lambda/auth/permissions';
import { environments } from '../../lib/config/environments';
import { parseEnvironmentConfig } from '../../lib/config/load';
import type { EnvironmentConfig } from '../../lib/config/schema';
import { configOf, ENV_NAMES, stageFor, stageWith } from '../support/synth';

type Resources = Record<
  string,
  { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }
>;

const identityTemplate = (envName: string) => Template.fromStack(stageFor(envName).identity);
const scopeRef = (scope: string) => ({
  'Fn::Join': ['', [{ Ref: Match.stringLikeRegexp('ResourceServer') }, `/${scope}`]],
});
const ALL_SCOPES = RESOURCE_SERVER_SCOPES.map((s) => s.scopeName);

describe.each(ENV_NAMES)('identity stack of %s', (envName) => {
  // Prepare: one synthesized stage per environment (cached), without compliance plugins.
  const config = configOf(envName);
  const template = identityTemplate(envName);
  const resources = template.toJSON().Resources as Resources;
  const retain = config.removalPolicy !== 'destroy';

  it('pins the logical id of the user pool (stateful: a new id would replace it and lose every user)', () => {
    expect(Object.keys(resources).filter((id) => resources[id]!.Type === 'AWS::Cognito::UserPool')).toEqual([
      'PoolUserPool04A1AA15',
    ]);
  });

  it('signs in by case-insensitive email on the Plus plan', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      UserPoolName: `omnichat-${envName}`,
      UsernameAttributes: ['email'],
      UsernameConfiguration: { CaseSensitive: false },
      AutoVerifiedAttributes: ['email'],
      UserPoolTier: 'PLUS',
    });
  });

  it('requires MFA with TOTP only, never SMS, and offers user-verified passkeys on the managed-login domain', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      SmsConfiguration: Match.absent(),
      Policies: Match.objectLike({ SignInPolicy: { AllowedFirstAuthFactors: ['PASSWORD', 'WEB_AUTHN'] } }),
      WebAuthnRelyingPartyID: `${config.identity.domainPrefix}.auth.${config.region}.amazoncognito.com`,
      WebAuthnUserVerification: 'required',
    });
  });

  it('enforces a 14-character password with every class and 1-day temporary passwords', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: Match.objectLike({
        PasswordPolicy: {
          MinimumLength: 14,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
          TemporaryPasswordValidityDays: 1,
          PasswordHistorySize: 24,
        },
      }),
    });
  });

  it('recovers accounts by verified email only and keeps the old email until the new one is verified', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
      UserAttributeUpdateSettings: { AttributesRequireVerificationBeforeUpdate: ['email'] },
      // A remembered device could skip MFA.
      DeviceConfiguration: Match.absent(),
    });
  });

  it(`runs threat protection in ${config.identity.threatProtection} mode for standard and custom auth`, () => {
    expect(envName === 'dev' || config.identity.threatProtection === 'ENFORCED').toBe(true);
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      UserPoolAddOns: {
        AdvancedSecurityMode: config.identity.threatProtection,
        AdvancedSecurityAdditionalFlows: { CustomAuthMode: config.identity.threatProtection },
      },
    });
  });

  it(`is ${retain ? 'deletion-protected and retained' : 'deletable (throw-away environment)'}`, () => {
    template.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: retain ? 'Retain' : 'Delete',
      UpdateReplacePolicy: retain ? 'Retain' : 'Delete',
      Properties: Match.objectLike({ DeletionProtection: retain ? 'ACTIVE' : 'INACTIVE' }),
    });
    expect(stageFor(envName).identity.terminationProtection).toBe(config.terminationProtection);
  });

  it('self sign-up follows config, and when on, only through the allow-list trigger', () => {
    const signUp = config.identity.selfSignUp;
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: !signUp.enabled },
      // The pre-token-generation trigger is always there (test/infra/owner-directory.test.ts).
      LambdaConfig: Match.objectLike({
        PreSignUp: signUp.enabled
          ? { 'Fn::GetAtt': [Match.stringLikeRegexp('PreSignUpFunction'), 'Arn'] }
          : Match.absent(),
      }),
    });
    if (signUp.enabled) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        ReservedConcurrentExecutions: config.reservedConcurrency ? 10 : Match.absent(),
        Environment: {
          Variables: {
            ALLOWED_DOMAINS: signUp.allowedDomains.join(','),
            ALLOWED_USERS: signUp.allowedUsers.join(','),
          },
        },
      });
    }
  });

  it('has the five groups with the precedence of the permissions table', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolGroup', GROUPS.length);
    for (const group of GROUPS) {
      template.hasResourceProperties('AWS::Cognito::UserPoolGroup', {
        GroupName: group,
        Precedence: GROUP_PRECEDENCE[group],
      });
    }
    expect(GROUPS.map((g) => GROUP_PRECEDENCE[g])).toEqual([0, 10, 20, 30, 40]);
  });

  it('has the omnichat resource server with one scope per permission', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolResourceServer', 1);
    template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: RESOURCE_SERVER_IDENTIFIER,
      Scopes: RESOURCE_SERVER_SCOPES.map((s) => ({
        ScopeName: s.scopeName,
        ScopeDescription: s.scopeDescription,
      })),
    });
    expect(ALL_SCOPES).toEqual([
      'chat.read',
      'chat.write',
      'keys.manage',
      'audit.read',
      'metrics.read',
      'model.manage',
      'system.configure',
    ]);
  });

  it.each([
    ['alb', true, ['ALLOW_USER_SRP_AUTH']],
    ['public', false, ['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_AUTH']],
  ])(
    'has the %s client: code grant, secret=%s, 1 h tokens, rotated refresh tokens, revocation',
    (name, secret, flows) => {
      const callbacks =
        name === 'alb'
          ? [`https://${config.identity.callbackHost}/oauth2/idpresponse`]
          : config.identity.publicClientCallbackUrls;
      template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
        ClientName: `omnichat-${envName}-${name}`,
        GenerateSecret: secret,
        AllowedOAuthFlows: ['code'],
        AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthScopes: ['openid', 'email', ...ALL_SCOPES.map(scopeRef)],
        CallbackURLs: callbacks,
        LogoutURLs: config.identity.logoutUrls,
        ExplicitAuthFlows: flows,
        AccessTokenValidity: 60,
        IdTokenValidity: 60,
        RefreshTokenValidity: config.identity.refreshTokenValidityDays * 24 * 60,
        TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'minutes' },
        RefreshTokenRotation: { Feature: 'ENABLED', RetryGracePeriodSeconds: 10 },
        EnableTokenRevocation: true,
        PreventUserExistenceErrors: 'ENABLED',
        WriteAttributes: ['email', 'family_name', 'given_name'],
      });
    },
  );

  it('has one client-credentials machine client per integration, with only the granted scopes', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 2 + config.identity.integrations.length);
    for (const integration of config.identity.integrations) {
      template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
        ClientName: `omnichat-${envName}-${integration.name}`,
        GenerateSecret: true,
        AllowedOAuthFlows: ['client_credentials'],
        AllowedOAuthScopes: integration.scopes.map(scopeRef),
        ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
        AccessTokenValidity: 60,
        EnableTokenRevocation: true,
        PreventUserExistenceErrors: 'ENABLED',
      });
    }
  });

  it('no client allows plain-password sign-in or writes custom attributes', () => {
    const clients = Object.values(resources).filter((r) => r.Type === 'AWS::Cognito::UserPoolClient');
    for (const client of clients) {
      expect(client.Properties?.ExplicitAuthFlows).not.toContain('ALLOW_USER_PASSWORD_AUTH');
      expect(client.Properties?.ExplicitAuthFlows).not.toContain('ALLOW_ADMIN_USER_PASSWORD_AUTH');
      expect(client.Properties?.AllowedOAuthFlows).not.toContain('implicit');
      expect(client.Properties?.PreventUserExistenceErrors).toBe('ENABLED');
    }
  });

  it('has the managed-login (v2) domain from config with Cognito-default branding for both user clients', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
      Domain: config.identity.domainPrefix,
      ManagedLoginVersion: 2,
    });
    template.resourceCountIs('AWS::Cognito::ManagedLoginBranding', 2);
    template.hasResourceProperties('AWS::Cognito::ManagedLoginBranding', {
      UseCognitoProvidedValues: true,
      ClientId: { Ref: Match.stringLikeRegexp('AlbClient') },
    });
  });

  it('delivers threat-protection auth events to S3 (SSE-KMS), never to a CMK log group Cognito refuses', () => {
    // A CloudWatch Logs destination "must not be encrypted with AWS KMS" (CloudFormation
    // reference of CloudWatchLogsConfiguration); the org rule is a CMK everywhere.
    template.hasResourceProperties('AWS::Cognito::LogDeliveryConfiguration', {
      UserPoolId: { Ref: 'PoolUserPool04A1AA15' },
      LogConfigurations: [
        {
          EventSource: 'userAuthEvents',
          LogLevel: 'INFO',
          S3Configuration: { BucketArn: Match.anyValue() },
        },
      ],
    });
    const delivery = Object.values(template.findResources('AWS::Cognito::LogDeliveryConfiguration'))[0]!;
    expect(JSON.stringify(delivery)).not.toContain('CloudWatchLogsConfiguration');
    expect(JSON.stringify(delivery.Properties.LogConfigurations[0].S3Configuration.BucketArn)).toMatch(
      /AuthEventsBucket/,
    );
    const data = Template.fromStack(stageFor(envName).data);
    data.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('KeysLogsKey'), 'Arn'] },
            },
          },
        ],
      },
      LoggingConfiguration: { LogFilePrefix: 'auth-events/' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: config.logRetentionDays })]),
      },
    });
    // Only this account's log-delivery sources may write, and only under AWSLogs/<account>/.
    data.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('AuthEventsBucket') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AWSLogDeliveryWrite',
            Principal: { Service: 'delivery.logs.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: {
              StringEquals: {
                'aws:SourceAccount': config.account,
                's3:x-amz-acl': 'bucket-owner-full-control',
              },
              ArnLike: {
                'aws:SourceArn': `arn:aws:logs:${config.region}:${config.account}:delivery-source:*`,
              },
            },
          }),
        ]),
      },
    });
    data.hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('CloudWatch Logs'),
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowLogDeliveryToAuthEventsBucket',
            Principal: { Service: 'delivery.logs.amazonaws.com' },
            Action: 'kms:GenerateDataKey*',
          }),
        ]),
      },
    });
    template.resourcePropertiesCountIs(
      'AWS::Logs::LogGroup',
      { LogGroupName: Match.stringLikeRegexp('user-auth-events') },
      0,
    );
  });

  it('derives the issuer every verifier uses from the one issuer type (ORIGINAL)', () => {
    template.hasOutput('Issuer', {
      Value: {
        'Fn::Join': [
          '',
          [`https://cognito-idp.${config.region}.amazonaws.com/`, { Ref: 'PoolUserPool04A1AA15' }],
        ],
      },
    });
  });

  it('every log group of the stack is CMK-encrypted with retention', () => {
    for (const group of Object.values(resources).filter((r) => r.Type === 'AWS::Logs::LogGroup')) {
      expect(group.Properties?.KmsKeyId).toBeDefined();
      expect(group.Properties?.RetentionInDays).toBe(config.logRetentionDays);
    }
  });

  it('exposes every function and every log group of the stack (for alarms and log data protection)', () => {
    // Prepare
    const identity = stageFor(envName).identity;
    const logicalIds = (type: string) =>
      Object.entries(resources)
        .filter(([, r]) => r.Type === type)
        .map(([id]) => id)
        .sort();
    const idOf = (construct: { node: { defaultChild?: unknown } }) =>
      identity.getLogicalId(construct.node.defaultChild as CfnElement);

    // Assess
    expect(Object.keys(identity.functions).sort()).toEqual(
      config.identity.selfSignUp.enabled
        ? ['directorySync', 'jwksResolver', 'preSignUp', 'preTokenGeneration']
        : ['directorySync', 'jwksResolver', 'preTokenGeneration'],
    );
    expect(
      Object.values(identity.functions)
        .map((fn) => idOf(fn.function))
        .sort(),
    ).toEqual(logicalIds('AWS::Lambda::Function'));
    expect(identity.logGroups.map(idOf).sort()).toEqual(logicalIds('AWS::Logs::LogGroup'));
    expect(identity.functions.jwksResolver!.timeout.toSeconds()).toBe(60);
  });

  it('gives its control-plane functions no permission beyond their own logs and traces', () => {
    // The owner-directory writers have their own, tested grants (test/infra/owner-directory.test.ts).
    const policies = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::IAM::ManagedPolicy' &&
        String((r.Properties as { Description?: string }).Description).endsWith('own logs and traces only'),
    );
    expect(policies).toHaveLength(config.identity.selfSignUp.enabled ? 2 : 1);
    for (const policy of policies) {
      const statements = (
        policy.Properties!.PolicyDocument as { Statement: Array<{ Sid: string; Action: string[] }> }
      ).Statement;
      expect(statements.map((st) => [st.Sid, st.Action])).toEqual([
        ['WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents']],
        ['SendTraces', ['xray:PutTelemetryRecords', 'xray:PutTraceSegments']],
      ]);
    }
    template.resourceCountIs('AWS::IAM::Policy', 0);
    if (config.identity.selfSignUp.enabled) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Principal: 'cognito-idp.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': ['PoolUserPool04A1AA15', 'Arn'] },
      });
    }
  });

  it('resolves the JWKS at deploy time through its own custom resource and exposes it', () => {
    template.resourceCountIs('Custom::CognitoJwks', 1);
    template.hasResourceProperties('Custom::CognitoJwks', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('JwksResolverFunction'), 'Arn'] },
      Region: config.region,
      UserPoolId: { Ref: 'PoolUserPool04A1AA15' },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('JWKS'),
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: config.reservedConcurrency ? 1 : Match.absent(),
      TracingConfig: { Mode: 'Active' },
    });
    const stack = stageFor(envName).identity;
    const [resourceId, attribute] = (stack.resolve(stack.jwksJson) as { 'Fn::GetAtt': [string, string] })[
      'Fn::GetAtt'
    ];
    expect(resources[resourceId]?.Type).toBe('Custom::CognitoJwks');
    expect(attribute).toBe('Jwks');
    expect(JSON.stringify(stack.resolve(stack.issuer))).toContain('cognito-idp.');
    expect(stack.allowedClientIds).toHaveLength(2 + config.identity.integrations.length);
  });
});

describe('identity stack variants', () => {
  const base = configOf('staging');
  const withIdentity = (identity: Partial<EnvironmentConfig['identity']>): EnvironmentConfig => ({
    ...base,
    identity: { ...base.identity, ...identity },
  });

  it('without self sign-up there is no sign-up trigger and only administrators create users', () => {
    // Prepare / Act
    const template = Template.fromStack(stageWith(withIdentity({})).identity);
    // Assess
    expect(base.identity.selfSignUp.enabled).toBe(false);
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      LambdaConfig: { PreTokenGenerationConfig: Match.anyValue() },
    });
    // The JWKS resolver and the two owner-directory writers.
    template.resourceCountIs('AWS::Lambda::Function', 3);
  });

  it('wires SAML and OIDC providers with the group claim mapped to custom:idp_groups', () => {
    const template = Template.fromStack(
      stageWith(
        withIdentity({
          identityProviders: [
            {
              type: 'saml',
              name: 'Corp-SAML',
              metadataUrl: 'https://idp.example.com/metadata.xml',
              attributeMapping: {
                email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
              },
              groupsAttribute: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
            },
            {
              type: 'oidc',
              name: 'Corp-OIDC',
              issuerUrl: 'https://login.example.com',
              clientId: 'omnichat',
              clientSecretName: 'omnichat/oidc-client-secret',
              attributeMapping: { email: 'email' },
              groupsClaim: 'groups',
            },
          ],
        }),
      ).identity,
    );
    template.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', {
      ProviderName: 'Corp-SAML',
      ProviderType: 'SAML',
      ProviderDetails: Match.objectLike({ MetadataURL: 'https://idp.example.com/metadata.xml' }),
      AttributeMapping: {
        email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
        'custom:idp_groups': 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
      },
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', {
      ProviderName: 'Corp-OIDC',
      ProviderType: 'OIDC',
      ProviderDetails: Match.objectLike({
        oidc_issuer: 'https://login.example.com',
        client_id: 'omnichat',
        client_secret: '{{resolve:secretsmanager:omnichat/oidc-client-secret:SecretString:::}}',
      }),
      AttributeMapping: { email: 'email', 'custom:idp_groups': 'groups' },
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ClientName: 'omnichat-staging-alb',
      SupportedIdentityProviders: [
        'COGNITO',
        { Ref: Match.stringLikeRegexp('FederationSamlCorpSAML') },
        { Ref: Match.stringLikeRegexp('FederationOidcCorpOIDC') },
      ],
    });
  });

  it('refuses a domain prefix too long for a passkey relying party id', () => {
    expect(() => stageWith(withIdentity({ domainPrefix: 'omnichat-staging-222222222222' }))).toThrow(
      /staging\.identity\.domainPrefix: must be at most 27 characters in eu-central-1/,
    );
  });

  it('refuses audit-only threat protection outside dev', () => {
    expect(() => stageWith(withIdentity({ threatProtection: 'AUDIT' }))).toThrow(
      /staging\.identity\.threatProtection: must be ENFORCED in the production tier/,
    );
  });
});

describe('identity configuration', () => {
  const devRaw = environments.dev!;
  const devWithIdentity = (patch: Record<string, unknown>) => ({
    ...structuredClone(devRaw),
    identity: { ...structuredClone(devRaw.identity), ...patch },
  });

  it.each([
    ['domainPrefix', 'Omni_Chat', /dev\.identity\.domainPrefix: must be 1-63 lower-case/],
    [
      'domainPrefix',
      'my-cognito-login',
      /dev\.identity\.domainPrefix: must not contain aws, amazon or cognito/,
    ],
    [
      'callbackHost',
      'https://chat.example.com',
      /dev\.identity\.callbackHost: must be a lower-case DNS host name/,
    ],
    ['logoutUrls', ['http://chat.example.com/'], /dev\.identity\.logoutUrls\.0: must be an https:\/\/ URL/],
    ['logoutUrls', [], /dev\.identity\.logoutUrls: /],
    [
      'publicClientCallbackUrls',
      ['http://evil.example.com/cb'],
      /dev\.identity\.publicClientCallbackUrls\.0: must be https/,
    ],
    ['refreshTokenValidityDays', 0, /dev\.identity\.refreshTokenValidityDays: /],
    ['threatProtection', 'OFF', /dev\.identity\.threatProtection: /],
    [
      'selfSignUp',
      { enabled: true, allowedDomains: [], allowedUsers: [] },
      /dev\.identity\.selfSignUp\.enabled: needs allowedDomains or allowedUsers/,
    ],
    [
      'selfSignUp',
      { enabled: true, allowedDomains: ['Example..com'], allowedUsers: [] },
      /dev\.identity\.selfSignUp\.allowedDomains\.0: must be a lower-case domain/,
    ],
    [
      'integrations',
      [{ name: 'ci', scopes: ['chat.admin'] }],
      /dev\.identity\.integrations\.0\.scopes\.0: must be one of chat\.read, chat\.write/,
    ],
    [
      'integrations',
      [
        { name: 'ci', scopes: ['chat.read'] },
        { name: 'ci', scopes: ['chat.write'] },
      ],
      /dev\.identity\.integrations: integration names must be unique/,
    ],
    [
      'identityProviders',
      [{ type: 'saml', name: 'Corp', metadataUrl: 'http://idp.example.com/md' }],
      /dev\.identity\.identityProviders\.0\.metadataUrl: must be an https:\/\/ URL/,
    ],
    [
      'identityProviders',
      [
        {
          type: 'oidc',
          name: 'Cognito',
          issuerUrl: 'https://a.example.com',
          clientId: 'x',
          clientSecretName: 's',
        },
      ],
      /dev\.identity\.identityProviders\.0\.name: is reserved by Cognito/,
    ],
  ])('rejects identity.%s = %j naming the field', (field, value, message) => {
    // Act / Assess
    expect(() => parseEnvironmentConfig('dev', devWithIdentity({ [field]: value }))).toThrow(message);
  });

  it('defaults self sign-up to off', () => {
    const { selfSignUp: _omitted, ...withoutSignUp } = structuredClone(devRaw.identity) as Record<
      string,
      unknown
    >;
    const parsed = parseEnvironmentConfig('dev', { ...structuredClone(devRaw), identity: withoutSignUp });
    expect(parsed.identity.selfSignUp).toEqual({ enabled: false, allowedDomains: [], allowedUsers: [] });
  });
});
