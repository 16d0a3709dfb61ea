import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildAuditEvent, systemAuditEventDeps } from '../../lambda/audit/event';
import { auditItemKeys } from '../../lambda/audit/writer';
import { alarmMetrics, inventory, runsPerDay, sumMonthly } from '../../lib/cost/inventory';
import { HOURS_PER_MONTH, PRICES } from '../../lib/cost/prices';
import { environmentCost, parseBaseline, renderChanges, renderCost, VOLUMES } from '../../lib/cost/report';
import type { CfnResource, EnvironmentTemplates } from '../../lib/cost/templates';
import {
  ASSUMPTIONS,
  albLcuHoursPerRequest,
  archiverBatchSize,
  requestComponents,
  requestUnits,
  sealedBytes,
} from '../../lib/cost/usage';
import { configOf, stageFor } from '../support/synth';

const env = (resources: Record<string, CfnResource>, envName = 'fixture'): EnvironmentTemplates => ({
  envName,
  stacks: [{ stackName: 'Fixture', template: { Resources: resources } }],
});
const idleOf = (resources: Record<string, CfnResource>, keyAgeDays = 0) =>
  sumMonthly(inventory(env(resources), { keyAgeDays }).idle);
const retention = { conversationDays: 30, auditTableDays: 30, archiveDays: 365, logDays: 365 };
const h = HOURS_PER_MONTH;

describe('idle pricing per resource type', () => {
  it.each<[string, Record<string, CfnResource>, number]>([
    [
      'interface endpoint x subnets (AZs)',
      {
        E: {
          Type: 'AWS::EC2::VPCEndpoint',
          Properties: { VpcEndpointType: 'Interface', SubnetIds: ['a', 'b', 'c'] },
        },
      },
      3 * h * PRICES.interfaceEndpointHour.usd,
    ],
    [
      'gateway endpoint is free',
      { E: { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcEndpointType: 'Gateway' } } },
      0,
    ],
    ['NAT gateway', { N: { Type: 'AWS::EC2::NatGateway' } }, h * PRICES.natGatewayHour.usd],
    ['Elastic IP', { I: { Type: 'AWS::EC2::EIP' } }, h * PRICES.publicIpv4Hour.usd],
    [
      'internet-facing ALB with one IPv4 per AZ node',
      { L: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Subnets: ['a', 'b'] } } },
      h * PRICES.albHour.usd + 2 * h * PRICES.publicIpv4Hour.usd,
    ],
    [
      'internal ALB has no public IPv4',
      {
        L: {
          Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
          Properties: { Scheme: 'internal', Subnets: ['a', 'b'] },
        },
      },
      h * PRICES.albHour.usd,
    ],
    [
      'web ACL, its rules and the Bot Control subscription',
      {
        W: {
          Type: 'AWS::WAFv2::WebACL',
          Properties: {
            Rules: [
              { Name: 'Rate' },
              { Statement: { ManagedRuleGroupStatement: { Name: 'AWSManagedRulesCommonRuleSet' } } },
              { Statement: { ManagedRuleGroupStatement: { Name: 'AWSManagedRulesBotControlRuleSet' } } },
            ],
          },
        },
      },
      PRICES.wafWebAcl.usd + 3 * PRICES.wafRule.usd + PRICES.wafBotControlMonth.usd,
    ],
    [
      'KMS key',
      { K: { Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } } },
      PRICES.kmsKeyMonth.usd,
    ],
    ['composite alarm', { C: { Type: 'AWS::CloudWatch::CompositeAlarm' } }, PRICES.alarmComposite.usd],
    ['dashboard', { D: { Type: 'AWS::CloudWatch::Dashboard' } }, PRICES.dashboard.usd],
    ['hosted zone', { Z: { Type: 'AWS::Route53::HostedZone' } }, PRICES.route53HostedZone.usd],
  ])('%s', (_name, resources, expected) => {
    expect(idleOf(resources)).toBeCloseTo(expected, 6);
  });

  it.each([
    [0, 1],
    [364, 1],
    [365, 2],
    [730, 3],
    [3650, 3], // rotations after the second are free
  ])('a rotated key %i days old costs %i key-months', (days, keyMonths) => {
    const key = {
      K: { Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true, RotationPeriodInDays: 365 } },
    };
    expect(idleOf(key, days)).toBeCloseTo(keyMonths * PRICES.kmsKeyMonth.usd, 6);
  });

  it('a key without rotation never gets the rotation charge', () => {
    expect(idleOf({ K: { Type: 'AWS::KMS::Key', Properties: {} } }, 3650)).toBe(PRICES.kmsKeyMonth.usd);
  });

  it.each<[string, CfnResource, ReturnType<typeof alarmMetrics>]>([
    [
      'standard',
      { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'Errors', Period: 300 } },
      { standard: 1, highResolution: 0, insightsSeries: 0, anomaly: false },
    ],
    [
      'high resolution',
      { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'Errors', Period: 10 } },
      { standard: 0, highResolution: 1, insightsSeries: 0, anomaly: false },
    ],
    [
      'metric math over two metrics',
      {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          Metrics: [
            { Id: 'e', Expression: 'r + w' },
            { Id: 'r', MetricStat: { Period: 300 } },
            { Id: 'w', MetricStat: { Period: 300 } },
          ],
        },
      },
      { standard: 2, highResolution: 0, insightsSeries: 0, anomaly: false },
    ],
    [
      'Metrics Insights query',
      {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: { Metrics: [{ Id: 'q', Expression: 'SELECT SUM(AuthFailure) FROM "OmniChat"' }] },
      },
      { standard: 0, highResolution: 0, insightsSeries: 2, anomaly: false },
    ],
    [
      'anomaly detection band: three metrics',
      {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          ThresholdMetricId: 'ad',
          Metrics: [
            { Id: 'm', MetricStat: { Period: 300 } },
            { Id: 'ad', Expression: 'ANOMALY_DETECTION_BAND(m, 2)' },
          ],
        },
      },
      { standard: 3, highResolution: 0, insightsSeries: 0, anomaly: true },
    ],
  ])('alarm kind: %s', (_name, alarm, expected) => {
    expect(alarmMetrics(alarm)).toEqual(expected);
    const cost =
      expected.standard * PRICES.alarmStandardMetric.usd +
      expected.highResolution * PRICES.alarmHighResolutionMetric.usd +
      expected.insightsSeries * PRICES.alarmInsightsMetric.usd;
    expect(idleOf({ A: alarm })).toBeCloseTo(cost, 6);
  });

  it.each([
    ['cron(0 3 * * ? *)', 1],
    ['cron(0 3,15 * * ? *)', 2],
    ['cron(0 3 ? * SUN *)', 1 / 7],
    ['rate(12 hours)', 2],
  ])('backup schedule %s runs %d times a day', (schedule, runs) => {
    expect(runsPerDay(schedule)).toBeCloseTo(runs, 6);
  });
});

