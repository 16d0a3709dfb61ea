import { defaultGuardrailPolicy } from './guardrail-policy';
import type { EnvironmentConfigInput } from './schema';

/**
 * The three environments. Replace the account ids with yours before `cdk deploy`;
 * everything synth needs is here, so synthesis never calls AWS.
 */

/**
 * Destination regions of the EU cross-region inference profiles used below: a call from
 * eu-central-1 may be served in any of them, so IAM must allow the foundation model in each
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html,
 * https://docs.aws.amazon.com/bedrock/latest/userguide/batch-inference-supported.html for
 * Nova Lite's EU profile regions; read 2026-12-04). `npm run verify:deployment` checks model
 * access for each allow-listed id in the live account.
 */
const EU_PROFILE_REGIONS = [
  'eu-central-1',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eu-west-1',
  'eu-west-3',
];

/**
 * Current models only (lib/config/model-catalogue.ts; synth fails on a model past EOL). Claude
 * 3.5 Haiku reached EOL on Bedrock on 2026-06-19 and was replaced by Claude Haiku 4.5.
 */
const models: EnvironmentConfigInput['models'] = {
  allowList: [
    {
      id: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
      inferenceProfile: true,
      profileRegions: EU_PROFILE_REGIONS,
    },
    { id: 'eu.amazon.nova-lite-v1:0', inferenceProfile: true, profileRegions: EU_PROFILE_REGIONS },
  ],
  defaultModelId: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
};

/**
 * What staging and prod share: the production tier's settings (retain, termination
 * protection, COMPLIANCE Object Lock, enforced threat protection, the Backup plan, blocking
 * edge rules). Each of them states only what differs, so a hardening made here reaches both.
 */
type Edge = EnvironmentConfigInput['edge'];
type Identity = EnvironmentConfigInput['identity'];
const productionBase: Pick<
  EnvironmentConfigInput,
  | 'tier'
  | 'region'
  | 'dataClassification'
  | 'removalPolicy'
  | 'terminationProtection'
  | 'allowedIngressCidrs'
  | 'monitoring'
  | 'models'
  | 'guardrail'
> & {
  readonly edge: Pick<
    Edge,
    | 'rateLimitPerMinute'
    | 'chatRateLimitPerMinute'
    | 'ipRateCeilingPerMinute'
    | 'promptInjectionAction'
    | 'anonymousIpList'
    | 'sessionTimeoutSeconds'
  >;
  readonly identity: Pick<
    Identity,
    'publicClientCallbackUrls' | 'refreshTokenValidityDays' | 'threatProtection'
  >;
} = {
  tier: 'production',
  region: 'eu-central-1',
  dataClassification: 'confidential',
  removalPolicy: 'retain',
  terminationProtection: true,
  allowedIngressCidrs: ['0.0.0.0/0'],
  monitoring: {},
  edge: {
    rateLimitPerMinute: 100,
    chatRateLimitPerMinute: 20,
    ipRateCeilingPerMinute: 1000,
    promptInjectionAction: 'BLOCK',
    anonymousIpList: true,
    sessionTimeoutSeconds: 28_800,
  },
  identity: {
    publicClientCallbackUrls: ['http://127.0.0.1:8765/callback'],
    refreshTokenValidityDays: 7,
    threatProtection: 'ENFORCED',
  },
  models,
  guardrail: defaultGuardrailPolicy,
};

