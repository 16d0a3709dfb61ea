import { z } from 'zod';

/**
 * The monitoring section of an environment's configuration: alarm thresholds, where alerts
 * go besides `alertEmails`, and where runbooks live. Every field has a default taken from
 * the seeds (DESIGN.md section 9), so `monitoring: {}` is a complete configuration.
 */

const count = z.number().int().min(0);
const positiveCount = z.number().int().min(1);

/**
 * A spike threshold expressed the way the seeds state it: an expected (baseline) volume per
 * period and a factor above it, e.g. seed 001's "data exfiltration: >10x normal volume" and
 * "API abuse: >200% of baseline". The alarm threshold is `baseline * factor`.
 */
const spike = (baseline: number, factor: number) =>
  z
    .object({
      /** Normal volume per alarm period in this environment (measure it, then set it). */
      baseline: positiveCount.default(baseline),
      /** How many times the baseline counts as a spike. */
      factor: z.number().min(1.5).max(100).default(factor),
    })
    .strict()
    .prefault({});

const thresholdsSchema = z
  .object({
    /** Failed authentications (our `AuthFailure`, ALB and Cognito sign-in failures) per 5 minutes. Seed: > 5 in 5 min. */
    authFailuresPer5Min: positiveCount.default(5),
    /** Authorization denials per 5 minutes above which the alarm fires. Seed: any occurrence (0). */
    authzDeniedPer5Min: count.default(0),
    /** Prompt-injection detections (blocked by the local engine) per 5 minutes. */
    promptInjectionsPer5Min: positiveCount.default(10),
    /** Guardrail decisions (any layer, category or action) per 5 minutes. */
    guardrailDecisionsPer5Min: positiveCount.default(50),
    /** WAF blocked requests per 5 minutes: baseline x factor (seed: API abuse > 200% of baseline). */
    wafBlocked: spike(100, 2),
    /** Per-user rate-limit refusals per 5 minutes: baseline x factor. */
    rateLimited: spike(20, 2),
    /** Daily-token-budget refusals per hour: baseline x factor. */
    quotaExceeded: spike(10, 2),
    /** GDPR exports per hour: baseline x factor (seed: exfiltration > 10x normal volume). */
    dataExports: spike(5, 10),
    /** GDPR erasures per hour: baseline x factor. */
    dataErasures: spike(5, 10),
    /** Load balancer and target 5xx as a percentage of requests (5-minute periods, 2 of 3). */
    http5xxPercent: z.number().min(0.1).max(100).default(5),
    /** Requests per 5 minutes below which the 5xx rate is not judged (one error in two requests is not an outage). */
    http5xxMinRequests: positiveCount.default(20),
    /** Lambda errors per function per 5 minutes. */
    lambdaErrorsPer5Min: count.default(3),
    /** Alarm when a function's p99 duration exceeds this share of its timeout (percent). */
    lambdaDurationPercentOfTimeout: z.number().int().min(10).max(100).default(80),
    /** Bedrock throttles per 5 minutes. */
    bedrockThrottlesPer5Min: count.default(5),
    /** Bedrock (and guardrail) call failures per 5 minutes. */
    bedrockErrorsPer5Min: count.default(5),
    /**
     * Age of the oldest audit stream record the archiver has not yet processed (minutes). At
     * least 10: the stream mapping waits up to 300 s to fill a batch
     * (ARCHIVE_BATCHING_WINDOW_SECONDS, lib/stacks/api/audit-archiver.ts), so a threshold near
     * 5 minutes would alarm on the batching window alone.
     */
    archiveLagMinutes: positiveCount.min(10).max(1440).default(15),
  })
  .strict()
  .prefault({});

/** The monitoring section (see the module comment). */
export const monitoringConfigSchema = z
  .object({
    thresholds: thresholdsSchema,
    /**
     * Base of the runbook links in alarm descriptions, e.g. the repository's web URL of
     * `docs/runbooks`. Without it the link is the repository-relative path.
     */
    runbookBaseUrl: z
      .url({ protocol: /^https$/, error: 'must be an https URL' })
      .refine((u) => !u.endsWith('/'), { message: 'must not end with a slash' })
      .optional(),
    /**
     * An HTTPS endpoint (chat webhook relay, incident tool) subscribed to both alert topics.
     * SNS sends it a subscription confirmation first; it receives SNS JSON envelopes.
     */
    webhookUrl: z.url({ protocol: /^https$/, error: 'must be an https URL' }).optional(),
  })
  .strict()
  .prefault({});

/** The parsed monitoring section. */
export type MonitoringConfig = z.infer<typeof monitoringConfigSchema>;
/** What a config file may contain for it. */
export type MonitoringConfigInput = z.input<typeof monitoringConfigSchema>;