describe('classification', () => {
  it('lists every type it cannot price, with counts and logical ids, and never prices it', () => {
    const inv = inventory(
      env({
        Db: { Type: 'AWS::RDS::DBInstance' },
        Db2: { Type: 'AWS::RDS::DBInstance' },
        Nlb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Type: 'network' } },
        Atp: {
          Type: 'AWS::WAFv2::WebACL',
          Properties: {
            Rules: [{ Statement: { ManagedRuleGroupStatement: { Name: 'AWSManagedRulesATPRuleSet' } } }],
          },
        },
        Role: { Type: 'AWS::IAM::Role' },
      }),
    );
    expect(inv.unpriced.map((u) => [u.type, u.count])).toEqual([
      ['AWS::ElasticLoadBalancingV2::LoadBalancer', 1],
      ['AWS::RDS::DBInstance', 2],
      ['AWS::WAFv2::WebACL', 1],
    ]);
    expect(inv.unpriced.find((u) => u.type === 'AWS::RDS::DBInstance')?.logicalIds).toEqual(['Db', 'Db2']);
    expect(inv.idle).toEqual([]);
    expect(inv.freeTypes['AWS::IAM::Role']).toBeDefined();
  });

  it('classifies free, usage-priced and custom resource types explicitly', () => {
    const inv = inventory(
      env({
        Sg: { Type: 'AWS::EC2::SecurityGroup' },
        Fn: { Type: 'AWS::Lambda::Function' },
        Jwks: { Type: 'Custom::CognitoJwks' },
      }),
    );
    expect(inv.unpriced).toEqual([]);
    expect(Object.keys(inv.freeTypes).sort()).toEqual(['AWS::EC2::SecurityGroup', 'Custom::CognitoJwks']);
    expect(inv.usageTypes).toEqual(['AWS::Lambda::Function']);
  });
});

