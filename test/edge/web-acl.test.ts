import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { numberAboveRegex, WebAcl, type WebAclProps } from '../../lib/constructs/web-acl';
import { promptInjectionRegexes } from '../../lib/edge/prompt-injection-phrases';
import { configOf, ENV_NAMES } from '../support/synth';

type Rule = {
  Name: string;
  Priority: number;
  Action?: Record<string, unknown>;
  OverrideAction?: unknown;
  Statement: Record<string, unknown>;
  VisibilityConfig: Record<string, unknown>;
};

function aclTemplate(overrides: Partial<WebAclProps> = {}, envName = 'dev') {
  const config = configOf(envName);
  const stack = new Stack(new App(), 'Edge', { env: { account: config.account, region: config.region } });
  const acl = new WebAcl(stack, 'Acl', {
    envName,
    ...config.edge,
    logsKey: new kms.Key(stack, 'Key'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    ...overrides,
  });
  acl.associate('Alb', 'arn:aws:elasticloadbalancing:eu-central-1:111111111111:loadbalancer/app/x/1');
  const template = Template.fromStack(stack);
  const [, resource] = Object.entries(template.findResources('AWS::WAFv2::WebACL'))[0]!;
  return { template, rules: (resource.Properties.Rules as Rule[]).sort((a, b) => a.Priority - b.Priority) };
}

describe.each(ENV_NAMES)('web ACL of %s', (envName) => {
  const config = configOf(envName);
  const { template, rules } = aclTemplate({}, envName);
  const names = rules.map((r) => r.Name);

  it('orders rules: incident block list, rate limits, body size, managed groups, AI-001 last', () => {
    const expected = [
      'IncidentBlockList',
      'RatePerIp',
      'RatePerToken',
      'ChatRatePerToken',
      'RatePerApiKey',
      'ChatRatePerApiKey',
      'RatePerSession',
      'ChatRatePerSession',
      'BodySizeLimit',
      'AWS-AWSManagedRulesAmazonIpReputationList',
      ...(config.edge.anonymousIpList ? ['AWS-AWSManagedRulesAnonymousIpList'] : []),
      'AWS-AWSManagedRulesCommonRuleSet',
      'AWS-AWSManagedRulesKnownBadInputsRuleSet',
      'AWS-AWSManagedRulesSQLiRuleSet',
      'BodyRulesOutsideChat',
      ...(config.edge.anonymousIpList ? ['HostingProviderWithoutCredential'] : []),
      ...(config.edge.botControl ? ['AWS-AWSManagedRulesBotControlRuleSet'] : []),
      'AI-001-PromptInjectionPhrases',
    ];
    expect(names).toEqual(expected);
    expect(new Set(rules.map((r) => r.Priority)).size).toBe(rules.length);
  });

  it('limits each credential (token, API key, session) overall and on the chat route, beside a high per-IP ceiling', () => {
    const overall = rules.find((r) => r.Name === 'RatePerIp')!;
    expect(overall.Statement).toEqual({
      RateBasedStatement: {
        Limit: config.edge.ipRateCeilingPerMinute,
        EvaluationWindowSec: 60,
        AggregateKeyType: 'IP',
      },
    });
    expect(config.edge.ipRateCeilingPerMinute).toBeGreaterThanOrEqual(10 * config.edge.rateLimitPerMinute);
    expect(overall.Action).toEqual({
      Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: 'TooManyRequests' } },
    });
    const keys = {
      Token: { Header: { Name: 'authorization', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
      ApiKey: { Header: { Name: 'x-api-key', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
      Session: {
        Cookie: { Name: 'AWSELBAuthSessionCookie-0', TextTransformations: [{ Priority: 0, Type: 'NONE' }] },
      },
    };
    for (const [carrier, key] of Object.entries(keys)) {
      expect(rules.find((r) => r.Name === `RatePer${carrier}`)!.Statement).toEqual({
        RateBasedStatement: {
          Limit: config.edge.rateLimitPerMinute,
          EvaluationWindowSec: 60,
          AggregateKeyType: 'CUSTOM_KEYS',
          CustomKeys: [key],
        },
      });
      expect(rules.find((r) => r.Name === `ChatRatePer${carrier}`)!.Statement).toMatchObject({
        RateBasedStatement: {
          Limit: config.edge.chatRateLimitPerMinute,
          AggregateKeyType: 'CUSTOM_KEYS',
          CustomKeys: [key],
          ScopeDownStatement: {
            ByteMatchStatement: { SearchString: '/api/v1/chat', PositionalConstraint: 'EXACTLY' },
          },
        },
      });
    }
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      CustomResponseBodies: {
        TooManyRequests: {
          ContentType: 'APPLICATION_JSON',
          Content: Match.stringLikeRegexp('"rate_limited"'),
        },
      },
    });
  });

  it('counts the body rules of the Common and SQLi sets, and blocks their labels everywhere but the chat body', () => {
    const common = rules.find((r) => r.Name === 'AWS-AWSManagedRulesCommonRuleSet')!;
    const overridden = (rule: Rule) =>
      (
        (
          rule.Statement.ManagedRuleGroupStatement as {
            RuleActionOverrides: { Name: string; ActionToUse: unknown }[];
          }
        ).RuleActionOverrides ?? []
      ).map((o) => [o.Name, o.ActionToUse]);
    expect(overridden(common)).toEqual(
      [
        'SizeRestrictions_BODY',
        'CrossSiteScripting_BODY',
        'GenericLFI_BODY',
        'GenericRFI_BODY',
        'EC2MetaDataSSRF_BODY',
      ].map((n) => [n, { Count: {} }]),
    );
    const sqli = rules.find((r) => r.Name === 'AWS-AWSManagedRulesSQLiRuleSet')!;
    expect(overridden(sqli)).toEqual([
      ['SQLi_BODY', { Count: {} }],
      ['SQLiExtendedPatterns_BODY', { Count: {} }],
    ]);
    const outside = rules.find((r) => r.Name === 'BodyRulesOutsideChat')!;
    expect(outside.Action).toEqual({
      Block: { CustomResponse: { ResponseCode: 403, CustomResponseBodyKey: 'Blocked' } },
    });
    const text = JSON.stringify(outside.Statement);
    for (const label of [
      'awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body',
      'awswaf:managed:aws:core-rule-set:GenericLFI_Body',
      'awswaf:managed:aws:sql-database:SQLi_Body',
      'awswaf:managed:aws:sql-database:SQLiExtendedPatterns_Body',
    ]) {
      expect(text).toContain(label);
    }
    expect(outside.Statement).toMatchObject({
      AndStatement: {
        Statements: [
          {},
          { NotStatement: { Statement: { ByteMatchStatement: { SearchString: '/api/v1/chat' } } } },
        ],
      },
    });
    // The size rule is never re-blocked: BodySizeLimit is the limit that applies.
    expect(text).not.toContain('SizeRestrictions');
    // Runs after the groups that add the labels.
    expect(outside.Priority).toBeGreaterThan(sqli.Priority);
    expect(outside.Priority).toBeGreaterThan(common.Priority);
  });

  it.runIf(config.edge.anonymousIpList)(
    'blocks hosting-provider addresses only when they carry no credential',
    () => {
      const group = rules.find((r) => r.Name === 'AWS-AWSManagedRulesAnonymousIpList')!;
      expect(group.Statement).toMatchObject({
        ManagedRuleGroupStatement: {
          RuleActionOverrides: [{ Name: 'HostingProviderIPList', ActionToUse: { Count: {} } }],
        },
      });
      const rule = rules.find((r) => r.Name === 'HostingProviderWithoutCredential')!;
      const text = JSON.stringify(rule.Statement);
      expect(text).toContain('awswaf:managed:aws:anonymous-ip-list:HostingProviderIPList');
      for (const carrier of ['authorization', 'x-api-key', 'AWSELBAuthSessionCookie-0'])
        expect(text).toContain(carrier);
      expect(rule.Priority).toBeGreaterThan(group.Priority);
    },
  );

  it(`runs AI-001 in ${config.edge.promptInjectionAction} mode over the transformed body`, () => {
    const ai = rules.find((r) => r.Name === 'AI-001-PromptInjectionPhrases')!;
    expect(Object.keys(ai.Action!)).toEqual([
      config.edge.promptInjectionAction === 'BLOCK' ? 'Block' : 'Count',
    ]);
    const regexes = promptInjectionRegexes();
    const statements = (
      regexes.length === 1
        ? [ai.Statement]
        : (ai.Statement.OrStatement as { Statements: Array<Record<string, unknown>> }).Statements
    ) as Array<{ RegexMatchStatement: { RegexString: string; TextTransformations: unknown } }>;
    expect(statements.map((st) => st.RegexMatchStatement.RegexString)).toEqual(regexes);
    for (const statement of statements) {
      expect(statement.RegexMatchStatement.TextTransformations).toEqual([
        { Priority: 0, Type: 'URL_DECODE' },
        { Priority: 1, Type: 'JS_DECODE' },
        { Priority: 2, Type: 'LOWERCASE' },
        { Priority: 3, Type: 'COMPRESS_WHITE_SPACE' },
      ]);
    }
    // 3 WCUs per regex statement plus 10 per transformation (WAF developer guide).
    expect(statements.length * (3 + 4 * 10)).toBeLessThanOrEqual(100);
  });

  it('publishes metrics and sampled requests for every rule', () => {
    for (const rule of rules) {
      expect(rule.VisibilityConfig).toMatchObject({
        CloudWatchMetricsEnabled: true,
        SampledRequestsEnabled: true,
      });
    }
  });

  it('logs to an encrypted aws-waf-logs-* group with credentials redacted, and is associated', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: Match.stringLikeRegexp(`^aws-waf-logs-omnichat-${envName}-`),
      KmsKeyId: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
      RedactedFields: [
        { SingleHeader: { Name: 'authorization' } },
        { SingleHeader: { Name: 'cookie' } },
        { SingleHeader: { Name: 'x-api-key' } },
      ],
    });
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
  });
});

