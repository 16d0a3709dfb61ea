/**
 * Counts the billable resources of one environment's templates and prices what costs money
 * while idle. Every resource type falls in exactly one class: `idle` (priced here), `usage`
 * (costs only with traffic or stored data: priced by the usage model from the facts gathered
 * here), `free`, or unpriced (listed, never skipped).
 */
import { HOURS_PER_MONTH, PRICES, type PriceKey } from './prices';
import type { CfnResource, EnvironmentTemplates } from './templates';

/** One priced line of the idle bill. */
export interface LineItem {
  readonly category: string;
  readonly description: string;
  readonly quantity: number;
  readonly unit: string;
  readonly priceKey: PriceKey;
  readonly unitPrice: number;
  readonly monthly: number;
}

/** A resource type the table cannot price, with where it occurs. */
export interface UnpricedType {
  readonly type: string;
  readonly count: number;
  readonly logicalIds: readonly string[];
  readonly reason: string;
}

/** Policies of the Bedrock guardrail that are billed per text unit. */
export interface GuardrailPolicies {
  readonly content: boolean;
  readonly topics: boolean;
  readonly pii: boolean;
  readonly grounding: boolean;
}

/** What the usage model needs to know about the deployment, read from the templates. */
export interface UsageFacts {
  /** The chat function (`POST /api/v1/chat`), when the templates have it. */
  readonly chatFunction?: { readonly memoryMb: number; readonly tracing: boolean };
  /**
   * The audit stream archiver, when present, with its stream mapping's batching window and
   * batch size (Lambda's defaults for DynamoDB streams when the template leaves them out: 0 s
   * and 100, https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html).
   */
  readonly archiverFunction?: {
    readonly memoryMb: number;
    readonly batchWindowSeconds: number;
    readonly batchSize: number;
  };
  readonly webAcls: number;
  readonly botControl: boolean;
  readonly loadBalancers: number;
  readonly listenerRules: number;
  readonly interfaceEndpoints: number;
  /** REST APIs (the private streaming API of `chat.streaming`): one request per streamed chat. @default 0 */
  readonly restApis?: number;
  readonly natGateways: number;
  readonly flowLogsToCloudWatch: number;
  readonly wafLogging: boolean;
  /** Some Lambda log group carries a data protection policy (its ingestion is scanned). */
  readonly logDataProtection: boolean;
  readonly cognitoTier?: 'LITE' | 'ESSENTIALS' | 'PLUS';
  readonly m2mClients: number;
  /** Tables by logical id: PITR, number of GSIs. */
  readonly tables: Readonly<Record<string, { readonly pitr: boolean; readonly gsis: number }>>;
  /** Logical ids of resources an AWS Backup plan selects, and the copies it keeps. */
  readonly backup?: {
    readonly selected: readonly string[];
    readonly retainedCopies: number;
  };
  /** The guardrail's billed policies, when the templates have a guardrail. */
  readonly guardrail?: GuardrailPolicies;
  /** Custom metrics (not `AWS/` namespaces) that alarms watch or metric filters publish. */
  readonly customMetrics: number;
}

/** The result of reading one environment. */
export interface Inventory {
  readonly envName: string;
  /** Resources per type, every type. */
  readonly counts: Readonly<Record<string, number>>;
  /** What the environment costs with no traffic and no stored data, per month. */
  readonly idle: readonly LineItem[];
  /** Fixed monthly charges that start with the first request (custom metrics, M2M clients). */
  readonly activeFixed: readonly LineItem[];
  /** Types priced by the usage model (cost grows with requests or stored data). */
  readonly usageTypes: readonly string[];
  /** Types that cost nothing, with the reason. */
  readonly freeTypes: Readonly<Record<string, string>>;
  readonly unpriced: readonly UnpricedType[];
  readonly facts: UsageFacts;
}

/** Options of {@link inventory}. */
export interface InventoryOptions {
  /**
   * Age of the KMS keys in days, for the rotation surcharge. @default 0 (a fresh deployment:
   * no rotation yet; with yearly rotation the key-month rises to $2 in year 2 and $3 after)
   */
  readonly keyAgeDays?: number;
}

/**
 * Series a Metrics Insights alarm query analyses: its metric is published by each API
 * function that emits it, with Powertools' `service` dimension, so a query over the whole
 * namespace sees a couple of series. Billed per series analysed.
 */
