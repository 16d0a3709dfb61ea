import { z } from 'zod';
import { guardrailPolicySchema } from './guardrail-policy';
import { identityConfigSchema } from './identity-config';
import { monitoringConfigSchema } from './monitoring-config';

/**
 * The schema every environment's configuration must satisfy. Parsed once in bin/, so a
 * bad value fails synth with the field's path before any construct is built.
 */

const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const region = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as eu-central-1');
const cidrV4 = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/,
    'must be an IPv4 CIDR such as 10.0.0.0/16',
  );

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const logRetentionDays = z
  .number()
  .int()
  .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
    message: `must be one of the CloudWatch Logs retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
  })
  .refine((d) => d >= 365, {
    message:
      'must be at least 365 days (Control Tower CT.CLOUDWATCH.PR.2; PCI DSS 10.7 keeps audit logs a year)',
  });

/** A Bedrock model (or cross-region inference profile) the chat function may call. */
const allowedModel = z
  .object({
    /**
     * Model id as passed to Converse, e.g. `amazon.nova-lite-v1:0` or an inference profile id
     * such as `eu.anthropic.claude-haiku-4-5-20251001-v1:0`. Its friendly name and lifecycle
     * dates come from lib/config/model-catalogue.ts.
     */
    id: z
      .string()
      .regex(/^[a-z0-9.-]+(:\d+)?(:[a-z0-9]+)?$/i, 'must be a Bedrock model or inference profile id'),
    /** Whether `id` is a cross-region inference profile (its IAM resources differ). */
    inferenceProfile: z.boolean().default(false),
    /** Regions an inference profile may route to; IAM must allow the foundation model in each. */
    profileRegions: z.array(region).default([]),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.inferenceProfile && m.profileRegions.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['profileRegions'],
        message: 'an inference profile needs its regions',
      });
    }
  });

const networkSchema = z
  .object({
    /** CIDR of the VPC. */
    vpcCidr: cidrV4,
    /** Availability zones to span, named explicitly so synth never looks them up. */
    availabilityZones: z
      .array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/, 'must be an AZ name'))
      .min(1),
    /** Number of AZs used; must not exceed the list above. */
    maxAzs: z.number().int().min(1).max(6),
    /**
     * Give the compute subnets a route to the internet through NAT. Off by default: the
     * functions reach AWS only through VPC endpoints. Turning it on is a reviewed decision.
     */
    natEgress: z.boolean().default(false),
    /**
     * Zones that get interface endpoints (the first N; default: all of maxAzs). Functions in
     * a zone without one reach the endpoint in another zone: its DNS name resolves to the
     * interfaces of every zone it has, and one per zone in two or more zones is what keeps it
     * up through a zone failure
     * (https://docs.aws.amazon.com/vpc/latest/userguide/vpce-interface.html). The production
     * tier must keep at least two (checked below); the development tier may use one.
     */
    interfaceEndpointAzs: z.number().int().min(1).max(6).optional(),
  })
  .strict()
  .superRefine((n, ctx) => {
    if (n.interfaceEndpointAzs !== undefined && n.interfaceEndpointAzs > n.maxAzs) {
      ctx.addIssue({
        code: 'custom',
        path: ['interfaceEndpointAzs'],
        message: `is ${n.interfaceEndpointAzs} but the VPC spans only ${n.maxAzs} availability zones`,
      });
    }
    if (n.maxAzs > n.availabilityZones.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxAzs'],
        message: `is ${n.maxAzs} but only ${n.availabilityZones.length} availability zones are listed`,
      });
    }
  });

const auditSchema = z
  .object({
    /**
     * Object Lock mode of the audit archive. COMPLIANCE cannot be lifted by anyone, root
     * included, until retention ends; GOVERNANCE can be by a privileged principal.
     */
    objectLockMode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
    /** Days each archived audit batch is locked and kept. */
    archiveRetentionDays: z.number().int().min(1).max(3650),
    /** Days audit events stay queryable in the table before TTL removes them (the archive keeps them). */
    tableRetentionDays: z.number().int().min(1).max(3650),
  })
  .strict();

const backupSchema = z
  .object({
    /** AWS Backup plan for tables and buckets (its own vault and CMK). */
    enabled: z.boolean(),
    /** Daily recovery points are kept this many days. */
    retentionDays: z.number().int().min(1).max(36500),
    /** Vault lock: recovery points cannot be deleted early, not even by an administrator. */
    vaultLock: z.boolean(),
  })
  .strict();

/** A DNS host name such as chat.example.com (lower case, at least two labels). */
const hostName = z
  .string()
  .max(253)
  .regex(
    /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/,
    'must be a lower-case DNS name such as chat.example.com',
  );

/**
 * Where the HTTPS listener's certificate comes from: an existing ACM certificate (in the
 * environment's region), or a new DNS-validated one in a Route 53 hosted zone named here
 * (id and name, so synthesis never looks the zone up).
 */
const certificateSchema = z.discriminatedUnion('source', [
  z
    .object({
      source: z.literal('arn'),
      arn: z
        .string()
        .regex(
          /^arn:aws[a-z-]*:acm:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:certificate\/[0-9a-f-]{36}$/,
          'must be an ACM certificate ARN such as arn:aws:acm:eu-central-1:111111111111:certificate/<uuid>',
        ),
    })
    .strict(),
  z
    .object({
      source: z.literal('hostedZone'),
      hostedZoneId: z
        .string()
        .regex(/^Z[A-Z0-9]{1,31}$/, 'must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ'),
      zoneName: hostName,
    })
    .strict(),
]);

const edgeSchema = z
  .object({
    /** Certificate of the HTTPS listener. */
    certificate: certificateSchema,
    /** Host name clients use; the certificate covers it and it must equal identity.callbackHost. */
    hostName,
    /** Internal load balancer (private subnets, needs NAT to reach Cognito) instead of internet-facing. */
    internal: z.boolean().default(false),
    /** Lifetime of the load balancer's sign-in session cookie (ALB allows 1 s to 7 days). */
    sessionTimeoutSeconds: z
      .number()
      .int()
      .min(300, 'must be at least 300 seconds')
      .max(604_800, 'must be at most 604800 seconds (7 days, the ALB maximum)'),
    /** Days the load balancer's access logs are kept. */
    accessLogRetentionDays: z.number().int().min(1).max(3650),
    /**
     * Requests per minute per credential (bearer token, API key or sign-in session), all paths
     * (WAF rate-based rules with custom aggregation keys).
     */
    rateLimitPerMinute: z.number().int().min(10).max(100_000),
    /** Requests per minute per credential on `POST /api/v1/chat`. */
    chatRateLimitPerMinute: z.number().int().min(10).max(100_000),
    /**
     * Requests per minute per client IP, all paths: a ceiling for everyone behind one address
     * (a company NAT), well above one credential's limit. @default 20 x rateLimitPerMinute
     */
    ipRateCeilingPerMinute: z.number().int().min(10).max(2_000_000_000).optional(),
    /** What WAF rule AI-001 does with a body that contains a known injection phrase. */
    promptInjectionAction: z.enum(['COUNT', 'BLOCK']),
    /** AWS managed Anonymous IP list (VPNs, Tor, hosting providers). */
    anonymousIpList: z.boolean(),
    /** AWS managed Bot Control (common level; billed per request). */
    botControl: z.boolean(),
    /** Client CIDRs admitted when an IP allow-list applies. */
    ipAllowList: z.array(cidrV4).default([]),
    /** Where the IP allow-list applies: nowhere, only `/api/v1/admin/*`, or everything. */
    ipAllowListScope: z.enum(['none', 'admin', 'all']).default('none'),
    /** ISO 3166 alpha-2 country codes admitted; empty = every country. */
    countryAllowList: z.array(z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code')).default([]),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.ipAllowListScope !== 'none' && e.ipAllowList.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['ipAllowList'],
        message: 'must list CIDRs when ipAllowListScope is not none',
      });
    }
    if (e.ipRateCeilingPerMinute !== undefined && e.ipRateCeilingPerMinute < e.rateLimitPerMinute) {
      ctx.addIssue({
        code: 'custom',
        path: ['ipRateCeilingPerMinute'],
        message: 'must be at least rateLimitPerMinute: one address may carry many credentials',
      });
    }
    if (e.chatRateLimitPerMinute > e.rateLimitPerMinute) {
      ctx.addIssue({
        code: 'custom',
        path: ['chatRateLimitPerMinute'],
        message: 'must not exceed rateLimitPerMinute',
      });
    }
    if (
      e.certificate.source === 'hostedZone' &&
      e.hostName !== e.certificate.zoneName &&
      !e.hostName.endsWith(`.${e.certificate.zoneName}`)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['hostName'],
        message: `must be in the hosted zone ${e.certificate.zoneName} that validates the certificate`,
      });
    }
  });

