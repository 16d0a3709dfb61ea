import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { cdkJsonContext } from '../../lib/app';
import { addCompliancePlugins, COMPLIANCE_PACKS } from '../../lib/compliance/plugins';
import { type CdkValidationReport, packsFromValidationReport } from '../../lib/compliance/report';
import { defaultGuardrailPolicy, type GuardrailPolicy } from '../../lib/config/guardrail-policy';
import { ApiFunction } from '../../lib/constructs/api-function';
import { BedrockGuardrail } from '../../lib/constructs/guardrail/bedrock-guardrail';
import {
  type AllowedModel,
  allowedModelArns,
  grantGuardedModelAccess,
  MODEL_INVOKE_ACTIONS,
} from '../../lib/constructs/guardrail/model-access';

const ACCOUNT = '111111111111';
const REGION = 'eu-central-1';

const MODELS: AllowedModel[] = [
  {
    id: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    inferenceProfile: false,
    profileRegions: [],
  },
  {
    id: 'eu.anthropic.claude-3-7-sonnet-20250219-v1:0',
    inferenceProfile: true,
    profileRegions: ['eu-central-1', 'eu-west-1', 'eu-west-3'],
  },
];

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly template: Template;
  readonly guardrail: BedrockGuardrail;
  readonly fn: ApiFunction;
  readonly key: kms.Key;
  logicalId(construct: { node: { defaultChild?: unknown } } | CfnElement): string;
}

