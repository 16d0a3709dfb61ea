/**
 * The AWS half of `npm run verify:deployment`: read-only API calls (Describe/Get/List and
 * IAM policy simulation) against the live account. Resources are found by the names this
 * project gives them (user pool `omnichat-<env>`, web ACL, alarm prefix, audit bucket,
 * guardrail) or by its tags (`project=omnichat`, `environment=<env>`), never by a
 * CloudFormation lookup, so the checks also run against an emulator (moto).
 *
 * The caller needs only read permissions: cognito-idp:ListUserPools/DescribeUserPool,
 * wafv2:ListWebACLs/ListResourcesForWebACL, bedrock:ListGuardrails/GetGuardrail/
 * GetFoundationModelAvailability/GetInferenceProfile, lambda:ListFunctions/ListTags,
 * iam:SimulatePrincipalPolicy, cloudwatch:DescribeAlarms, logs:DescribeLogGroups,
 * s3:GetObjectLockConfiguration, ec2:DescribeVpcs/DescribeFlowLogs.
 */
import {
  BedrockClient,
  GetFoundationModelAvailabilityCommand,
  ListGuardrailsCommand,
} from '@aws-sdk/client-bedrock';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CognitoIdentityProviderClient,
  DescribeUserPoolCommand,
  ListUserPoolsCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { DescribeFlowLogsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { GetObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { ListResourcesForWebACLCommand, ListWebACLsCommand, WAFV2Client } from '@aws-sdk/client-wafv2';
import { foundationModelIdOf } from '../../lib/config/model-catalogue';
import type { EnvironmentConfig } from '../../lib/config/schema';
import { issuerUrlOf } from '../../lib/constructs/identity/user-pool';
import { webAclName as webAclNameOf } from '../../lib/constructs/web-acl';
import { auditArchiveBucketName } from '../../lib/stacks/data-stack';
import type { CheckResult, VerifyCheck } from './report';

/** The SDK clients the checks use; tests may pass clients pointed at an emulator. */
export interface AwsClients {
  readonly cognito: CognitoIdentityProviderClient;
  readonly waf: WAFV2Client;
  readonly bedrock: BedrockClient;
  readonly lambda: LambdaClient;
  readonly iam: IAMClient;
  readonly cloudwatch: CloudWatchClient;
  readonly logs: CloudWatchLogsClient;
  readonly s3: S3Client;
  readonly ec2: EC2Client;
}

/** Clients for the environment's region (credentials and `AWS_ENDPOINT_URL` from the usual chain). */
export function awsClients(region: string): AwsClients {
  const c = { region };
  return {
    cognito: new CognitoIdentityProviderClient(c),
    waf: new WAFV2Client(c),
    bedrock: new BedrockClient(c),
    lambda: new LambdaClient(c),
    iam: new IAMClient(c),
    cloudwatch: new CloudWatchClient(c),
    logs: new CloudWatchLogsClient(c),
    s3: new S3Client({ ...c, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }),
    ec2: new EC2Client(c),
  };
}

const pass = (why: string): CheckResult => ({ status: 'pass', why });
const fail = (why: string): CheckResult => ({ status: 'fail', why });

async function userPoolOf(clients: AwsClients, envName: string) {
  let token: string | undefined;
  do {
    const page = await clients.cognito.send(new ListUserPoolsCommand({ MaxResults: 60, NextToken: token }));
    const pool = page.UserPools?.find((p) => p.Name === `omnichat-${envName}`);
    if (pool?.Id) {
      return (await clients.cognito.send(new DescribeUserPoolCommand({ UserPoolId: pool.Id }))).UserPool;
    }
    token = page.NextToken;
  } while (token);
  return undefined;
}

/** The chat function's role: the one function whose description says it may call Bedrock. */
async function chatRoleOf(clients: AwsClients, envName: string): Promise<string | undefined> {
  let marker: string | undefined;
  do {
    const page = await clients.lambda.send(new ListFunctionsCommand({ Marker: marker }));
    const fn = page.Functions?.find(
      (f) =>
        f.FunctionName?.startsWith(`omnichat-${envName}-api-`) &&
        /only function that may call Bedrock/.test(f.Description ?? ''),
    );
    if (fn?.Role) return fn.Role;
    marker = page.NextMarker;
  } while (marker);
  return undefined;
}

/** Options of {@link awsChecks}. */
export interface AwsCheckOptions {
  readonly config: EnvironmentConfig;
  readonly clients: AwsClients;
  /** GET a JSON document (the pool's OpenID configuration). @default fetch */
  readonly fetchJson?: (url: string) => Promise<unknown>;
}

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

/** The read-only AWS checks of one environment. */
export function awsChecks(options: AwsCheckOptions): VerifyCheck[] {
  const { config, clients } = options;
  const env = config.name;
  const region = config.region;
  const webAclName = webAclNameOf(env);
  const guardrailName = `omnichat-${env}-guardrail`;
  const firstModel = config.models.allowList[0]!;
  return [
    {
      id: 'user-pool-mfa-and-plan',
      group: 'aws',
      run: async () => {
        const pool = await userPoolOf(clients, env);
        if (!pool) return fail(`no user pool named omnichat-${env}`);
        const problems = [
          ...(pool.MfaConfiguration === 'ON' ? [] : [`MFA is ${pool.MfaConfiguration}`]),
          ...(pool.UserPoolTier === 'PLUS'
            ? []
            : [`feature plan is ${pool.UserPoolTier ?? 'unknown'}, not PLUS`]),
        ];
        return problems.length === 0 ? pass(`${pool.Id}: MFA ON, PLUS plan`) : fail(problems.join('; '));
      },
    },
    {
      id: 'issuer-matches-tokens',
      group: 'aws',
      run: async () => {
        // The ALB's JwtValidationConfig.Issuer, AUTH_ISSUER and the JWKS resolver all use
        // issuerUrlOf(); the pool's OpenID configuration names the issuer its tokens carry.
        const pool = await userPoolOf(clients, env);
        if (!pool?.Id) return fail(`no user pool named omnichat-${env}`);
        const expected = issuerUrlOf(region, pool.Id);
        const res = await (options.fetchJson ?? fetchJson)(`${expected}/.well-known/openid-configuration`);
        const issuer = (res as { issuer?: unknown }).issuer;
        return issuer === expected
          ? pass(`iss ${expected}`)
          : fail(`the pool issues ${String(issuer)}, the stack expects ${expected}`);
      },
    },
    {
      id: 'waf-on-alb-and-user-pool',
      group: 'aws',
      run: async () => {
        const acls = await clients.waf.send(new ListWebACLsCommand({ Scope: 'REGIONAL', Limit: 100 }));
        const acl = acls.WebACLs?.find((a) => a.Name === webAclName);
        if (!acl?.ARN) return fail(`no regional web ACL named ${webAclName}`);
        const albs = await clients.waf.send(
          new ListResourcesForWebACLCommand({
            WebACLArn: acl.ARN,
            ResourceType: 'APPLICATION_LOAD_BALANCER',
          }),
        );
        const pools = await clients.waf.send(
          new ListResourcesForWebACLCommand({ WebACLArn: acl.ARN, ResourceType: 'COGNITO_USER_POOL' }),
        );
        const pool = await userPoolOf(clients, env);
        const missing = [
          ...((albs.ResourceArns ?? []).length === 0 ? ['the load balancer'] : []),
          ...((pools.ResourceArns ?? []).some((arn) => pool?.Arn && arn === pool.Arn)
            ? []
            : ['the user pool']),
        ];
        return missing.length === 0
          ? pass(`${webAclName} protects the load balancer and the user pool`)
          : fail(`${webAclName} is not associated with ${missing.join(' and ')}`);
      },
    },
    {
      id: 'guardrail-version-exists',
      group: 'aws',
      run: async () => {
        const list = await clients.bedrock.send(new ListGuardrailsCommand({ maxResults: 100 }));
        const guardrail = list.guardrails?.find((g) => g.name === guardrailName);
        if (!guardrail?.id) return fail(`no guardrail named ${guardrailName}`);
        const versions = await clients.bedrock.send(
          new ListGuardrailsCommand({ guardrailIdentifier: guardrail.id, maxResults: 100 }),
        );
        const numbered = (versions.guardrails ?? []).filter((g) => /^\d+$/.test(g.version ?? ''));
        return numbered.length > 0
          ? pass(`${guardrailName} has version ${numbered.map((g) => g.version).join(', ')}`)
          : fail(`${guardrailName} has no numbered version (only DRAFT)`);
      },
    },
    {
      id: 'chat-role-needs-our-guardrail',
      group: 'aws',
      run: async () => {
        const role = await chatRoleOf(clients, env);
        if (!role) return fail('chat function not found');
        const list = await clients.bedrock.send(new ListGuardrailsCommand({ maxResults: 100 }));
        const guardrail = list.guardrails?.find((g) => g.name === guardrailName);
        if (!guardrail?.arn) return fail(`no guardrail named ${guardrailName}`);
        const versions = await clients.bedrock.send(
          new ListGuardrailsCommand({ guardrailIdentifier: guardrail.id, maxResults: 100 }),
        );
        const latest = (versions.guardrails ?? [])
          .map((g) => Number(g.version))
          .filter(Number.isInteger)
          .sort((a, b) => b - a)[0];
        const resource = firstModel.inferenceProfile
          ? `arn:aws:bedrock:${region}:${config.account}:inference-profile/${firstModel.id}`
          : `arn:aws:bedrock:${region}::foundation-model/${firstModel.id}`;
        const simulate = async (guardrailId?: string) => {
          const out = await clients.iam.send(
            new SimulatePrincipalPolicyCommand({
              PolicySourceArn: role,
              ActionNames: ['bedrock:InvokeModel'],
              ResourceArns: [resource],
              ...(guardrailId
                ? {
                    ContextEntries: [
                      {
                        ContextKeyName: 'bedrock:GuardrailIdentifier',
                        ContextKeyType: 'string',
                        ContextKeyValues: [guardrailId],
                      },
                    ],
                  }
                : {}),
            }),
          );
          return out.EvaluationResults?.[0]?.EvalDecision ?? 'unknown';
        };
        const without = await simulate();
        const other = await simulate(`arn:aws:bedrock:${region}:${config.account}:guardrail/someoneelse:1`);
        const ours = await simulate(`${guardrail.arn}:${latest}`);
        return without !== 'allowed' && other !== 'allowed' && ours === 'allowed'
          ? pass(`without: ${without}, other guardrail: ${other}, ours (v${latest}): allowed`)
          : fail(`without: ${without}, other guardrail: ${other}, ours (v${latest}): ${ours}`);
      },
    },
    {
      id: 'alarms-have-actions',
      group: 'aws',
      run: async () => {
        const alarms = await clients.cloudwatch.send(
          new DescribeAlarmsCommand({ AlarmNamePrefix: `omnichat-${env}-`, MaxRecords: 100 }),
        );
        const all = [...(alarms.MetricAlarms ?? []), ...(alarms.CompositeAlarms ?? [])];
        if (all.length === 0) return fail(`no alarm named omnichat-${env}-*`);
        const silent = all.filter((a) => (a.AlarmActions ?? []).length === 0 || a.ActionsEnabled === false);
        return silent.length === 0
          ? pass(`${all.length} alarms, each with an action`)
          : fail(`without actions: ${silent.map((a) => a.AlarmName).join(', ')}`);
      },
    },
    {
      id: 'log-groups-encrypted',
      group: 'aws',
      run: async () => {
        const groups = [];
        let token: string | undefined;
        do {
          const page = await clients.logs.send(new DescribeLogGroupsCommand({ nextToken: token }));
          groups.push(...(page.logGroups ?? []));
          token = page.nextToken;
        } while (token);
        const ours = groups.filter((g) => (g.logGroupName ?? '').includes(`omnichat-${env}`));
        if (ours.length === 0) return fail(`no log group of omnichat-${env}`);
        const plain = ours.filter((g) => !g.kmsKeyId);
        return plain.length === 0
          ? pass(`${ours.length} log groups, all with a KMS key`)
          : fail(`not encrypted: ${plain.map((g) => g.logGroupName).join(', ')}`);
      },
    },
    {
      id: 'audit-bucket-object-lock',
      group: 'aws',
      run: async () => {
        const bucket = auditArchiveBucketName(config);
        const out = await clients.s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
        const lock = out.ObjectLockConfiguration;
        const mode = lock?.Rule?.DefaultRetention?.Mode;
        return lock?.ObjectLockEnabled === 'Enabled' && mode === config.audit.objectLockMode
          ? pass(`${bucket}: Object Lock ${mode}, ${lock.Rule?.DefaultRetention?.Days} days`)
          : fail(
              `${bucket}: Object Lock ${lock?.ObjectLockEnabled ?? 'off'}, mode ${mode ?? 'none'} (want ${config.audit.objectLockMode})`,
            );
      },
    },
    {
      id: 'flow-logs-active',
      group: 'aws',
      run: async () => {
        const vpcs = await clients.ec2.send(
          new DescribeVpcsCommand({
            Filters: [
              { Name: 'tag:project', Values: ['omnichat'] },
              { Name: 'tag:environment', Values: [env] },
            ],
          }),
        );
        const ids = (vpcs.Vpcs ?? []).map((v) => v.VpcId!).filter(Boolean);
        if (ids.length === 0) return fail(`no VPC tagged project=omnichat, environment=${env}`);
        const logs = await clients.ec2.send(
          new DescribeFlowLogsCommand({ Filter: [{ Name: 'resource-id', Values: ids }] }),
        );
        const active = (logs.FlowLogs ?? []).filter(
          (f) => f.FlowLogStatus === 'ACTIVE' && f.TrafficType === 'ALL',
        );
        const uncovered = ids.filter((id) => !active.some((f) => f.ResourceId === id));
        return uncovered.length === 0
          ? pass(`${ids.join(', ')}: flow logs (ALL) active`)
          : fail(`no active ALL-traffic flow log on ${uncovered.join(', ')}`);
      },
    },
    {
      id: 'model-access-granted',
      group: 'aws',
      run: async () => {
        const problems: string[] = [];
        for (const model of config.models.allowList) {
          const modelId = foundationModelIdOf(model.id, model.inferenceProfile);
          const out = await clients.bedrock.send(new GetFoundationModelAvailabilityCommand({ modelId }));
          const states = {
            agreement: out.agreementAvailability?.status,
            authorization: out.authorizationStatus,
            entitlement: out.entitlementAvailability,
            region: out.regionAvailability,
          };
          if (
            states.agreement !== 'AVAILABLE' ||
            states.authorization !== 'AUTHORIZED' ||
            states.entitlement !== 'AVAILABLE' ||
            states.region !== 'AVAILABLE'
          ) {
            problems.push(`${modelId}: ${JSON.stringify(states)}`);
          }
        }
        return problems.length === 0
          ? pass(`${config.models.allowList.length} allow-listed models available and authorized`)
          : fail(problems.join('; '));
      },
    },
  ];
}
