import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { promptInjectionRegexes } from '../edge/prompt-injection-phrases';
import { EncryptedLogGroup } from './encrypted-log-group';

/** Properties of {@link WebAcl}. */
export interface WebAclProps {
  readonly envName: string;
  /** Requests per minute per credential (bearer token, API key or sign-in session), all paths. */
  readonly rateLimitPerMinute: number;
  /** Requests per minute per credential on `POST /api/v1/chat`. */
  readonly chatRateLimitPerMinute: number;
  /**
   * Requests per minute per client IP, all paths: a ceiling well above one user's limit, so a
   * company behind one NAT is not throttled as one client. @default 20 x rateLimitPerMinute
   */
  readonly ipRateCeilingPerMinute?: number;
  /** AI-001 action. */
  readonly promptInjectionAction: 'COUNT' | 'BLOCK';
  /** @default false */
  readonly anonymousIpList?: boolean;
  /** @default false */
  readonly botControl?: boolean;
  /** @default [] */
  readonly ipAllowList?: readonly string[];
  /** @default 'none' */
  readonly ipAllowListScope?: 'none' | 'admin' | 'all';
  /** @default [] (every country) */
  readonly countryAllowList?: readonly string[];
  /** Largest request body accepted, by its Content-Length. @default 65536 */
  readonly maxBodyBytes?: number;
  readonly logsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const TOO_MANY = 'TooManyRequests';

/** Where a credential travels: bearer token, personal API key, the ALB's sign-in session cookie. */
const CREDENTIAL_KEYS: ReadonlyArray<[string, wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty]> = [
  ['Token', { header: { name: 'authorization', textTransformations: [{ priority: 0, type: 'NONE' }] } }],
  ['ApiKey', { header: { name: 'x-api-key', textTransformations: [{ priority: 0, type: 'NONE' }] } }],
  [
    'Session',
    { cookie: { name: 'AWSELBAuthSessionCookie-0', textTransformations: [{ priority: 0, type: 'NONE' }] } },
  ],
];

/** A statement matching requests that carry the credential component `key` names. */
function carries(
  key: wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty,
): wafv2.CfnWebACL.StatementProperty {
  const header = (key as { header?: { name: string } }).header;
  const cookie = (key as { cookie?: { name: string } }).cookie;
  return {
    sizeConstraintStatement: {
      fieldToMatch: header
        ? { singleHeader: { Name: header.name } }
        : {
            cookies: {
              matchPattern: { includedCookies: [cookie!.name] },
              matchScope: 'VALUE',
              oversizeHandling: 'MATCH',
            },
          },
      comparisonOperator: 'GT',
      size: 0,
      textTransformations: [{ priority: 0, type: 'NONE' }],
    },
  };
}

/** Common rule set rules that inspect the body (counted, then blocked outside the chat route). */
export const COMMON_BODY_RULES = [
  'CrossSiteScripting_BODY',
  'GenericLFI_BODY',
  'GenericRFI_BODY',
  'EC2MetaDataSSRF_BODY',
] as const;
/** SQL database rule set rules that inspect the body. */
export const SQLI_BODY_RULES = ['SQLi_BODY', 'SQLiExtendedPatterns_BODY'] as const;
/** Labels those rules add (the rule name with `_Body`, under each group's label namespace). */
export const BODY_RULE_LABELS = [
  ...COMMON_BODY_RULES.map((r) => `awswaf:managed:aws:core-rule-set:${r.replace(/_BODY$/, '_Body')}`),
  ...SQLI_BODY_RULES.map((r) => `awswaf:managed:aws:sql-database:${r.replace(/_BODY$/, '_Body')}`),
];
const HOSTING_PROVIDER_LABEL = 'awswaf:managed:aws:anonymous-ip-list:HostingProviderIPList';
const BLOCKED = 'Blocked';

const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  sampledRequestsEnabled: true,
  metricName,
});

const managedGroup = (
  name: string,
  priority: number,
  options: { overrides?: string[]; config?: wafv2.CfnWebACL.ManagedRuleGroupConfigProperty[] } = {},
): wafv2.CfnWebACL.RuleProperty => ({
  name: `AWS-${name}`,
  priority,
  overrideAction: { none: {} },
  statement: {
    managedRuleGroupStatement: {
      vendorName: 'AWS',
      name,
      ...(options.overrides
        ? {
            ruleActionOverrides: options.overrides.map((rule) => ({
              name: rule,
              actionToUse: { count: {} },
            })),
          }
        : {}),
      ...(options.config ? { managedRuleGroupConfigs: options.config } : {}),
    },
  },
  visibilityConfig: visibility(`AWS-${name}`),
});