export const environments: Readonly<Record<string, EnvironmentConfigInput>> = {
  dev: {
    name: 'dev',
    tier: 'development',
    // No reservations in dev: it must deploy into a new account, whose Lambda concurrency
    // quota is often 10 or 50 (reserving needs the total + 100). Staging and prod reserve.
    account: '111111111111',
    region: 'eu-central-1',
    dataClassification: 'confidential',
    network: {
      vpcCidr: '10.10.0.0/16',
      availabilityZones: ['eu-central-1a', 'eu-central-1b'],
      maxAzs: 2,
      // Dev only: endpoints in one zone save ~$17.50/month; dev tolerates a zone outage.
      interfaceEndpointAzs: 1,
    },
    logRetentionDays: 365,
    dataRetentionDays: 30,
    removalPolicy: 'destroy',
    terminationProtection: false,
    alertEmails: ['omnichat-alerts-dev@example.com'],
    allowedIngressCidrs: ['0.0.0.0/0'],
    audit: { objectLockMode: 'GOVERNANCE', archiveRetentionDays: 30, tableRetentionDays: 30 },
    // Dev data is disposable (removalPolicy destroy) and PITR still covers 35 days; the
    // Backup plan with its own key and vault is for staging and prod (docs/restore.md).
    backup: { enabled: false, retentionDays: 7, vaultLock: false },
    // Developers' test scripts fail sign-ins and hit functions with bad input on purpose;
    // staging and prod keep the seed thresholds (lib/config/monitoring-config.ts).
    monitoring: { thresholds: { authFailuresPer5Min: 20, lambdaErrorsPer5Min: 10 } },
    edge: {
      rateLimitPerMinute: 100,
      chatRateLimitPerMinute: 20,
      ipRateCeilingPerMinute: 1000,
      promptInjectionAction: 'COUNT',
      anonymousIpList: false,
      botControl: false,
      // Placeholder: an ACM certificate for chat-dev.example.com in the account and region.
      certificate: {
        source: 'arn',
        arn: 'arn:aws:acm:eu-central-1:111111111111:certificate/0a1b2c3d-0000-4000-8000-000000000001',
      },
      hostName: 'chat-dev.example.com',
      sessionTimeoutSeconds: 43_200,
      accessLogRetentionDays: 30,
    },
    identity: {
      domainPrefix: 'omnichat-dev-111111',
      callbackHost: 'chat-dev.example.com',
      logoutUrls: ['https://chat-dev.example.com/'],
      publicClientCallbackUrls: ['http://127.0.0.1:8765/callback', 'com.example.omnichat:/callback'],
      refreshTokenValidityDays: 1,
      selfSignUp: { enabled: true, allowedDomains: ['example.com'], allowedUsers: [] },
      // AUDIT in dev: risk scores and auth events are logged, but a developer's sign-ins from
      // changing networks and test scripts are not blocked; staging and prod enforce.
      threatProtection: 'AUDIT',
      integrations: [{ name: 'smoke-test', scopes: ['chat.read', 'chat.write'] }],
    },
    // Off in dev: the execute-api endpoint would add $8.76 a month to an idle target of $60;
    // staging proves the streaming path before prod. Turn it on here to try it in dev.
    chat: { streaming: false },
    models,
    guardrail: defaultGuardrailPolicy,
  },
  staging: {
    ...productionBase,
    name: 'staging',
    chat: { streaming: true },
    reservedConcurrency: { chat: 20, history: 10, keys: 2, admin: 2, web: 10, health: 2 },
    account: '222222222222',
    network: {
      vpcCidr: '10.20.0.0/16',
      availabilityZones: ['eu-central-1a', 'eu-central-1b'],
      maxAzs: 2,
    },
    logRetentionDays: 365,
    dataRetentionDays: 90,
    alertEmails: ['omnichat-alerts-staging@example.com'],
    audit: { objectLockMode: 'COMPLIANCE', archiveRetentionDays: 365, tableRetentionDays: 90 },
    backup: { enabled: true, retentionDays: 35, vaultLock: false },
    edge: {
      ...productionBase.edge,
      botControl: false,
      // Placeholder: a DNS-validated certificate, issued in this hosted zone at deployment.
      certificate: { source: 'hostedZone', hostedZoneId: 'Z0222222EXAMPLESTAGE', zoneName: 'example.com' },
      hostName: 'chat-staging.example.com',
      accessLogRetentionDays: 365,
    },
    identity: {
      ...productionBase.identity,
      domainPrefix: 'omnichat-staging-222222',
      callbackHost: 'chat-staging.example.com',
      logoutUrls: ['https://chat-staging.example.com/'],
      integrations: [{ name: 'smoke-test', scopes: ['chat.read', 'chat.write'] }],
    },
  },
  prod: {
    ...productionBase,
    name: 'prod',
    chat: { streaming: true },
    reservedConcurrency: { chat: 100, history: 30, keys: 5, admin: 5, web: 30, health: 5 },
    account: '333333333333',
    network: {
      vpcCidr: '10.30.0.0/16',
      availabilityZones: ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'],
      maxAzs: 3,
      // Interface endpoints (bedrock-runtime, kms, execute-api) in 2 of the 3 zones: any one
      // zone can fail and every function still reaches Bedrock and KMS through the other
      // (the endpoint's DNS name resolves to the interfaces of all its zones). The third zone
      // would cost $26.28 a month (3 endpoints x $8.76) for a second simultaneous zone
      // failure, which also takes the load balancer down to one zone. Functions, the load
      // balancer and the data stay in 3 zones; the production tier may not go below 2.
      interfaceEndpointAzs: 2,
    },
    logRetentionDays: 731,
    dataRetentionDays: 365,
    alertEmails: ['omnichat-alerts@example.com', 'security-oncall@example.com'],
    audit: { objectLockMode: 'COMPLIANCE', archiveRetentionDays: 2557, tableRetentionDays: 365 },
    backup: { enabled: true, retentionDays: 35, vaultLock: true },
    edge: {
      ...productionBase.edge,
      botControl: true,
      // Placeholder: the organisation's ACM certificate for chat.example.com in the account and region.
      certificate: {
        source: 'arn',
        arn: 'arn:aws:acm:eu-central-1:333333333333:certificate/0a1b2c3d-0000-4000-8000-000000000003',
      },
      hostName: 'chat.example.com',
      accessLogRetentionDays: 731,
    },
    identity: {
      ...productionBase.identity,
      domainPrefix: 'omnichat-prod-333333',
      callbackHost: 'chat.example.com',
      logoutUrls: ['https://chat.example.com/'],
      integrations: [{ name: 'metrics-exporter', scopes: ['metrics.read'] }],
    },
  },
};
