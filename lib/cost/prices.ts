/**
 * The committed price table of `npm run cost`: list prices in USD for eu-central-1 (Frankfurt),
 * on-demand, without free tiers (they are per account or per organisation, and an
 * organisation's free tier is usually spent elsewhere; leaving them out errs on the safe side).
 *
 * Every price names its source page and the date it was read. `evidence` says how far the
 * stored copy of that page confirmed the figure: `source` = the figure itself was on it;
 * `regional` = the page (or a secondary source) showed the dimension and a us-east-1 or
 * global figure, and the Frankfurt figure is the one from AWS's regional price list as known
 * when the table was written: re-check those first when AWS changes prices.
 */

/** How the figure of a price was confirmed. */
export type PriceEvidence = 'source' | 'regional';

/** One price: amount, unit, and where it comes from. */
export interface Price {
  readonly usd: number;
  readonly unit: string;
  readonly region: string;
  readonly source: string;
  /** ISO date the source was read. */
  readonly retrieved: string;
  readonly evidence: PriceEvidence;
  readonly note?: string;
}

const REGION = 'eu-central-1';
const READ = '2026-11-23';

const price = (
  usd: number,
  unit: string,
  source: string,
  evidence: PriceEvidence,
  note?: string,
  region = REGION,
): Price => ({ usd, unit, region, source, retrieved: READ, evidence, ...(note ? { note } : {}) });

const VPC = 'https://aws.amazon.com/vpc/pricing/';
const PRIVATELINK = 'https://aws.amazon.com/privatelink/pricing/';
const ELB = 'https://aws.amazon.com/elasticloadbalancing/pricing/';
const WAF = 'https://aws.amazon.com/waf/pricing/';
const KMS = 'https://aws.amazon.com/kms/pricing/';
const CW = 'https://aws.amazon.com/cloudwatch/pricing/';
const SNS = 'https://aws.amazon.com/sns/pricing/';
const SQS = 'https://aws.amazon.com/sqs/pricing/';
const COGNITO = 'https://aws.amazon.com/cognito/pricing/';
const DDB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const S3 = 'https://aws.amazon.com/s3/pricing/';
const BACKUP = 'https://aws.amazon.com/backup/pricing/';
const XRAY = 'https://aws.amazon.com/xray/pricing/';
const BEDROCK = 'https://aws.amazon.com/bedrock/pricing/';
const ROUTE53 = 'https://aws.amazon.com/route53/pricing/';
const APIGW = 'https://aws.amazon.com/api-gateway/pricing/';

/** Hours in a billing month, as AWS's calculator uses. */
export const HOURS_PER_MONTH = 730;