/** A standalone stack: a CMK, an isolated VPC, one ApiFunction and the guardrail with its grants. */
function build(
  policy: GuardrailPolicy = defaultGuardrailPolicy,
  models: AllowedModel[] = MODELS,
  options: { outdir?: string; compliance?: boolean } = {},
): Built {
  // Bundling is skipped for every stack: these tests read IAM and guardrail properties only.
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
  });
  if (options.compliance) addCompliancePlugins(app);
  const stack = new Stack(app, 'GuardrailTest', { env: { account: ACCOUNT, region: REGION } });
  const key = new kms.Key(stack, 'DataKey', {
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    availabilityZones: [`${REGION}a`],
    natGateways: 0,
    restrictDefaultSecurityGroup: false,
    subnetConfiguration: [{ name: 'compute', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  const fn = new ApiFunction(stack, 'Chat', {
    entry: 'health',
    description: 'chat stand-in',
    vpc,
    subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    environment: {},
    logsKey: key,
    logRetention: logs.RetentionDays.ONE_YEAR,
    environmentKey: key,
    reservedConcurrency: 1,
  });
  const guardrail = new BedrockGuardrail(stack, 'Guardrail', {
    policy,
    namePrefix: 'omnichat-test',
    kmsKey: key,
  });
  grantGuardedModelAccess(fn, { models, guardrail, account: ACCOUNT, region: REGION });
  const logicalId = (c: { node: { defaultChild?: unknown } } | CfnElement): string =>
    stack.getLogicalId(('node' in c && c.node.defaultChild ? c.node.defaultChild : c) as CfnElement);
  let template: Template | undefined;
  // Lazy: Template.fromStack synthesizes, which would run the compliance plugins too early.
  return {
    app,
    stack,
    get template() {
      template ??= Template.fromStack(stack);
      return template;
    },
    guardrail,
    fn,
    key,
    logicalId,
  };
}

const built = build();
const guardrailId = built.logicalId(built.guardrail.guardrail);
const versionId = built.logicalId(built.guardrail.version);
const keyId = built.logicalId(built.key);

// ---------------------------------------------------------------------------------------------
// Resolving the template's intrinsics to the values CloudFormation would produce

const FAKE_GUARDRAIL_ARN = `arn:aws:bedrock:${REGION}:${ACCOUNT}:guardrail/k2ov1q9d3zsb`;
const FAKE_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/7d5c6d2e-0000-4000-8000-000000000001`;
const OUR_VERSION = `${FAKE_GUARDRAIL_ARN}:3`;
const ATTRIBUTES: Record<string, string> = {
  [`${guardrailId}.GuardrailArn`]: FAKE_GUARDRAIL_ARN,
  [`${guardrailId}.GuardrailId`]: 'k2ov1q9d3zsb',
  [`${versionId}.Version`]: '3',
  [`${keyId}.Arn`]: FAKE_KEY_ARN,
};

function resolve(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if ('Ref' in o) {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
    };
    const v = pseudo[o.Ref as string];
    if (v === undefined) throw new Error(`unresolvable Ref ${String(o.Ref)}`);
    return v;
  }
  if ('Fn::GetAtt' in o) {
    const [id, attr] = o['Fn::GetAtt'] as [string, string];
    // Attributes the guardrail statements do not use (log group ARNs) stay recognisable placeholders.
    return ATTRIBUTES[`${id}.${attr}`] ?? `<${id}.${attr}>`;
  }
  if ('Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(resolve).join(sep);
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]));
}

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** The function's managed policy, resolved. */
function functionStatements(b: Built): Statement[] {
  const policy = b.template.toJSON().Resources[b.logicalId(b.fn.policy)] as {
    Properties: { PolicyDocument: { Statement: unknown[] } };
  };
  return resolve(policy.Properties.PolicyDocument.Statement) as Statement[];
}
const statements = functionStatements(built);
const bySid = (sid: string): Statement => {
  const s = statements.find((x) => x.Sid === sid);
  if (!s) throw new Error(`no statement ${sid}`);
  return s;
};
const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

// ---------------------------------------------------------------------------------------------
// A small IAM evaluator (identity policy only): explicit deny > allow > implicit deny

interface Request {
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, string>>;
}
type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

const glob = (pattern: string, value: string, ignoreCase = false): boolean => {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, ignoreCase ? 'i' : '').test(value);
};

/** IAM semantics for single-valued keys; an operator it does not know fails the test. */
function conditionHolds(condition: Statement['Condition'], context: Request['context']): boolean {
  return Object.entries(condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => {
      const values = list(expected);
      const actual = context[key];
      switch (operator) {
        case 'StringEquals':
          return actual !== undefined && values.includes(actual);
        case 'StringNotEquals':
          // A negated operator matches when the key is absent from the request.
          return actual === undefined || !values.includes(actual);
        case 'Null':
          return values.includes(String(actual === undefined));
        default:
          throw new Error(`evaluator does not know condition operator ${operator}`);
      }
    }),
  );
}

function decide(policy: readonly Statement[], request: Request): Decision {
  const matches = (s: Statement): boolean => {
    if ('NotAction' in s || 'NotResource' in s)
      throw new Error('evaluator does not support NotAction/NotResource');
    return (
      list(s.Action).some((a) => glob(a, request.action, true)) &&
      list(s.Resource).some((r) => glob(r, request.resource)) &&
      conditionHolds(s.Condition, request.context)
    );
  };
  if (policy.some((s) => s.Effect === 'Deny' && matches(s))) return 'explicit-deny';
  return policy.some((s) => s.Effect === 'Allow' && matches(s)) ? 'allow' : 'implicit-deny';
}

const HAIKU = `arn:aws:bedrock:${REGION}::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0`;
const PROFILE = `arn:aws:bedrock:${REGION}:${ACCOUNT}:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0`;
const SONNET_IN = (region: string) =>
  `arn:aws:bedrock:${region}::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0`;
const OPUS = `arn:aws:bedrock:${REGION}::foundation-model/anthropic.claude-3-opus-20240229-v1:0`;
const withGuardrail = (id: string) => ({ 'bedrock:GuardrailIdentifier': id });

// ---------------------------------------------------------------------------------------------

describe('BedrockGuardrail: the guardrail resource', () => {
  it('configures every content filter, with PROMPT_ATTACK on input only', () => {
    built.template.hasResourceProperties('AWS::Bedrock::Guardrail', {
      Name: 'omnichat-test-guardrail',
      ContentPolicyConfig: {
        FiltersConfig: [
          { Type: 'HATE', InputStrength: 'HIGH', OutputStrength: 'HIGH' },
          { Type: 'INSULTS', InputStrength: 'MEDIUM', OutputStrength: 'MEDIUM' },
          { Type: 'SEXUAL', InputStrength: 'HIGH', OutputStrength: 'HIGH' },
          { Type: 'VIOLENCE', InputStrength: 'HIGH', OutputStrength: 'HIGH' },
          { Type: 'MISCONDUCT', InputStrength: 'MEDIUM', OutputStrength: 'MEDIUM' },
          { Type: 'PROMPT_ATTACK', InputStrength: 'HIGH', OutputStrength: 'NONE' },
        ],
      },
    });
  });

  it('denies the policy topics, words and the managed profanity list', () => {
    built.template.hasResourceProperties('AWS::Bedrock::Guardrail', {
      TopicPolicyConfig: {
        TopicsConfig: defaultGuardrailPolicy.deniedTopics.map((t) => ({
          Type: 'DENY',
          Name: t.name,
          Definition: t.definition,
          Examples: t.examples,
        })),
      },
      WordPolicyConfig: {
        WordsConfig: defaultGuardrailPolicy.words.custom.map((text) => ({ Text: text })),
        ManagedWordListsConfig: [{ Type: 'PROFANITY' }],
      },
    });
  });

  it('applies the PII actions (Bedrock-only kinds included) and the custom patterns', () => {
    const props = Object.values(built.template.findResources('AWS::Bedrock::Guardrail'))[0]!.Properties;
    const sensitive = props.SensitiveInformationPolicyConfig;
    expect(
      Object.fromEntries(
        sensitive.PiiEntitiesConfig.map((p: { Type: string; Action: string }) => [p.Type, p.Action]),
      ),
    ).toEqual(defaultGuardrailPolicy.pii);
    expect(sensitive.PiiEntitiesConfig).toContainEqual({ Type: 'AWS_SECRET_KEY', Action: 'BLOCK' });
    expect(sensitive.RegexesConfig).toEqual(
      defaultGuardrailPolicy.regexes.map((r) => ({
        Name: r.name,
        Description: r.description,
        Pattern: r.pattern,
        Action: r.action,
      })),
    );
    expect(props.BlockedInputMessaging).toBe(defaultGuardrailPolicy.messages.blockedInput);
    expect(props.BlockedOutputsMessaging).toBe(defaultGuardrailPolicy.messages.blockedOutput);
  });

  it('encrypts the guardrail with the given CMK', () => {
    built.template.hasResourceProperties('AWS::Bedrock::Guardrail', {
      KmsKeyArn: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
  });

  it('publishes a numbered version of this guardrail and exposes its attributes', () => {
    built.template.resourceCountIs('AWS::Bedrock::Guardrail', 1);
    built.template.resourceCountIs('AWS::Bedrock::GuardrailVersion', 1);
    built.template.hasResourceProperties('AWS::Bedrock::GuardrailVersion', {
      GuardrailIdentifier: { 'Fn::GetAtt': [guardrailId, 'GuardrailId'] },
      Description: Match.stringLikeRegexp('^omnichat-test-guardrail policy sha256:[0-9a-f]{16}$'),
    });
    const s = built.stack;
    expect(s.resolve(built.guardrail.versionNumber)).toEqual({ 'Fn::GetAtt': [versionId, 'Version'] });
    expect(s.resolve(built.guardrail.guardrailArn)).toEqual({ 'Fn::GetAtt': [guardrailId, 'GuardrailArn'] });
    expect(s.resolve(built.guardrail.guardrailId)).toEqual({ 'Fn::GetAtt': [guardrailId, 'GuardrailId'] });
    expect(resolve(s.resolve(built.guardrail.versionArn))).toBe(OUR_VERSION);
  });

  it('publishes a new version when the policy changes, and only then', () => {
    const description = (b: Built) =>
      Object.values(b.template.findResources('AWS::Bedrock::GuardrailVersion'))[0]!.Properties.Description;
    const stricter: GuardrailPolicy = {
      ...defaultGuardrailPolicy,
      contentFilters: {
        ...defaultGuardrailPolicy.contentFilters,
        INSULTS: { input: 'HIGH', output: 'HIGH' },
      },
    };
    expect(description(build())).toBe(description(built));
    expect(description(build(stricter))).not.toBe(description(built));
  });

  it.each<[string, Partial<ConstructorParameters<typeof BedrockGuardrail>[2]>, RegExp]>([
    [
      'a name prefix with a dot',
      { namePrefix: 'omnichat.prod' },
      /namePrefix "omnichat\.prod" must make a name/,
    ],
    ['a name over 50 characters', { namePrefix: 'o'.repeat(41) }, /at most 50/],
    [
      'a hand-built policy with PROMPT_ATTACK on output',
      {
        policy: {
          ...defaultGuardrailPolicy,
          contentFilters: {
            ...defaultGuardrailPolicy.contentFilters,
            PROMPT_ATTACK: { input: 'HIGH', output: 'HIGH' as 'NONE' },
          },
        },
      },
      /policy\.contentFilters\.PROMPT_ATTACK\.output: must be NONE/,
    ],
    [
      'a description over 200 characters',
      { description: 'd'.repeat(201) },
      /description must be at most 200/,
    ],
  ])('refuses %s before building anything', (_name, override, message) => {
    const stack = new Stack(new App(), 'Bad');
    const kmsKey = new kms.Key(stack, 'Key');
    expect(
      () =>
        new BedrockGuardrail(stack, 'Guardrail', {
          policy: defaultGuardrailPolicy,
          namePrefix: 'omnichat-test',
          kmsKey,
          ...override,
        }),
    ).toThrow(message);
    expect(stack.node.tryFindChild('Guardrail')?.node.children ?? []).toHaveLength(0);
  });

  it('offers the key-policy statement a restricted deployer needs, through Bedrock only', () => {
    const statement = built.guardrail.creatorKeyPolicyStatement(
      new iam.ArnPrincipal(`arn:aws:iam::${ACCOUNT}:role/deployer`),
    );
    expect(built.stack.resolve(statement.toStatementJson())).toEqual({
      Sid: 'AllowGuardrailDeployerThroughBedrock',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/deployer` },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey', 'kms:CreateGrant'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': `bedrock.${REGION}.amazonaws.com` } },
    });
  });
});