describe('per-request math', () => {
  it('counts DynamoDB units from the pipeline: limits, audit (+ its index), turn, header', () => {
    const turnBytes =
      sealedBytes(ASSUMPTIONS.messageChars) +
      sealedBytes(ASSUMPTIONS.replyChars) +
      ASSUMPTIONS.turnAttributesBytes;
    // AUTHN_SUCCESS one unit, chat.model_call and the outcome two each; each twice (table + index).
    const auditUnits = 1 + 2 + 2;
    const expectedWrites = 3 + auditUnits * 2 + Math.ceil(turnBytes / 1024) + 1;
    const units = requestUnits();
    expect(units.writeUnits).toBe(expectedWrites);
    expect(units.readUnits).toBeCloseTo(
      ASSUMPTIONS.continuingShare * (1 + Math.ceil((ASSUMPTIONS.priorTurns * turnBytes) / 4096)),
      6,
    );
    // One data key per conversation: one GenerateDataKey or one Decrypt per request.
    expect(units.kmsRequests).toBe(1);
  });

  const actor = {
    sub: '3f1c2a9e-6b7d-4c1e-9a2b-8d7e6f5a4b3c',
    groups: ['user'],
    sourceIp: '203.0.113.42',
    userAgent:
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  };
  const request = { actor, requestId: 'c0ffee00-1234-4abc-8def-0123456789ab' };
  const finding = { layer: 'local', rule: 'pii-email', category: 'PII', action: 'mask' };
  const modelId = 'eu.anthropic.claude-haiku-4-5-20251001-v1:0';
  const resource = 'conversation/01JD2Q7ZK3M4N5P6Q7R8S9T0VW';
  // The three items a successful chat writes, as lambda/runtime/audit-sink.ts (the claim
  // check's authorization) and lambda/chat/chat-service.ts (write-ahead model call, outcome)
  // build them.
  it.each<[keyof typeof ASSUMPTIONS.auditItemBytes, Record<string, unknown>]>([
    [
      'authorization',
      {
        ...request,
        type: 'AUTHN_SUCCESS',
        resource: 'POST /api/v1/chat',
        action: 'authorize',
        outcome: 'success',
        durationMs: 0,
        fields: { requirement: 'chat:write', kind: 'user' },
      },
    ],
    [
      'modelCall',
      {
        ...request,
        type: 'CHAT_REQUEST',
        resource,
        action: 'chat.model_call',
        outcome: 'success',
        durationMs: 120,
        prompt: 'x'.repeat(ASSUMPTIONS.messageChars),
        guardrail: [finding],
        modelId,
      },
    ],
    [
      'outcome',
      {
        ...request,
        type: 'CHAT_REQUEST',
        resource,
        action: 'chat',
        outcome: 'success',
        durationMs: 3912,
        prompt: 'x'.repeat(ASSUMPTIONS.messageChars),
        reply: 'y'.repeat(ASSUMPTIONS.replyChars),
        guardrail: [finding],
        modelId,
        inputTokens: 3550,
        outputTokens: 500,
        fields: { turnId: '01JD2Q7ZK3M4N5P6Q7R8S9T0VX' },
      },
    ],
  ])('the %s audit item fits its assumed size and write units', (name, input) => {
    const event = buildAuditEvent(
      input as unknown as Parameters<typeof buildAuditEvent>[0],
      systemAuditEventDeps(),
    );
    const keys = auditItemKeys(event, 8);
    const item: Record<string, string> = {
      ...keys,
      eventId: event.eventId,
      type: event.type,
      event: JSON.stringify(event),
      expiresAt: '1767225600',
    };
    const bytes = Object.entries(item).reduce((s, [k, v]) => s + k.length + Buffer.byteLength(v), 0);
    const assumed = ASSUMPTIONS.auditItemBytes[name];
    expect(bytes).toBeLessThanOrEqual(assumed);
    // Never more write units than the item takes, except the model call, counted at two units
    // because it sits within ~10% of 1 KB (a second finding or a longer user agent crosses it).
    const units = Math.ceil(bytes / 1024);
    if (name === 'modelCall') expect(bytes).toBeGreaterThan(0.9 * 1024);
    else expect(units).toBe(Math.ceil(assumed / 1024));
  });

  it('prices the chat function at its memory and the assumed duration', () => {
    const facts = inventory(env({})).facts;
    const lambda = requestComponents(
      { ...facts, chatFunction: { memoryMb: 1024, tracing: false } },
      1e6,
    ).find((c) => c.service === 'Lambda');
    expect(lambda?.perRequest).toBeCloseTo(
      1 * (ASSUMPTIONS.chatDurationMs / 1000) * PRICES.lambdaArmGbSecond.usd +
        PRICES.lambdaRequestsMillion.usd / 1e6,
      12,
    );
  });

  it('adds WAF, Bot Control and ALB components only when the templates have them', () => {
    const bare = inventory(env({})).facts;
    const services = (f: typeof bare) => requestComponents(f, 1e6).map((c) => c.detail);
    expect(services(bare).some((d) => d.includes('inspect'))).toBe(false);
    const edge = { ...bare, webAcls: 1, botControl: true, loadBalancers: 1, listenerRules: 12 };
    expect(services(edge)).toEqual(expect.arrayContaining(['1 request inspected', 'Bot Control inspection']));
    expect(requestComponents(edge, 1e6).some((c) => c.service === 'ALB')).toBe(true);
  });

  it('bills ALB rule evaluations only beyond the first ten rules', () => {
    const facts = { ...inventory(env({})).facts, loadBalancers: 1 };
    const few = albLcuHoursPerRequest({ ...facts, listenerRules: 10 });
    const many = albLcuHoursPerRequest({ ...facts, listenerRules: 10 + 100_000 });
    expect(many).toBeCloseTo(100_000 / (1000 * 3600), 9);
    expect(few).toBeLessThan(many);
  });

  it('archiver batches hold what arrives within the window: at least one event, at most the batch size', () => {
    expect(archiverBatchSize(10, 300, 500)).toBe(1);
    expect(archiverBatchSize(1e12, 300, 500)).toBe(500);
    expect(archiverBatchSize(1e6, 0, 500)).toBe(1);
    // 1M chats x 3 events a month over 30.4 days: 1.14 events a second.
    expect(archiverBatchSize(1e6, 10, 500)).toBeCloseTo(11.4, 1);
    expect(archiverBatchSize(1e6, 300, 500)).toBeCloseTo(342.5, 0);
  });

  it("reads the archiver's batching window and batch size from its stream mapping", () => {
    const archiver = { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 512 } };
    const mapping = {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        FunctionName: { Ref: 'AuditArchiverFunction1234ABCD' },
        MaximumBatchingWindowInSeconds: 300,
        BatchSize: 500,
      },
    };
    const facts = inventory(env({ AuditArchiverFunction1234ABCD: archiver, Mapping: mapping })).facts;
    expect(facts.archiverFunction).toEqual({ memoryMb: 512, batchWindowSeconds: 300, batchSize: 500 });
    // Lambda's defaults for a DynamoDB stream mapping that states neither.
    const bare = inventory(env({ AuditArchiverFunction1234ABCD: archiver })).facts;
    expect(bare.archiverFunction).toEqual({ memoryMb: 512, batchWindowSeconds: 0, batchSize: 100 });
    const archive = (f: typeof facts) =>
      requestComponents(f, 1e6).find((c) => c.service === 'Audit archive')!.perRequest;
    expect(archive(facts)).toBeLessThan(archive(bare) / 100);
  });
});