/** The price table. Keys are stable: the cost model and the tests refer to them. */
export const PRICES = {
  interfaceEndpointHour: price(0.012, 'USD per endpoint per AZ-hour', PRIVATELINK, 'regional'),
  interfaceEndpointGb: price(
    0.01,
    'USD per GB processed (first PB per region)',
    PRIVATELINK,
    'source',
    'Tiers: first 1 PB $0.01, next 4 PB $0.006, above $0.004.',
  ),
  natGatewayHour: price(0.052, 'USD per NAT gateway-hour', VPC, 'regional'),
  natGatewayGb: price(0.052, 'USD per GB processed', VPC, 'regional'),
  publicIpv4Hour: price(
    0.005,
    'USD per public IPv4 address-hour',
    VPC,
    'source',
    'Since 2024-02-01, in use or idle, including service-managed addresses (ALB nodes, NAT).',
  ),
  albHour: price(0.027, 'USD per Application Load Balancer-hour', ELB, 'regional'),
  albLcuHour: price(
    0.009,
    'USD per LCU-hour',
    ELB,
    'regional',
    'LCU = max of 25 new conn/s, 3,000 active conn/min, 0.4 GB/h (Lambda targets), 1,000 rule evaluations/s (first 10 rules free).',
  ),
  wafWebAcl: price(5, 'USD per web ACL-month', WAF, 'source', 'Same in every region.'),
  wafRule: price(
    1,
    'USD per rule-month (a managed rule group counts as one rule)',
    WAF,
    'source',
    'Same in every region.',
  ),
  wafRequests: price(0.6, 'USD per million requests inspected', WAF, 'source'),
  wafBotControlMonth: price(
    10,
    'USD per web ACL-month using Bot Control (Common)',
    WAF,
    'source',
    'Subscription on top of the rule charge.',
  ),
  wafBotControlRequests: price(
    1,
    'USD per million requests inspected by Bot Control (Common)',
    WAF,
    'source',
    'AWS lists the first 10 M requests a month free at the Common level; not applied (free tiers are left out).',
  ),
  kmsKeyMonth: price(1, 'USD per customer managed key-month', KMS, 'source'),
  kmsRotationMonth: price(
    1,
    'USD per key-month for each of the first two rotations',
    KMS,
    'source',
    'Each rotated backing key adds $1/month; since May 2024 rotations after the second add nothing (cap $3/key-month).',
  ),
  kmsRequests: price(0.03, 'USD per 10,000 symmetric requests', KMS, 'source'),
  alarmStandardMetric: price(0.1, 'USD per standard-resolution alarm metric-month', CW, 'regional'),
  alarmHighResolutionMetric: price(0.3, 'USD per high-resolution alarm metric-month', CW, 'regional'),
  alarmAnomalyMetrics: price(
    3,
    'alarm metrics per anomaly detection alarm (metric + two band metrics)',
    CW,
    'source',
    'A count, not a price: multiplied by the standard metric price.',
  ),
  alarmComposite: price(0.5, 'USD per composite alarm-month', CW, 'regional'),
  alarmInsightsMetric: price(
    0.1,
    'USD per metric analyzed by a Metrics Insights query alarm-month',
    CW,
    'regional',
  ),
  dashboard: price(3, 'USD per custom dashboard-month', CW, 'source'),
  customMetric: price(0.3, 'USD per custom metric-month (first 10,000)', CW, 'source'),
  logsIngestionGb: price(0.63, 'USD per GB ingested (Standard class)', CW, 'regional'),
  vendedLogsIngestionGb: price(
    0.63,
    'USD per GB of vended logs delivered to CloudWatch Logs (first 10 TB)',
    CW,
    'regional',
    'VPC flow logs, WAF logs, Cognito auth event logs.',
  ),
  logsStorageGb: price(0.0324, 'USD per GB-month archived (compressed)', CW, 'regional'),
  logsDataProtectionGb: price(
    0.12,
    'USD per GB scanned by a log data protection policy',
    CW,
    'regional',
    'Seen as the us-east-1 figure; Frankfurt may be higher. Low impact here.',
  ),
  snsPublishMillion: price(0.5, 'USD per million publishes', SNS, 'regional'),
  snsEmailHundredThousand: price(2, 'USD per 100,000 email notifications', SNS, 'regional'),
  sqsMillion: price(0.4, 'USD per million standard-queue requests', SQS, 'regional'),
  cognitoPlusMau: price(
    0.02,
    'USD per MAU, Plus feature plan (threat protection)',
    COGNITO,
    'regional',
    'No free MAUs on Plus.',
  ),
  cognitoEssentialsMau: price(
    0.015,
    'USD per MAU above 10,000, Essentials feature plan',
    COGNITO,
    'regional',
  ),
  cognitoLiteMau: price(0.0055, 'USD per MAU above 10,000, Lite feature plan', COGNITO, 'regional'),
  cognitoM2mClientMonth: price(
    6,
    'USD per active machine-to-machine app client-month',
    COGNITO,
    'regional',
    'The stored page confirms no free tier for M2M clients or token requests.',
  ),
  cognitoM2mTokenThousand: price(
    2.25,
    'USD per 1,000 client-credentials token requests',
    COGNITO,
    'regional',
  ),
  ddbWriteMillion: price(
    0.7625,
    'USD per million write request units (on-demand, Standard)',
    DDB,
    'regional',
    'After the November 2024 on-demand price cut.',
  ),
  ddbReadMillion: price(0.1525, 'USD per million read request units (on-demand, Standard)', DDB, 'regional'),
  ddbStorageGb: price(0.306, 'USD per GB-month (Standard table class)', DDB, 'regional'),
  ddbPitrGb: price(0.2448, 'USD per GB-month of continuous backup (PITR)', DDB, 'regional'),
  backupDynamoDbGb: price(
    0.1224,
    'USD per GB-month of DynamoDB backup (warm), each backup a full copy',
    BACKUP,
    'regional',
  ),
  backupS3Gb: price(0.06, 'USD per GB-month of S3 backup (warm, incremental)', BACKUP, 'regional'),
  lambdaArmGbSecond: price(0.0000133334, 'USD per GB-second (arm64)', LAMBDA, 'regional'),
  lambdaRequestsMillion: price(0.2, 'USD per million invocations', LAMBDA, 'regional'),
  restApiRequestsMillion: price(
    3.7,
    'USD per million REST API requests (first 333 million a month)',
    APIGW,
    'regional',
    'The private streaming API (issue 20). us-east-1 lists $3.50; private APIs have no data transfer out charge, the execute-api endpoint is priced as an interface endpoint.',
  ),
  s3StandardGb: price(0.0245, 'USD per GB-month (S3 Standard, first 50 TB)', S3, 'regional'),
  s3PutThousand: price(0.0054, 'USD per 1,000 PUT/COPY/POST/LIST', S3, 'regional'),
  s3GetThousand: price(0.00043, 'USD per 1,000 GET and other reads', S3, 'regional'),
  xrayTracesMillion: price(5, 'USD per million traces recorded', XRAY, 'regional'),
  route53HostedZone: price(
    0.5,
    'USD per hosted zone-month (first 25)',
    ROUTE53,
    'regional',
    undefined,
    'global',
  ),
  guardrailContentThousandUnits: price(
    0.15,
    'USD per 1,000 text units (content filters incl. prompt attack)',
    BEDROCK,
    'source',
    'A text unit is up to 1,000 characters; price cut of December 2024.',
  ),
  guardrailTopicsThousandUnits: price(0.15, 'USD per 1,000 text units (denied topics)', BEDROCK, 'source'),
  guardrailPiiThousandUnits: price(
    0.1,
    'USD per 1,000 text units (sensitive information, managed PII entities)',
    BEDROCK,
    'source',
    'Word filters and regex patterns are free.',
  ),
  guardrailGroundingThousandUnits: price(
    0.1,
    'USD per 1,000 text units (contextual grounding)',
    BEDROCK,
    'source',
  ),
} as const satisfies Record<string, Price>;