describe('grantGuardedModelAccess: the statements', () => {
  it('allows the invoke actions only on the listed models and profile, only with our pinned version', () => {
    const allow = bySid('InvokeAllowedModelsWithGuardrail');
    expect(allow.Effect).toBe('Allow');
    expect(list(allow.Action)).toEqual(['bedrock:InvokeModel']);
    expect([...list(allow.Resource)].sort()).toEqual(
      [HAIKU, PROFILE, SONNET_IN('eu-central-1'), SONNET_IN('eu-west-1'), SONNET_IN('eu-west-3')].sort(),
    );
    expect(allow.Condition).toEqual({ StringEquals: { 'bedrock:GuardrailIdentifier': OUR_VERSION } });
  });

  it('denies the invoke actions everywhere with any other guardrail, and without one', () => {
    expect(bySid('DenyModelsWithOtherGuardrail')).toEqual({
      Sid: 'DenyModelsWithOtherGuardrail',
      Effect: 'Deny',
      Action: MODEL_INVOKE_ACTIONS,
      Resource: '*',
      Condition: { StringNotEquals: { 'bedrock:GuardrailIdentifier': OUR_VERSION } },
    });
    expect(bySid('DenyModelsWithoutGuardrail')).toEqual({
      Sid: 'DenyModelsWithoutGuardrail',
      Effect: 'Deny',
      Action: MODEL_INVOKE_ACTIONS,
      Resource: '*',
      Condition: { Null: { 'bedrock:GuardrailIdentifier': 'true' } },
    });
  });

  it('scopes ApplyGuardrail to our guardrail and key use to calls through Bedrock', () => {
    expect(bySid('ApplyOwnGuardrail')).toMatchObject({
      Effect: 'Allow',
      Action: 'bedrock:ApplyGuardrail',
      Resource: FAKE_GUARDRAIL_ARN,
    });
    expect(bySid('GuardrailKey')).toMatchObject({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: FAKE_KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': `bedrock.${REGION}.amazonaws.com` } },
    });
  });

  it('grants no other Bedrock permission and no Bedrock wildcard', () => {
    const bedrockAllows = statements.filter(
      (s) => s.Effect === 'Allow' && list(s.Action).some((a) => a.startsWith('bedrock:')),
    );
    expect(bedrockAllows.map((s) => s.Sid).sort()).toEqual([
      'ApplyOwnGuardrail',
      'InvokeAllowedModelsWithGuardrail',
    ]);
    for (const s of bedrockAllows) {
      for (const r of list(s.Resource)) expect(r).not.toContain('*');
      for (const a of list(s.Action)) expect(a).not.toContain('*');
    }
  });

  it('refuses an inference profile whose regions leave out the source region', () => {
    const profile = { ...MODELS[1]!, profileRegions: ['eu-west-1', 'eu-west-3'] };
    expect(() => allowedModelArns([profile], { account: ACCOUNT, region: REGION, partition: 'aws' })).toThrow(
      /must list the source region eu-central-1/,
    );
  });

  it('refuses an inference profile id without a geography prefix', () => {
    const profile = { ...MODELS[1]!, id: 'claude-sonnet' };
    expect(() => allowedModelArns([profile], { account: ACCOUNT, region: REGION, partition: 'aws' })).toThrow(
      /must be <geography>\.<provider>\.<model>/,
    );
  });
});