describe('totals', () => {
  const resources: Record<string, CfnResource> = {
    E: { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcEndpointType: 'Interface', SubnetIds: ['a', 'b'] } },
    K: { Type: 'AWS::KMS::Key' },
    D: { Type: 'AWS::CloudWatch::Dashboard' },
    T: {
      Type: 'AWS::DynamoDB::Table',
      Properties: { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } },
    },
    P: { Type: 'AWS::Cognito::UserPool', Properties: { UserPoolTier: 'PLUS' } },
  };
  const cost = environmentCost(inventory(env(resources, 'dev')), retention);

  it('idle is the sum of its items and of its categories', () => {
    const expected = 2 * h * PRICES.interfaceEndpointHour.usd + PRICES.kmsKeyMonth.usd + PRICES.dashboard.usd;
    expect(cost.idleMonthly).toBeCloseTo(expected, 6);
    expect(Object.values(cost.idleByCategory).reduce((a, b) => a + b, 0)).toBeCloseTo(expected, 6);
    expect(cost.targets).toMatchObject({ idle: 60, idleMet: true });
  });

  it.each(VOLUMES.map((v, i) => [v, i]))('the total at %i requests adds up', (requests, i) => {
    const t = cost.totals[i]!;
    expect(t.requests).toBe(requests);
    expect(t.totalExcludingTokens).toBeCloseTo(
      t.idle + t.activeFixed + t.requestPath + t.retainedData + t.cognito + t.guardrail,
      6,
    );
    expect(t.cognito).toBeCloseTo(
      Math.ceil(requests / ASSUMPTIONS.requestsPerMonthlyUser) * PRICES.cognitoPlusMau.usd,
      6,
    );
    for (const perThousand of Object.values(cost.perThousand.tokensByModel))
      expect(perThousand).toBeGreaterThan(0);
  });

  it('per 1,000 requests is the sum of its components', () => {
    const sum = cost.perThousand.requestPathComponents.reduce((s, c) => s + c.perThousand, 0);
    expect(cost.perThousand.requestPath).toBeCloseTo(sum, 9);
  });

  it('renders every environment and lists unpriced types', () => {
    const withUnknown = environmentCost(
      inventory(env({ ...resources, Q: { Type: 'AWS::MSK::Cluster' } }, 'prod')),
      retention,
    );
    const text = renderCost([cost, withUnknown]);
    expect(text).toContain('== dev');
    expect(text).toContain('UNPRICED: AWS::MSK::Cluster x1');
  });
});