/** Key of a price in {@link PRICES}. */
export type PriceKey = keyof typeof PRICES;

/** Token prices of one model, USD per million tokens. */
export interface ModelPrice {
  readonly inputPerMillion: number;
  readonly outputPerMillion: number;
  readonly region: string;
  readonly source: string;
  readonly retrieved: string;
  readonly evidence: PriceEvidence;
  readonly note?: string;
}

/** Token prices of the models the environments allow (lib/config/environments.ts). */
export const MODEL_PRICES: Readonly<Record<string, ModelPrice>> = {
  'eu.anthropic.claude-haiku-4-5-20251001-v1:0': {
    inputPerMillion: 1,
    outputPerMillion: 5,
    region: 'us-east-1',
    source: BEDROCK,
    retrieved: '2026-12-04',
    evidence: 'source',
    note: "Claude Haiku 4.5 on-demand list price (same as Anthropic's $1/$5 per million); reached from Frankfurt through the EU geographic inference profile, billed at the source region price, which may carry a premium over the US list price.",
  },
  'eu.amazon.nova-lite-v1:0': {
    inputPerMillion: 0.06,
    outputPerMillion: 0.24,
    region: 'us-east-1',
    source: BEDROCK,
    retrieved: READ,
    evidence: 'source',
    note: 'us-east-1 list price; the EU inference profile price may be higher.',
  },
};