export const INSIGHTS_SERIES_PER_CUSTOM_QUERY = 2;
/** DynamoDB operations one table serves (GetItem, PutItem, UpdateItem, Query, BatchWriteItem). */
export const INSIGHTS_SERIES_PER_DYNAMODB_SCHEMA_QUERY = 5;

/** Types with no charge of their own, and why. */
export const FREE_TYPES: Readonly<Record<string, string>> = {
  'AWS::IAM::Role': 'IAM is free',
  'AWS::IAM::Policy': 'IAM is free',
  'AWS::IAM::ManagedPolicy': 'IAM is free',
  'AWS::IAM::InstanceProfile': 'IAM is free',
  'AWS::IAM::ServiceLinkedRole': 'IAM is free',
  'AWS::EC2::VPC': 'no charge for the VPC itself',
  'AWS::EC2::Subnet': 'no charge',
  'AWS::EC2::RouteTable': 'no charge',
  'AWS::EC2::Route': 'no charge',
  'AWS::EC2::SubnetRouteTableAssociation': 'no charge',
  'AWS::EC2::InternetGateway': 'no charge (data transfer out is billed by volume)',
  'AWS::EC2::VPCGatewayAttachment': 'no charge',
  'AWS::EC2::SecurityGroup': 'no charge',
  'AWS::EC2::SecurityGroupIngress': 'no charge',
  'AWS::EC2::SecurityGroupEgress': 'no charge',
  'AWS::EC2::NetworkAcl': 'no charge',
  'AWS::EC2::NetworkAclEntry': 'no charge',
  'AWS::EC2::SubnetNetworkAclAssociation': 'no charge',
  'AWS::KMS::Alias': 'aliases are free',
  'AWS::S3::BucketPolicy': 'no charge',
  'AWS::SNS::TopicPolicy': 'no charge',
  'AWS::SQS::QueuePolicy': 'no charge',
  'AWS::Lambda::Permission': 'no charge',
  'AWS::Lambda::EventSourceMapping':
    'no charge; stream reads by a Lambda trigger are free (the invocations are priced)',
  'AWS::Lambda::EventInvokeConfig': 'no charge (retry and on-failure settings of async invocations)',
  // https://aws.amazon.com/eventbridge/pricing/: "AWS management events are ingested by the event
  // bus for free"; delivery to a target in the same account is not charged (the Lambda is priced).
  'AWS::Events::Rule': 'no charge for AWS management events on the default bus to a same-account target',
  'AWS::Lambda::Version': 'no charge',
  'AWS::Lambda::Alias': 'no charge',
  'AWS::Cognito::UserPoolGroup': 'no charge',
  'AWS::Cognito::UserPoolResourceServer': 'no charge',
  'AWS::Cognito::UserPoolDomain': 'no charge (managed login is in the feature plan)',
  'AWS::Cognito::ManagedLoginBranding': 'no charge',
  'AWS::Cognito::UserPoolUICustomizationAttachment': 'no charge',
  'AWS::ElasticLoadBalancingV2::Listener': 'in the load balancer price',
  'AWS::ElasticLoadBalancingV2::ListenerRule': 'in the LCU price (rule evaluations)',
  'AWS::ElasticLoadBalancingV2::ListenerCertificate': 'no charge',
  'AWS::ElasticLoadBalancingV2::TargetGroup': 'no charge',
  'AWS::WAFv2::WebACLAssociation': 'no charge',
  'AWS::WAFv2::IPSet': 'no charge (rules that use it are priced on the web ACL)',
  'AWS::WAFv2::RegexPatternSet': 'no charge (rules that use it are priced on the web ACL)',
  'AWS::Backup::BackupVault': 'no charge; backups in it are priced by storage',
  'AWS::Backup::BackupSelection': 'no charge; the plan it feeds is priced by storage',
  'AWS::Bedrock::GuardrailVersion': 'no charge; evaluations are priced on use',
  'AWS::CertificateManager::Certificate': 'public ACM certificates are free',
  'AWS::Route53::RecordSet': 'no charge per record; alias queries to AWS resources are free',
  'AWS::Logs::ResourcePolicy': 'no charge',
  'AWS::CDK::Metadata': 'not deployed as a resource',
  'AWS::CloudWatch::AnomalyDetector': 'no charge; the alarm on its band is priced',
  'AWS::ApiGateway::Resource': 'no charge (requests are priced on the REST API)',
  'AWS::ApiGateway::Method': 'no charge (requests are priced on the REST API)',
  'AWS::ApiGateway::Deployment': 'no charge',
  'AWS::ApiGateway::Stage': 'no charge with caching off (its access logs are priced as a log group)',
  'AWS::ApiGateway::RequestValidator': 'no charge',
};