describe('grantGuardedModelAccess: evaluated', () => {
  const [invoke, stream] = MODEL_INVOKE_ACTIONS as [string, string];

  it.each<[string, Request, Decision]>([
    [
      'Converse on a listed model with our version',
      { action: invoke, resource: HAIKU, context: withGuardrail(OUR_VERSION) },
      'allow',
    ],
    [
      'ConverseStream on the listed profile with our version (the function does not stream)',
      { action: stream, resource: PROFILE, context: withGuardrail(OUR_VERSION) },
      'implicit-deny',
    ],
    [
      'the profile routing to a listed region',
      { action: invoke, resource: SONNET_IN('eu-west-3'), context: withGuardrail(OUR_VERSION) },
      'allow',
    ],
    ['a listed model without a guardrail', { action: invoke, resource: HAIKU, context: {} }, 'explicit-deny'],
    ['streaming without a guardrail', { action: stream, resource: PROFILE, context: {} }, 'explicit-deny'],
    [
      'a listed model with another guardrail',
      {
        action: invoke,
        resource: HAIKU,
        context: withGuardrail(`arn:aws:bedrock:${REGION}:${ACCOUNT}:guardrail/permissive1:1`),
      },
      'explicit-deny',
    ],
    [
      'our guardrail at DRAFT',
      { action: invoke, resource: HAIKU, context: withGuardrail(FAKE_GUARDRAIL_ARN) },
      'explicit-deny',
    ],
    [
      'our guardrail at an older version',
      { action: invoke, resource: HAIKU, context: withGuardrail(`${FAKE_GUARDRAIL_ARN}:2`) },
      'explicit-deny',
    ],
    [
      'our version on an unlisted model',
      { action: invoke, resource: OPUS, context: withGuardrail(OUR_VERSION) },
      'implicit-deny',
    ],
    [
      'the profile model in a region it does not route to',
      { action: invoke, resource: SONNET_IN('us-east-1'), context: withGuardrail(OUR_VERSION) },
      'implicit-deny',
    ],
    [
      'ApplyGuardrail on ours',
      { action: 'bedrock:ApplyGuardrail', resource: FAKE_GUARDRAIL_ARN, context: {} },
      'allow',
    ],
    [
      'ApplyGuardrail on another guardrail',
      {
        action: 'bedrock:ApplyGuardrail',
        resource: `arn:aws:bedrock:${REGION}:${ACCOUNT}:guardrail/permissive1`,
        context: {},
      },
      'implicit-deny',
    ],
    [
      'decrypting with the key through Bedrock',
      {
        action: 'kms:Decrypt',
        resource: FAKE_KEY_ARN,
        context: { 'kms:ViaService': `bedrock.${REGION}.amazonaws.com` },
      },
      'allow',
    ],
    [
      'decrypting with the key directly',
      { action: 'kms:Decrypt', resource: FAKE_KEY_ARN, context: {} },
      'implicit-deny',
    ],
  ])('%s: %s', (_name, request, expected) => {
    expect(decide(statements, request)).toBe(expected);
  });

  it('refuses a call without a guardrail with either deny alone', () => {
    const denies = ['DenyModelsWithOtherGuardrail', 'DenyModelsWithoutGuardrail'];
    for (const kept of denies) {
      const policy = statements.filter((s) => !denies.includes(s.Sid ?? '') || s.Sid === kept);
      expect([kept, decide(policy, { action: invoke, resource: HAIKU, context: {} })]).toEqual([
        kept,
        'explicit-deny',
      ]);
    }
  });

  it('still withholds other guardrails through the allow condition if the denies were removed', () => {
    const allowsOnly = statements.filter((s) => s.Effect === 'Allow');
    const other = withGuardrail(`arn:aws:bedrock:${REGION}:${ACCOUNT}:guardrail/permissive1:1`);
    expect(decide(allowsOnly, { action: invoke, resource: HAIKU, context: other })).toBe('implicit-deny');
    expect(decide(allowsOnly, { action: invoke, resource: HAIKU, context: {} })).toBe('implicit-deny');
  });

  it('fails loudly on a condition operator it does not model', () => {
    const relaxed: Statement = {
      ...bySid('DenyModelsWithOtherGuardrail'),
      Condition: { StringNotEqualsIfExists: { k: 'v' } },
    };
    expect(() => decide([relaxed], { action: invoke, resource: HAIKU, context: {} })).toThrow(
      /does not know/,
    );
  });
});

describe('compliance', () => {
  it('leaves no finding on the guardrail, its version or the function policy in any pack', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'omnichat-guardrail-'));
    // Template.fromStack synthesizes without the plugins; synthesize the app itself to run them.
    const b = build(defaultGuardrailPolicy, MODELS, { outdir, compliance: true });
    let error: unknown;
    try {
      b.app.synth();
    } catch (e) {
      error = e;
    }
    expect(String(error)).toMatch(/ValidationFailed/); // the test-only VPC and key have findings
    const report = JSON.parse(
      readFileSync(join(outdir, 'validation-report.json'), 'utf8'),
    ) as CdkValidationReport;
    const findings = packsFromValidationReport(report, COMPLIANCE_PACKS).flatMap((p) =>
      p.findings.map((f) => `${p.pack} ${f.rule} ${f.path}`),
    );
    expect(findings.some((f) => f.includes('GuardrailTest/Vpc'))).toBe(true); // the report was read
    expect(findings.filter((f) => /GuardrailTest\/(Guardrail|Chat)\//.test(f))).toEqual([]);
  });
});