/** One environment (dev, staging, prod). */
export const environmentConfigSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{1,15}$/, 'must be lower-case letters, digits and dashes'),
    /**
     * What the environment is for, stated rather than inferred from its name. `development`
     * may destroy its data, skip termination protection, audit-only threat protection and
     * smaller token budgets; `production` (staging and prod) may not.
     */
    tier: z.enum(['development', 'production']),
    account: accountId,
    region,
    /** Data classification tag applied to every resource. */
    dataClassification: z.enum(['public', 'internal', 'confidential', 'restricted']),
    network: networkSchema,
    /** Retention of every CloudWatch log group (days). */
    logRetentionDays,
    /** Days chat data lives before DynamoDB TTL removes it. */
    dataRetentionDays: z.number().int().min(1).max(3650),
    /**
     * `destroy` only for throw-away environments: stateful resources (keys, tables,
     * buckets, the user pool) are deleted with the stack. Anything else retains them.
     */
    removalPolicy: z.enum(['destroy', 'retain']),
    /** CloudFormation termination protection for the stateful stacks. */
    terminationProtection: z.boolean(),
    /** Who receives alarm notifications. */
    alertEmails: z.array(z.email('must be an email address')).min(1),
    /** Client CIDRs the load balancer admits; `0.0.0.0/0` means everyone. */
    allowedIngressCidrs: z.array(cidrV4).min(1),
    audit: auditSchema,
    edge: edgeSchema,
    identity: identityConfigSchema,
    backup: backupSchema,
    /** Alarm thresholds, alert webhook and runbook links (lib/config/monitoring-config.ts). */
    monitoring: monitoringConfigSchema,
    /** Bedrock guardrail and local policy engine settings (lib/config/guardrail-policy.ts). */
    guardrail: guardrailPolicySchema,
    /**
     * Reserved concurrency per serving function: a ceiling on what one flood (or one runaway
     * client) can spend, and a floor no other function can starve. Optional: Lambda keeps 100
     * of the account's concurrency unreserved, so reserving needs an account quota of at least
     * the total + 100 (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html),
     * and new accounts often have 10 or 50. Absent, no function of the environment reserves
     * any (control-plane triggers included); `npm run synth` prints the quota each needs.
     */
    reservedConcurrency: z
      .object({
        chat: z.number().int().min(1).max(1000),
        history: z.number().int().min(1).max(1000),
        keys: z.number().int().min(1).max(1000),
        admin: z.number().int().min(1).max(1000),
        web: z.number().int().min(1).max(1000),
        health: z.number().int().min(1).max(1000),
      })
      .strict()
      .optional(),
    /**
     * The chat route. `streaming`: `POST /api/v1/chat` with `Accept: text/event-stream` streams
     * the reply (issue 20, docs/streaming.md) through a private REST API behind the load
     * balancer; it adds an `execute-api` interface endpoint (billed per AZ-hour in each
     * endpoint zone). Off, such a request is answered whole, as without the header.
     */
    chat: z.object({ streaming: z.boolean() }).strict().default({ streaming: false }),
    models: z
      .object({
        allowList: z.array(allowedModel).min(1),
        /** Id of the model used when a request names none; must be in the allow-list. */
        defaultModelId: z.string(),
      })
      .strict()
      .superRefine((m, ctx) => {
        if (!m.allowList.some((model) => model.id === m.defaultModelId)) {
          ctx.addIssue({
            code: 'custom',
            path: ['defaultModelId'],
            message: 'must be one of models.allowList[].id',
          });
        }
        const ids = m.allowList.map((model) => model.id);
        if (new Set(ids).size !== ids.length) {
          ctx.addIssue({ code: 'custom', path: ['allowList'], message: 'model ids must be unique' });
        }
      }),
  })
  .strict()
  .superRefine((env, ctx) => {
    const production = env.tier === 'production';
    if (production && env.removalPolicy === 'destroy') {
      ctx.addIssue({
        code: 'custom',
        path: ['removalPolicy'],
        message: 'must be retain in the production tier',
      });
    }
    if (production && !env.terminationProtection) {
      ctx.addIssue({
        code: 'custom',
        path: ['terminationProtection'],
        message: 'must be true in the production tier',
      });
    }
    if (production && env.audit.objectLockMode !== 'COMPLIANCE') {
      ctx.addIssue({
        code: 'custom',
        path: ['audit', 'objectLockMode'],
        message: 'must be COMPLIANCE in the production tier',
      });
    }
    const endpointZones = env.network.interfaceEndpointAzs ?? env.network.maxAzs;
    if (production && endpointZones < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'interfaceEndpointAzs'],
        message: `is ${endpointZones}, but the production tier needs interface endpoints in at least 2 zones to survive a zone failure`,
      });
    }
    if (env.audit.archiveRetentionDays < env.audit.tableRetentionDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['audit', 'archiveRetentionDays'],
        message: 'must be at least audit.tableRetentionDays: the archive is the record of last resort',
      });
    }
    for (const [i, az] of env.network.availabilityZones.entries()) {
      if (!az.startsWith(env.region)) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'availabilityZones', i],
          message: `${az} is not in region ${env.region}`,
        });
      }
    }
  });

/** A parsed, validated environment configuration. */
export type EnvironmentConfig = z.infer<typeof environmentConfigSchema>;
/** What a config file may contain before defaults are applied. */
export type EnvironmentConfigInput = z.input<typeof environmentConfigSchema>;