describe('web ACL options', () => {
  it('blocks the incident block list before any other rule, with an IP set the runbooks can name', () => {
    const { rules, template } = aclTemplate({});
    expect(rules[0]).toMatchObject({
      Name: 'IncidentBlockList',
      Action: { Block: { CustomResponse: { ResponseCode: 403 } } },
      VisibilityConfig: { CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true },
    });
    template.hasResourceProperties('AWS::WAFv2::IPSet', {
      Name: Match.stringLikeRegexp('^omnichat-[a-z]+-blocked-ips$'),
      Addresses: [],
      Scope: 'REGIONAL',
    });
  });

  it('puts an IP allow-list for the admin routes first when configured (after the incident block list)', () => {
    const { rules, template } = aclTemplate({ ipAllowList: ['203.0.113.0/24'], ipAllowListScope: 'admin' });
    expect(rules[1]!.Name).toBe('IpAllowList');
    expect(JSON.stringify(rules[1]!.Statement)).toContain('/api/v1/admin/');
    // Encoded or dot-segment paths are normalized before the prefix is compared.
    expect(JSON.stringify(rules[1]!.Statement)).toContain(
      JSON.stringify([
        { Priority: 0, Type: 'URL_DECODE' },
        { Priority: 1, Type: 'NORMALIZE_PATH' },
        { Priority: 2, Type: 'LOWERCASE' },
      ]),
    );
    template.hasResourceProperties('AWS::WAFv2::IPSet', { Addresses: ['203.0.113.0/24'] });
  });

  it('lets API clients through Bot Control: user-agent-only rules count', () => {
    const { rules } = aclTemplate({ botControl: true });
    const bot = rules.find((r) => r.Name === 'AWS-AWSManagedRulesBotControlRuleSet')!;
    expect(
      (bot.Statement.ManagedRuleGroupStatement as { RuleActionOverrides: unknown }).RuleActionOverrides,
    ).toEqual([
      { Name: 'SignalNonBrowserUserAgent', ActionToUse: { Count: {} } },
      { Name: 'CategoryHttpLibrary', ActionToUse: { Count: {} } },
    ]);
  });

  it('blocks countries outside the allow-list', () => {
    const { rules } = aclTemplate({ countryAllowList: ['DE', 'AT'] });
    expect(rules[1]).toMatchObject({
      Name: 'CountryAllowList',
      Statement: { NotStatement: { Statement: { GeoMatchStatement: { CountryCodes: ['DE', 'AT'] } } } },
    });
  });

  it('refuses an allow-list scope without CIDRs', () => {
    expect(() => aclTemplate({ ipAllowListScope: 'all', ipAllowList: [] })).toThrow(
      /ipAllowList must list CIDRs/,
    );
  });
});

describe('Content-Length limit regex', () => {
  it.each([
    [0, '1', true],
    [65536, '65536', false],
    [65536, '65537', true],
    [65536, '65599', true],
    [65536, '70000', true],
    [65536, '99999', true],
    [65536, '100000', true],
    [65536, '65535', false],
    [65536, '9999', false],
    [65536, '0', false],
    [65536, '', false],
  ])('limit %i: %s -> %s', (limit, value, above) => {
    expect(new RegExp(numberAboveRegex(limit)).test(value)).toBe(above);
  });

  it('agrees with numeric comparison on every value up to 200,000', () => {
    const regex = new RegExp(numberAboveRegex(65536));
    for (let n = 0; n <= 200_000; n += 7) expect(regex.test(String(n))).toBe(n > 65536);
  });
});