/** Types whose cost depends on traffic or stored data (priced by the usage model). */
export const USAGE_TYPES: Readonly<Record<string, string>> = {
  'AWS::Lambda::Function': 'GB-seconds and invocations',
  'AWS::DynamoDB::Table': 'request units, storage, PITR',
  'AWS::S3::Bucket': 'storage and requests',
  'AWS::Logs::LogGroup': 'ingestion and storage',
  'AWS::Logs::MetricFilter': 'its custom metric, once data flows',
  'AWS::EC2::FlowLog': 'vended log ingestion',
  'AWS::WAFv2::LoggingConfiguration': 'vended log ingestion',
  'AWS::Cognito::LogDeliveryConfiguration': 'vended log ingestion',
  'AWS::Cognito::UserPool': 'monthly active users by feature plan',
  'AWS::Cognito::UserPoolClient': 'M2M clients: per active client and token request',
  'AWS::Cognito::UserPoolIdentityProvider': 'federated MAUs',
  'AWS::SNS::Topic': 'publishes (alarm notifications: negligible)',
  'AWS::SNS::Subscription': 'deliveries (email alarm notifications: negligible)',
  'AWS::SQS::Queue': 'requests (dead letters only: empty in normal operation)',
  'AWS::Backup::BackupPlan': 'backup storage',
  'AWS::Bedrock::Guardrail': 'text units evaluated',
  'AWS::ApiGateway::RestApi': 'requests (the private streaming API: one per streamed chat)',
};

/** Per-resource pricing of the types that cost money while idle. */
type IdlePricer = (id: string, resource: CfnResource, env: EnvContext) => LineItem[] | { unpriced: string };

interface EnvContext {
  /** Availability zones of the environment's subnets (fallback when a list is a token). */
  readonly azCount: number;
  readonly publicSubnets: number;
  readonly keyAgeDays: number;
}

const line = (
  category: string,
  description: string,
  quantity: number,
  unit: string,
  priceKey: PriceKey,
): LineItem => {
  const unitPrice = PRICES[priceKey].usd;
  return { category, description, quantity, unit, priceKey, unitPrice, monthly: quantity * unitPrice };
};

const props = (r: CfnResource): Record<string, unknown> => r.Properties ?? {};
const listLength = (value: unknown): number | undefined => (Array.isArray(value) ? value.length : undefined);

/** Alarm metrics of one `AWS::CloudWatch::Alarm`, by billing kind. */
export function alarmMetrics(resource: CfnResource): {
  standard: number;
  highResolution: number;
  insightsSeries: number;
  anomaly: boolean;
} {
  const p = props(resource);
  const result = { standard: 0, highResolution: 0, insightsSeries: 0, anomaly: false };
  const add = (period: unknown) => {
    if (typeof period === 'number' && period < 60) result.highResolution += 1;
    else result.standard += 1;
  };
  const metrics = p.Metrics as Array<Record<string, unknown>> | undefined;
  if (metrics === undefined) {
    add(p.Period);
    return result;
  }
  for (const metric of metrics) {
    const stat = metric.MetricStat as { Period?: unknown } | undefined;
    if (stat) {
      add(stat.Period);
      continue;
    }
    const expression = JSON.stringify(metric.Expression ?? '');
    if (/ANOMALY_DETECTION_BAND/i.test(expression)) result.anomaly = true;
    else if (/\bSELECT\b/i.test(expression)) {
      result.insightsSeries += /SCHEMA\([^)]*Operation/.test(expression)
        ? INSIGHTS_SERIES_PER_DYNAMODB_SCHEMA_QUERY
        : INSIGHTS_SERIES_PER_CUSTOM_QUERY;
    }
    // Plain math over other entries costs nothing itself: its inputs are counted.
  }
  if (result.anomaly && p.ThresholdMetricId !== undefined) {
    // The band alarm is billed as three metrics at its resolution, replacing the input's one.
    const bandMetrics = PRICES.alarmAnomalyMetrics.usd;
    if (result.highResolution > 0) result.highResolution += bandMetrics - 1;
    else result.standard += bandMetrics - 1;
  }
  return result;
}

