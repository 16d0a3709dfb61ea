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
  /** Requests per minute per client IP, all paths. */
  readonly rateLimitPerMinute: number;
  /** Requests per minute per client IP on `POST /api/v1/chat`. */
  readonly chatRateLimitPerMinute: number;
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
    rules.push({
      name: 'RatePerIp',
      priority: next(),
      action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: TOO_MANY } } },
      statement: {
        rateBasedStatement: {
          limit: props.rateLimitPerMinute,
          evaluationWindowSec: 60,
          aggregateKeyType: 'IP',
        },
      },
      visibilityConfig: visibility('RatePerIp'),
    });
    rules.push({
      name: 'ChatRatePerIp',
      priority: next(),
      action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: TOO_MANY } } },
      statement: {
        rateBasedStatement: {
          limit: props.chatRateLimitPerMinute,
          evaluationWindowSec: 60,
          aggregateKeyType: 'IP',
          scopeDownStatement: {
            byteMatchStatement: {
              fieldToMatch: { uriPath: {} },
              positionalConstraint: 'EXACTLY',
              searchString: '/api/v1/chat',
              textTransformations: [{ priority: 0, type: 'LOWERCASE' }],
            },
          },
        },
      },
      visibilityConfig: visibility('ChatRatePerIp'),
    });
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
    if (props.anonymousIpList) rules.push(managedGroup('AWSManagedRulesAnonymousIpList', next()));
    // The Common set's body-size rule blocks bodies over 8 KiB, i.e. any long chat message;
    // it only counts here, and BodySizeLimit above is the limit that applies.
    rules.push(
      managedGroup('AWSManagedRulesCommonRuleSet', next(), { overrides: ['SizeRestrictions_BODY'] }),
    );
    rules.push(managedGroup('AWSManagedRulesKnownBadInputsRuleSet', next()));
    rules.push(managedGroup('AWSManagedRulesSQLiRuleSet', next()));
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