/**
 * The regional web ACL in front of the load balancer and the Cognito user pool (DESIGN.md
 * section 6, layer 0). Rule order is deliberate: allow-lists first (cheap, decisive),
 * then per-IP rate limits (so floods never reach the costlier inspections), then our
 * body-size limit, AWS managed groups, and last AI-001, a coarse prompt-injection screen.
 * Every rule publishes metrics and sampled requests; logs redact credentials.
 */
/** Name of an environment's web ACL (unique per account and region). */
export function webAclName(envName: string): string {
  return `omnichat-${envName}-web-acl`;
}

export class WebAcl extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly logGroup: logs.LogGroup;
  /** Logging of the ACL (the user pool's association waits for it). */
  readonly loggingConfiguration: wafv2.CfnLoggingConfiguration;
  /** IP set of the allow-list, when configured. */
  readonly ipAllowSet?: wafv2.CfnIPSet;
  /**
   * Incident containment: addresses blocked before any other rule. Empty at deploy; the
   * runbooks add to it with `aws wafv2 update-ip-set` (docs/runbooks/README.md). CloudFormation
   * owns the set, so a later deploy resets it: containment is temporary by design, and a
   * lasting block belongs in config.
   */
  readonly blockedIpSet: wafv2.CfnIPSet;

  constructor(scope: Construct, id: string, props: WebAclProps) {
    super(scope, id);
    const maxBodyBytes = props.maxBodyBytes ?? 65_536;
    const scopeOfAllowList = props.ipAllowListScope ?? 'none';
    if (scopeOfAllowList !== 'none' && (props.ipAllowList ?? []).length === 0) {
      throw new Error('WebAcl: ipAllowList must list CIDRs when ipAllowListScope is not none');
    }
    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    let priority = 0;
    const next = () => (priority += 10);

    this.blockedIpSet = new wafv2.CfnIPSet(this, 'BlockedIps', {
      name: `omnichat-${props.envName}-blocked-ips`,
      scope: 'REGIONAL',
      ipAddressVersion: 'IPV4',
      addresses: [],
      description: `OmniChat ${props.envName}: addresses blocked during an incident, see the runbooks`,
    });
    rules.push({
      name: 'IncidentBlockList',
      priority: next(),
      action: { block: { customResponse: { responseCode: 403, customResponseBodyKey: BLOCKED } } },
      statement: { ipSetReferenceStatement: { arn: this.blockedIpSet.attrArn } },
      visibilityConfig: visibility('IncidentBlockList'),
    });

    if (scopeOfAllowList !== 'none') {
      const ipSet = new wafv2.CfnIPSet(this, 'AllowedIps', {
        scope: 'REGIONAL',
        ipAddressVersion: 'IPV4',
        addresses: [...(props.ipAllowList ?? [])],
        description: `OmniChat ${props.envName}: client CIDRs admitted (${scopeOfAllowList})`,
      });
      this.ipAllowSet = ipSet;
      const notAllowed: wafv2.CfnWebACL.StatementProperty = {
        notStatement: { statement: { ipSetReferenceStatement: { arn: ipSet.attrArn } } },
      };
      rules.push({
        name: 'IpAllowList',
        priority: next(),
        action: { block: { customResponse: { responseCode: 403, customResponseBodyKey: BLOCKED } } },
        statement:
          scopeOfAllowList === 'all'
            ? notAllowed
            : {
                andStatement: {
                  statements: [
                    notAllowed,
                    {
                      byteMatchStatement: {
                        fieldToMatch: { uriPath: {} },
                        positionalConstraint: 'STARTS_WITH',
                        searchString: '/api/v1/admin/',
                        // As the load balancer routes it: `/api/v1/%61dmin/`, `/api/v1/x/../admin/`
                        // and `/API/V1/ADMIN/` must not slip past the allow-list.
                        textTransformations: [
                          { priority: 0, type: 'URL_DECODE' },
                          { priority: 1, type: 'NORMALIZE_PATH' },
                          { priority: 2, type: 'LOWERCASE' },
                        ],
                      },
                    },
                  ],
                },
              },
        visibilityConfig: visibility('IpAllowList'),
      });
    }
    if ((props.countryAllowList ?? []).length > 0) {
      rules.push({
        name: 'CountryAllowList',
        priority: next(),
        action: { block: { customResponse: { responseCode: 403, customResponseBodyKey: BLOCKED } } },
        statement: {
          notStatement: {
            statement: { geoMatchStatement: { countryCodes: [...(props.countryAllowList ?? [])] } },
          },
        },
        visibilityConfig: visibility('CountryAllowList'),
      });
    }
    // Per-IP limits punish everyone behind one company NAT, so the per-IP rule is only a high
    // ceiling; the real limits are per credential, with WAF custom aggregation keys on the
    // header or cookie that carries it. A request without that component is not counted by
    // that rule (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-aggregation-options.html),
    // so each carrier gets its own rule. The key is the raw value: WAF never validates it,
    // the ALB and the function do; a forged value only spends its own budget.
    const ipCeiling = props.ipRateCeilingPerMinute ?? props.rateLimitPerMinute * 20;
    rules.push({
      name: 'RatePerIp',
      priority: next(),
      action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: TOO_MANY } } },
      statement: {
        rateBasedStatement: { limit: ipCeiling, evaluationWindowSec: 60, aggregateKeyType: 'IP' },
      },
      visibilityConfig: visibility('RatePerIp'),
    });
    const chatPath: wafv2.CfnWebACL.StatementProperty = {
      byteMatchStatement: {
        fieldToMatch: { uriPath: {} },
        positionalConstraint: 'EXACTLY',
        searchString: '/api/v1/chat',
        textTransformations: [{ priority: 0, type: 'LOWERCASE' }],
      },
    };
    for (const [carrier, key] of CREDENTIAL_KEYS) {
      for (const chatOnly of [false, true]) {
        const name = `${chatOnly ? 'ChatRatePer' : 'RatePer'}${carrier}`;
        rules.push({
          name,
          priority: next(),
          action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: TOO_MANY } } },
          statement: {
            rateBasedStatement: {
              limit: chatOnly ? props.chatRateLimitPerMinute : props.rateLimitPerMinute,
              evaluationWindowSec: 60,
              aggregateKeyType: 'CUSTOM_KEYS',
              customKeys: [key],
              ...(chatOnly ? { scopeDownStatement: chatPath } : {}),
            },
          },
          visibilityConfig: visibility(name),
        });
      }
    }
    // WAF inspects at most the first 8 KiB of an ALB request body, so the size limit is
    // enforced on the declared Content-Length here (a regex for "a number above the
    // limit": WAF has no numeric header comparison) and on the real bytes in the function.
    rules.push({
      name: 'BodySizeLimit',
      priority: next(),
      action: { block: { customResponse: { responseCode: 413, customResponseBodyKey: BLOCKED } } },
      statement: {
        regexMatchStatement: {
          fieldToMatch: { singleHeader: { Name: 'content-length' } },
          regexString: numberAboveRegex(maxBodyBytes),
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      },
      visibilityConfig: visibility('BodySizeLimit'),
    });
    rules.push(managedGroup('AWSManagedRulesAmazonIpReputationList', next()));
    // The hosting-provider rule blocks every client that runs in a cloud, which includes the
    // API integrations this service exists for: it only labels here, and the rule below
    // blocks those addresses only when the request carries no credential.
    if (props.anonymousIpList) {
      rules.push(
        managedGroup('AWSManagedRulesAnonymousIpList', next(), { overrides: ['HostingProviderIPList'] }),
      );
    }
    // Body rules of the Common set and the SQL-injection set would 403 a user who pastes
    // code, SQL or HTML into a chat; the chat text is checked by the local policy engine and
    // the Bedrock guardrail instead. They count (and label) everywhere and a rule below
    // blocks their labels on every path but /api/v1/chat
    // (https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html,
    // https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-use-case.html).
    // The Common set's body-size rule only counts anywhere: BodySizeLimit above applies.
    rules.push(
      managedGroup('AWSManagedRulesCommonRuleSet', next(), {
        overrides: ['SizeRestrictions_BODY', ...COMMON_BODY_RULES],
      }),
    );
    rules.push(managedGroup('AWSManagedRulesKnownBadInputsRuleSet', next()));
    rules.push(managedGroup('AWSManagedRulesSQLiRuleSet', next(), { overrides: [...SQLI_BODY_RULES] }));
    const labelled = (labels: readonly string[]): wafv2.CfnWebACL.StatementProperty =>
      labels.length === 1
        ? { labelMatchStatement: { scope: 'LABEL', key: labels[0]! } }
        : {
            orStatement: {
              statements: labels.map((key) => ({ labelMatchStatement: { scope: 'LABEL', key } })),
            },
          };
    rules.push({
      name: 'BodyRulesOutsideChat',
      priority: next(),
      action: { block: { customResponse: { responseCode: 403, customResponseBodyKey: BLOCKED } } },
      statement: {
        andStatement: {
          statements: [labelled(BODY_RULE_LABELS), { notStatement: { statement: chatPath } }],
        },
      },
      visibilityConfig: visibility('BodyRulesOutsideChat'),
    });
    if (props.anonymousIpList) {
      rules.push({
        name: 'HostingProviderWithoutCredential',
        priority: next(),
        action: { block: { customResponse: { responseCode: 403, customResponseBodyKey: BLOCKED } } },
        statement: {
          andStatement: {
            statements: [
              labelled([HOSTING_PROVIDER_LABEL]),
              ...CREDENTIAL_KEYS.map(([, key]) => ({ notStatement: { statement: carries(key) } })),
            ],
          },
        },
        visibilityConfig: visibility('HostingProviderWithoutCredential'),
      });
    }
    if (props.botControl) {
      rules.push(
        // API clients (SDKs, curl, machine clients) are legitimate non-browsers here: the two
        // rules that block by user agent alone only count; verified bots and the rest block.
        managedGroup('AWSManagedRulesBotControlRuleSet', next(), {
          overrides: ['SignalNonBrowserUserAgent', 'CategoryHttpLibrary'],
          config: [{ awsManagedRulesBotControlRuleSet: { inspectionLevel: 'COMMON' } }],
        }),
      );
    }
    // Matched case-insensitively after decoding, so JSON escapes and URL encoding cannot
    // split a phrase; as regex alternations to keep the rule's capacity small.
    const aiStatements: wafv2.CfnWebACL.StatementProperty[] = promptInjectionRegexes().map((regexString) => ({
      regexMatchStatement: {
        fieldToMatch: { body: { oversizeHandling: 'CONTINUE' } },
        regexString,
        textTransformations: [
          { priority: 0, type: 'URL_DECODE' },
          { priority: 1, type: 'JS_DECODE' },
          { priority: 2, type: 'LOWERCASE' },
          { priority: 3, type: 'COMPRESS_WHITE_SPACE' },
        ],
      },
    }));
    rules.push({
      name: 'AI-001-PromptInjectionPhrases',
      priority: next(),
      action:
        props.promptInjectionAction === 'BLOCK'
          ? { block: { customResponse: { responseCode: 400, customResponseBodyKey: BLOCKED } } }
          : { count: {} },
      statement: aiStatements.length === 1 ? aiStatements[0]! : { orStatement: { statements: aiStatements } },
      visibilityConfig: visibility('AI-001'),
    });

    const errorBody = (code: string, message: string) =>
      JSON.stringify({ error: { code, message, requestId: 'edge' } });
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      // Named, so its CloudWatch metrics (published under the name) can be alarmed on from
      // another stack without parsing the Ref.
      name: webAclName(props.envName),
      scope: 'REGIONAL',
      description: `OmniChat ${props.envName}: edge protection for the load balancer and user pool`,
      defaultAction: { allow: {} },
      rules,
      customResponseBodies: {
        [TOO_MANY]: {
          contentType: 'APPLICATION_JSON',
          content: errorBody('rate_limited', 'Too many requests. Please retry later.'),
        },
        [BLOCKED]: {
          contentType: 'APPLICATION_JSON',
          content: errorBody('blocked', 'The request was blocked.'),
        },
      },
      visibilityConfig: visibility(`omnichat-${props.envName}`),
    });

    // WAF requires the log group name to start with aws-waf-logs-.
    this.logGroup = new EncryptedLogGroup(this, 'Logs', {
      encryptionKey: props.logsKey,
      retention: props.logRetention,
      logGroupName: `aws-waf-logs-omnichat-${props.envName}-${Stack.of(this).region}`,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    }).logGroup;
    this.loggingConfiguration = new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [this.logGroup.logGroupArn],
      // Credentials never reach the logs: tokens, session cookies and personal API keys.
      redactedFields: [
        { singleHeader: { Name: 'authorization' } },
        { singleHeader: { Name: 'cookie' } },
        { singleHeader: { Name: 'x-api-key' } },
      ],
    });
  }

  /** Associates the ACL with a load balancer or user pool. */
  associate(id: string, resourceArn: string): wafv2.CfnWebACLAssociation {
    return new wafv2.CfnWebACLAssociation(this, id, { resourceArn, webAclArn: this.webAcl.attrArn });
  }
}

/**
 * A regular expression matching decimal integers (no leading zeros) greater than `limit`:
 * every longer number, and for each digit position, the same prefix with a larger digit.
 */
export function numberAboveRegex(limit: number): string {
  if (!Number.isInteger(limit) || limit < 0)
    throw new Error('numberAboveRegex: limit must be a non-negative integer');
  const digits = String(limit);
  const alternatives = [`[1-9]\\d{${digits.length},}`];
  for (let i = 0; i < digits.length; i++) {
    const d = Number(digits[i]);
    if (d === 9) continue;
    const rest = digits.length - i - 1;
    alternatives.push(`${digits.slice(0, i)}[${d + 1}-9]${rest > 0 ? `\\d{${rest}}` : ''}`);
  }
  return `^(${alternatives.join('|')})$`;
}