const PAID_WAF_GROUPS_UNPRICED = ['AWSManagedRulesATPRuleSet', 'AWSManagedRulesACFPRuleSet'];

const IDLE_PRICERS: Readonly<Record<string, IdlePricer>> = {
  'AWS::EC2::VPCEndpoint': (id, r, env) => {
    const p = props(r);
    const type = (p.VpcEndpointType as string | undefined) ?? 'Gateway';
    if (type === 'Gateway') return [];
    if (type !== 'Interface') return { unpriced: `${type} endpoints are not in the price table` };
    const azs = listLength(p.SubnetIds) ?? env.azCount;
    return [
      line(
        'network',
        `interface endpoint ${serviceName(p.ServiceName) ?? id} x ${azs} AZ`,
        azs * HOURS_PER_MONTH,
        'AZ-hours',
        'interfaceEndpointHour',
      ),
    ];
  },
  // A public NAT gateway's address is an AWS::EC2::EIP, priced there: no double count.
  'AWS::EC2::NatGateway': (id) => [
    line('network', `NAT gateway ${id}`, HOURS_PER_MONTH, 'hours', 'natGatewayHour'),
  ],
  'AWS::EC2::EIP': (id) => [
    line('network', `public IPv4 ${id}`, HOURS_PER_MONTH, 'address-hours', 'publicIpv4Hour'),
  ],
  'AWS::ElasticLoadBalancingV2::LoadBalancer': (id, r, env) => {
    const p = props(r);
    const type = (p.Type as string | undefined) ?? 'application';
    if (type !== 'application') return { unpriced: `${type} load balancers are not in the price table` };
    const items = [line('edge', `Application Load Balancer ${id}`, HOURS_PER_MONTH, 'hours', 'albHour')];
    if (((p.Scheme as string | undefined) ?? 'internet-facing') === 'internet-facing') {
      const nodes = listLength(p.Subnets) ?? listLength(p.SubnetMappings) ?? env.publicSubnets;
      items.push(
        line(
          'edge',
          `ALB public IPv4, one per AZ node (${nodes})`,
          nodes * HOURS_PER_MONTH,
          'address-hours',
          'publicIpv4Hour',
        ),
      );
    }
    return items;
  },
  'AWS::WAFv2::WebACL': (id, r) => {
    const p = props(r);
    const rules = (p.Rules as unknown[] | undefined) ?? [];
    const json = JSON.stringify(rules);
    const unpricedGroups = PAID_WAF_GROUPS_UNPRICED.filter((g) => json.includes(g));
    if (unpricedGroups.length > 0) {
      return { unpriced: `paid managed rule groups not in the price table: ${unpricedGroups.join(', ')}` };
    }
    const items = [
      line('edge', `web ACL ${id}`, 1, 'ACL-months', 'wafWebAcl'),
      line(
        'edge',
        `web ACL rules (${rules.length}, managed groups count one each)`,
        rules.length,
        'rule-months',
        'wafRule',
      ),
    ];
    if (json.includes('AWSManagedRulesBotControlRuleSet')) {
      items.push(line('edge', 'Bot Control subscription', 1, 'ACL-months', 'wafBotControlMonth'));
    }
    return items;
  },
  'AWS::KMS::Key': (id, r, env) => {
    const p = props(r);
    const items = [line('keys', `KMS key ${id}`, 1, 'key-months', 'kmsKeyMonth')];
    if (p.EnableKeyRotation === true) {
      const period = (p.RotationPeriodInDays as number | undefined) ?? 365;
      const rotations = Math.min(2, Math.floor(env.keyAgeDays / period));
      if (rotations > 0)
        items.push(
          line('keys', `rotations of ${id} (${rotations})`, rotations, 'key-months', 'kmsRotationMonth'),
        );
    }
    return items;
  },
  'AWS::CloudWatch::Alarm': (id, r) => {
    const m = alarmMetrics(r);
    const items: LineItem[] = [];
    const kind = m.anomaly ? 'anomaly alarm' : 'alarm';
    if (m.standard > 0)
      items.push(line('monitoring', `${kind} ${id}`, m.standard, 'alarm metrics', 'alarmStandardMetric'));
    if (m.highResolution > 0)
      items.push(
        line(
          'monitoring',
          `high-resolution ${kind} ${id}`,
          m.highResolution,
          'alarm metrics',
          'alarmHighResolutionMetric',
        ),
      );
    if (m.insightsSeries > 0)
      items.push(
        line(
          'monitoring',
          `Metrics Insights alarm ${id}`,
          m.insightsSeries,
          'series analysed',
          'alarmInsightsMetric',
        ),
      );
    return items;
  },
  'AWS::CloudWatch::CompositeAlarm': (id) => [
    line('monitoring', `composite alarm ${id}`, 1, 'alarm-months', 'alarmComposite'),
  ],
  'AWS::CloudWatch::Dashboard': (id) => [
    line('monitoring', `dashboard ${id}`, 1, 'dashboard-months', 'dashboard'),
  ],
  'AWS::Route53::HostedZone': (id) => [
    line('network', `hosted zone ${id}`, 1, 'zone-months', 'route53HostedZone'),
  ],
};