describe('lines that moved against a baseline', () => {
  const resources: Record<string, CfnResource> = {
    K: { Type: 'AWS::KMS::Key' },
    ChatFunction: {
      Type: 'AWS::Lambda::Function',
      Properties: { MemorySize: 256, TracingConfig: { Mode: 'Active' } },
    },
  };
  const now = environmentCost(inventory(env(resources, 'dev')), retention);
  const lambda = now.perThousand.requestPathComponents.find((c) => c.service === 'Lambda')!;
  const xray = now.perThousand.requestPathComponents.find((c) => c.service === 'X-Ray')!;
  const baseline = parseBaseline(
    {
      environments: [
        {
          envName: 'dev',
          idleMonthly: now.idleMonthly + 8.76,
          idleItems: [
            { description: 'KMS key K', monthly: 1 },
            { description: 'interface endpoint kms x 1 AZ', monthly: 8.76 },
          ],
          perThousand: {
            requestPath: now.perThousand.requestPath + lambda.perThousand,
            requestPathComponents: now.perThousand.requestPathComponents.map((c) =>
              c === lambda ? { ...c, detail: 'chat 512 MB', perThousand: 2 * c.perThousand } : c,
            ),
          },
        },
      ],
    },
    'fixture.json',
  );
  const text = renderChanges(baseline, [now], 'fixture.json');

  it('lists each moved line with its amount and detail before and after, and only those', () => {
    expect(text).toContain(
      `== dev: idle $${(now.idleMonthly + 8.76).toFixed(2)} -> $${now.idleMonthly.toFixed(2)} (-$8.76)/month`,
    );
    expect(text).toContain('per 1,000 requests: 1 moved');
    expect(text).toMatch(
      new RegExp(
        `Lambda +\\$${(2 * lambda.perThousand).toFixed(4)} -> +\\$${lambda.perThousand.toFixed(4)}  chat 512 MB -> chat 256 MB`,
      ),
    );
    expect(text).not.toContain(xray.detail);
    expect(text).toContain('idle: 1 moved');
    expect(text).toMatch(/\$8\.76 -> +\$0\.00 {2}interface endpoint kms x 1 AZ/);
    expect(text).not.toContain('KMS key K');
  });

  it('refuses a file that is not a cost report', () => {
    expect(() => parseBaseline({ environments: [{ envName: 'dev' }] }, 'x.json')).toThrow(
      /x\.json is not a cost report/,
    );
    expect(() => parseBaseline(null, 'y.json')).toThrow(/y\.json/);
  });

  it('the committed baseline parses and names every environment', () => {
    const committed = parseBaseline(
      JSON.parse(readFileSync(new URL('../../docs/cost-baseline.json', import.meta.url), 'utf8')),
      'docs/cost-baseline.json',
    );
    expect(committed.environments.map((e) => e.envName)).toEqual(['dev', 'staging', 'prod']);
  });
});

describe('the synthesized prod environment', () => {
  it('classifies every resource type and prices each endpoint in its configured zones (2 of 3)', () => {
    const stage = stageFor('prod');
    const stacks = [stage.data, stage.identity, stage.network, stage.api, stage.monitoring].map((stack) => ({
      stackName: stack.stackName,
      template: Template.fromStack(stack).toJSON() as { Resources?: Record<string, CfnResource> },
    }));
    const inv = inventory({ envName: 'prod', stacks });
    expect(inv.unpriced).toEqual([]);
    const endpoints = inv.idle.filter((i) => i.priceKey === 'interfaceEndpointHour');
    expect(endpoints.length).toBeGreaterThan(0);
    const zones = configOf('prod').network.interfaceEndpointAzs;
    expect(zones).toBe(2);
    for (const e of endpoints) expect(e.quantity).toBe(zones! * h);
    expect(inv.facts.cognitoTier).toBe('PLUS');
  });
});