function serviceName(value: unknown): string | undefined {
  if (typeof value === 'string') return value.split('.').at(-1);
  const json = JSON.stringify(value ?? '');
  return json.match(/\.([a-z0-9-]+)"?\]*\]*\}*$/)?.[1];
}

/** Sums the monthly cost of line items. */
export function sumMonthly(items: readonly LineItem[]): number {
  return items.reduce((sum, item) => sum + item.monthly, 0);
}

/** Reads one environment's templates: counts, idle cost, usage facts and what cannot be priced. */
export function inventory(env: EnvironmentTemplates, options: InventoryOptions = {}): Inventory {
  const resources = env.stacks.flatMap((s) =>
    Object.entries(s.template.Resources ?? {}).map(([id, r]) => ({ id, r })),
  );
  const counts: Record<string, number> = {};
  for (const { r } of resources) counts[r.Type] = (counts[r.Type] ?? 0) + 1;

  const subnets = resources.filter(({ r }) => r.Type === 'AWS::EC2::Subnet');
  const azs = new Set(subnets.map(({ r }) => JSON.stringify(props(r).AvailabilityZone ?? '')));
  const context: EnvContext = {
    azCount: Math.max(1, azs.size),
    publicSubnets: Math.max(1, subnets.filter(({ r }) => props(r).MapPublicIpOnLaunch === true).length),
    keyAgeDays: options.keyAgeDays ?? 0,
  };

  const idle: LineItem[] = [];
  const unpricedById = new Map<string, { ids: string[]; reason: string }>();
  const addUnpriced = (type: string, id: string, reason: string) => {
    const entry = unpricedById.get(type) ?? { ids: [], reason };
    entry.ids.push(id);
    unpricedById.set(type, entry);
  };
  const usageTypes = new Set<string>();
  const freeTypes: Record<string, string> = {};
  for (const { id, r } of resources) {
    const pricer = IDLE_PRICERS[r.Type];
    if (pricer) {
      const result = pricer(id, r, context);
      if (Array.isArray(result)) idle.push(...result);
      else addUnpriced(r.Type, id, result.unpriced);
    } else if (USAGE_TYPES[r.Type] !== undefined) usageTypes.add(r.Type);
    else if (FREE_TYPES[r.Type] !== undefined) freeTypes[r.Type] = FREE_TYPES[r.Type]!;
    else if (r.Type.startsWith('Custom::'))
      freeTypes[r.Type] =
        'custom resource: runs at deployment only (its provider function is priced as a function)';
    else addUnpriced(r.Type, id, 'not in the price table');
  }

  const facts = usageFacts(resources);
  const activeFixed: LineItem[] = [];
  if (facts.customMetrics > 0)
    activeFixed.push(
      line('monitoring', 'custom metrics alarmed on', facts.customMetrics, 'metric-months', 'customMetric'),
    );
  if (facts.m2mClients > 0)
    activeFixed.push(
      line(
        'identity',
        'machine-to-machine app clients',
        facts.m2mClients,
        'client-months',
        'cognitoM2mClientMonth',
      ),
    );

  return {
    envName: env.envName,
    counts,
    idle,
    activeFixed,
    usageTypes: [...usageTypes].sort(),
    freeTypes,
    unpriced: [...unpricedById.entries()]
      .map(([type, { ids, reason }]) => ({ type, count: ids.length, logicalIds: ids, reason }))
      .sort((a, b) => a.type.localeCompare(b.type)),
    facts,
  };
}

function usageFacts(resources: ReadonlyArray<{ id: string; r: CfnResource }>): UsageFacts {
  const ofType = (type: string) => resources.filter(({ r }) => r.Type === type);
  const functions = ofType('AWS::Lambda::Function');
  const findFunction = (pattern: RegExp) =>
    functions.find(({ id, r }) => pattern.test(id) || pattern.test(String(props(r).Description ?? '')));
  const chat = findFunction(/^Chat|POST \/api\/v1\/chat/);
  const archiver = findFunction(/^AuditArchiver/);
  const memory = (r: CfnResource) => (props(r).MemorySize as number | undefined) ?? 128;

  const webAcls = ofType('AWS::WAFv2::WebACL');
  const pools = ofType('AWS::Cognito::UserPool');
  const tier = pools[0]
    ? ((props(pools[0].r).UserPoolTier as UsageFacts['cognitoTier']) ?? 'ESSENTIALS')
    : undefined;
  const m2mClients = ofType('AWS::Cognito::UserPoolClient').filter(({ r }) =>
    ((props(r).AllowedOAuthFlows as string[] | undefined) ?? []).includes('client_credentials'),
  ).length;

  const tables: Record<string, { pitr: boolean; gsis: number }> = {};
  for (const { id, r } of ofType('AWS::DynamoDB::Table')) {
    const p = props(r);
    tables[id] = {
      pitr:
        (p.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: boolean } | undefined)
          ?.PointInTimeRecoveryEnabled === true,
      gsis: listLength(p.GlobalSecondaryIndexes) ?? 0,
    };
  }

  const plans = ofType('AWS::Backup::BackupPlan');
  let backup: UsageFacts['backup'];
  if (plans.length > 0) {
    const selected = ofType('AWS::Backup::BackupSelection').flatMap(({ r }) => {
      const refs = ((props(r).BackupSelection as { Resources?: unknown[] } | undefined)?.Resources ?? []).map(
        (ref) => JSON.stringify(ref),
      );
      return resources.filter(({ id }) => refs.some((ref) => ref.includes(`"${id}"`))).map(({ id }) => id);
    });
    let retainedCopies = 0;
    for (const { r } of plans) {
      const rules =
        (props(r).BackupPlan as { BackupPlanRule?: Array<Record<string, unknown>> } | undefined)
          ?.BackupPlanRule ?? [];
      for (const rule of rules) {
        const days = (rule.Lifecycle as { DeleteAfterDays?: number } | undefined)?.DeleteAfterDays ?? 35;
        retainedCopies += days * runsPerDay(rule.ScheduleExpression);
      }
    }
    backup = { selected, retainedCopies };
  }

  const guardrails = ofType('AWS::Bedrock::Guardrail');
  let guardrail: GuardrailPolicies | undefined;
  if (guardrails[0]) {
    const p = props(guardrails[0].r);
    const sensitive = p.SensitiveInformationPolicyConfig as { PiiEntitiesConfig?: unknown[] } | undefined;
    guardrail = {
      content: p.ContentPolicyConfig !== undefined,
      topics: p.TopicPolicyConfig !== undefined,
      pii: (sensitive?.PiiEntitiesConfig?.length ?? 0) > 0,
      grounding: p.ContextualGroundingPolicyConfig !== undefined,
    };
  }

  const customMetricNames = new Set<string>();
  for (const { r } of ofType('AWS::CloudWatch::Alarm')) {
    const p = props(r);
    if (
      typeof p.Namespace === 'string' &&
      !p.Namespace.startsWith('AWS/') &&
      typeof p.MetricName === 'string'
    )
      customMetricNames.add(`${p.Namespace}/${p.MetricName}`);
    for (const m of (p.Metrics as Array<Record<string, unknown>> | undefined) ?? []) {
      const metric = (m.MetricStat as { Metric?: { Namespace?: string; MetricName?: string } } | undefined)
        ?.Metric;
      if (metric?.Namespace && !metric.Namespace.startsWith('AWS/'))
        customMetricNames.add(`${metric.Namespace}/${metric.MetricName}`);
      const query = JSON.stringify(m.Expression ?? '').match(
        /SELECT\s+\w+\((\w+)\)\s+FROM\s+\\"([^"\\]+)\\"/i,
      );
      if (query && !query[2]!.startsWith('AWS/')) customMetricNames.add(`${query[2]}/${query[1]}`);
    }
  }
  for (const { r } of ofType('AWS::Logs::MetricFilter')) {
    for (const t of (props(r).MetricTransformations as Array<{
      MetricNamespace?: string;
      MetricName?: string;
    }>) ?? [])
      customMetricNames.add(`${t.MetricNamespace}/${t.MetricName}`);
  }

  const streamBatching = (functionId: string) => {
    const mapping = ofType('AWS::Lambda::EventSourceMapping').find(({ r }) =>
      JSON.stringify(props(r).FunctionName ?? '').includes(functionId),
    );
    const p = mapping ? props(mapping.r) : {};
    return {
      batchWindowSeconds: (p.MaximumBatchingWindowInSeconds as number | undefined) ?? 0,
      batchSize: (p.BatchSize as number | undefined) ?? 100,
    };
  };

  const lambdaLogGroups = ofType('AWS::Logs::LogGroup').filter(({ id }) => /Logs/.test(id));
  return {
    ...(chat
      ? {
          chatFunction: {
            memoryMb: memory(chat.r),
            tracing: (props(chat.r).TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active',
          },
        }
      : {}),
    ...(archiver
      ? { archiverFunction: { memoryMb: memory(archiver.r), ...streamBatching(archiver.id) } }
      : {}),
    webAcls: webAcls.length,
    botControl: webAcls.some(({ r }) =>
      JSON.stringify(props(r).Rules ?? []).includes('AWSManagedRulesBotControlRuleSet'),
    ),
    loadBalancers: ofType('AWS::ElasticLoadBalancingV2::LoadBalancer').length,
    restApis: ofType('AWS::ApiGateway::RestApi').length,
    listenerRules: ofType('AWS::ElasticLoadBalancingV2::ListenerRule').length,
    interfaceEndpoints: ofType('AWS::EC2::VPCEndpoint').filter(
      ({ r }) => props(r).VpcEndpointType === 'Interface',
    ).length,
    natGateways: ofType('AWS::EC2::NatGateway').length,
    flowLogsToCloudWatch: ofType('AWS::EC2::FlowLog').filter(
      ({ r }) =>
        ((props(r).LogDestinationType as string | undefined) ?? 'cloud-watch-logs') === 'cloud-watch-logs',
    ).length,
    wafLogging: ofType('AWS::WAFv2::LoggingConfiguration').length > 0,
    logDataProtection: lambdaLogGroups.some(({ r }) => props(r).DataProtectionPolicy !== undefined),
    ...(tier ? { cognitoTier: tier } : {}),
    m2mClients,
    tables,
    ...(backup ? { backup } : {}),
    ...(guardrail ? { guardrail } : {}),
    customMetrics: customMetricNames.size,
  };
}

/**
 * Average runs a day of a backup schedule: `rate(N hours|days)`, or a cron whose hour field
 * lists hours (or `*`) and whose day fields list days of the month (of ~30) or of the week.
 * Anything else counts as daily (AWS Backup's default rule).
 */
export function runsPerDay(schedule: unknown): number {
  if (typeof schedule !== 'string') return 1;
  const rate = schedule.match(/^rate\((\d+)\s+(hour|hours|day|days)\)$/);
  if (rate) return rate[2]!.startsWith('hour') ? 24 / Number(rate[1]) : 1 / Number(rate[1]);
  const cron = schedule.match(/^cron\((\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/);
  if (!cron) return 1;
  const [, , hours, dayOfMonth, , dayOfWeek] = cron as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const perDay = hours === '*' ? 24 : hours.split(',').length;
  const any = (field: string) => field === '*' || field === '?';
  if (!any(dayOfMonth)) return (perDay * dayOfMonth.split(',').length) / 30;
  if (!any(dayOfWeek)) return (perDay * dayOfWeek.split(',').length) / 7;
  return perDay;
}
