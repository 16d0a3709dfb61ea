/**
 * The streaming chat path's infrastructure (issue 20, docs/streaming.md): config switch
 * `chat.streaming`, the streaming function and its IAM, the `execute-api` endpoint, the private
 * REST API with a streaming Lambda integration, the IP target group of the endpoint's addresses
 * and the load balancer's streaming rules, asserted on the synthesized Api stacks.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { environmentConfigSchema } from '../../lib/config/schema';
import { planListenerRules, RULE_PRIORITY } from '../../lib/constructs/edge/listener-rules';
import { configOf, stageFor, stageWith } from '../support/synth';

/** Synthesized template JSON, read field by field (the assertions check its shape). */
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON has no static type here
type Json = any;
type Resources = Record<string, { Type: string; Properties: Record<string, Json> }>;

const STREAMING_ENVS = ['staging', 'prod'] as const;

function resourcesOf(template: Template, type: string): [string, Resources[string]][] {
  return Object.entries(template.toJSON().Resources as Resources).filter(([, r]) => r.Type === type);
}

const listenerRules = (template: Template) =>
  resourcesOf(template, 'AWS::ElasticLoadBalancingV2::ListenerRule')
    .map(([, r]) => r.Properties)
    .sort((a, b) => a.Priority - b.Priority);

describe('config chat.streaming', () => {
  it('defaults to off, and is on in staging and prod, off in dev', () => {
    const { chat: _chat, ...withoutChat } = configOf('dev') as Record<string, unknown>;
    expect(environmentConfigSchema.parse(withoutChat).chat).toEqual({ streaming: false });
    expect(configOf('dev').chat.streaming).toBe(false);
    for (const env of STREAMING_ENVS) expect(configOf(env).chat.streaming).toBe(true);
  });

  it('refuses a value that is not a boolean, naming the field', () => {
    const result = environmentConfigSchema.safeParse({ ...configOf('dev'), chat: { streaming: 'yes' } });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues[0]?.path)).toBe('["chat","streaming"]');
  });
});

describe('dev (streaming off)', () => {
  const template = Template.fromStack(stageFor('dev').api);

  it('builds no streaming function, endpoint, API or streaming rule', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 0);
    expect(resourcesOf(template, 'AWS::EC2::VPCEndpoint')).toHaveLength(0);
    expect(resourcesOf(template, 'AWS::Lambda::Function').map(([id]) => id)).not.toContainEqual(
      expect.stringMatching(/^ChatStream/),
    );
    expect(listenerRules(template).filter((r) => r.Transforms !== undefined)).toEqual([]);
    expect(listenerRules(template).map((r) => r.Priority)).not.toContain(RULE_PRIORITY.stream);
  });
});

describe('dev with chat.streaming on (one endpoint zone)', () => {
  const config = configOf('dev');
  const template = Template.fromStack(stageWith({ ...config, chat: { streaming: true } }).api);

  it('registers one address per endpoint zone (config network.interfaceEndpointAzs)', () => {
    const [, group] = resourcesOf(template, 'AWS::ElasticLoadBalancingV2::TargetGroup').find(
      ([, r]) => r.Properties.TargetType === 'ip',
    )!;
    expect(config.network.interfaceEndpointAzs).toBe(1);
    expect(group.Properties.Targets).toHaveLength(1);
    const [, endpoint] = resourcesOf(template, 'AWS::EC2::VPCEndpoint')[0]!;
    expect(endpoint.Properties.SubnetIds).toHaveLength(1);
  });
});

describe.each(STREAMING_ENVS)('%s (streaming on)', (envName) => {
  const config = configOf(envName);
  const template = Template.fromStack(stageFor(envName).api);
  const json = template.toJSON() as { Resources: Resources };
  const idOf = (type: string, pattern: RegExp): string => {
    const found = resourcesOf(template, type).filter(([id]) => pattern.test(id));
    expect(found, `${type} ${pattern}`).toHaveLength(1);
    return found[0]![0];
  };
  const endpointId = idOf('AWS::EC2::VPCEndpoint', /^StreamingApiEndpoint[0-9A-F]{8}$/);
  const apiId = idOf('AWS::ApiGateway::RestApi', /^StreamingApi[0-9A-F]{8}$/);
  const streamFunctionId = idOf('AWS::Lambda::Function', /^ChatStreamFunction[0-9A-F]{8}$/);
  const chatFunctionId = idOf('AWS::Lambda::Function', /^ChatFunction[0-9A-F]{8}$/);
  const zones = config.network.interfaceEndpointAzs ?? config.network.maxAzs;

  it('adds an execute-api interface endpoint without private DNS, only for our method, only from the load balancer', () => {
    const endpoint = json.Resources[endpointId]!.Properties;
    expect(endpoint).toMatchObject({
      VpcEndpointType: 'Interface',
      ServiceName: `com.amazonaws.${config.region}.execute-api`,
      PrivateDnsEnabled: false,
    });
    expect(endpoint.SubnetIds).toHaveLength(zones);
    expect(endpoint.PolicyDocument.Statement).toEqual([
      {
        Sid: 'ThisAccountStreamingMethodOnly',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: `arn:aws:execute-api:${config.region}:${config.account}:*/stream/POST/api/v1/chat`,
        Condition: { StringEquals: { 'aws:PrincipalAccount': config.account } },
      },
    ]);
    const sgId = endpoint.SecurityGroupIds[0]['Fn::GetAtt'][0] as string;
    const sg = json.Resources[sgId]!.Properties;
    expect(sg.SecurityGroupIngress ?? []).toEqual([]);
    expect(sg.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32' })]);
    const ingress = resourcesOf(template, 'AWS::EC2::SecurityGroupIngress').filter(
      ([, r]) => r.Properties.GroupId['Fn::GetAtt']?.[0] === sgId,
    );
    expect(ingress).toHaveLength(1);
    expect(ingress[0]![1].Properties).toMatchObject({
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^EdgeSecurityGroup/), 'GroupId'] },
    });
  });

  it('makes the REST API private, reachable only through that endpoint', () => {
    const api = json.Resources[apiId]!.Properties;
    expect(api.EndpointConfiguration).toEqual({ Types: ['PRIVATE'], VpcEndpointIds: [{ Ref: endpointId }] });
    expect(api.Policy.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'execute-api:Invoke',
        Condition: { StringEquals: { 'aws:SourceVpce': { Ref: endpointId } } },
      }),
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
        Condition: { StringNotEquals: { 'aws:SourceVpce': { Ref: endpointId } } },
      }),
    ]);
  });

  it('has one method, POST /api/v1/chat, a streaming Lambda proxy to the streaming function', () => {
    const methods = resourcesOf(template, 'AWS::ApiGateway::Method');
    expect(methods).toHaveLength(1);
    const method = methods[0]![1].Properties;
    expect(method).toMatchObject({
      HttpMethod: 'POST',
      AuthorizationType: 'NONE',
      RequestParameters: { 'method.request.header.Accept': true },
      Integration: { Type: 'AWS_PROXY', ResponseTransferMode: 'STREAM', IntegrationHttpMethod: 'POST' },
    });
    const uri = JSON.stringify(method.Integration.Uri);
    expect(uri).toContain('/response-streaming-invocations');
    expect(uri).toContain(streamFunctionId);
    const paths = resourcesOf(template, 'AWS::ApiGateway::Resource').map(([, r]) => r.Properties.PathPart);
    expect(paths.sort()).toEqual(['api', 'chat', 'v1']);
    // Only this API may invoke the function, and only this method's ARN.
    const permissions = resourcesOf(template, 'AWS::Lambda::Permission').filter(
      ([, r]) => r.Properties.FunctionName['Fn::GetAtt']?.[0] === streamFunctionId,
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0]![1].Properties.Principal).toBe('apigateway.amazonaws.com');
    const sourceArn = JSON.stringify(permissions[0]![1].Properties.SourceArn);
    expect(sourceArn).toContain(apiId);
    expect(sourceArn).toMatch(/StreamingApiDeploymentStagestream\w+"},"\/POST\/api\/v1\/chat"/);
  });

  it('logs every request to a CMK-encrypted log group with retention, and traces with X-Ray', () => {
    const stage = resourcesOf(template, 'AWS::ApiGateway::Stage');
    expect(stage).toHaveLength(1);
    const props = stage[0]![1].Properties;
    expect(props).toMatchObject({ StageName: 'stream', TracingEnabled: true });
    expect(props.MethodSettings).toEqual([
      expect.objectContaining({ CachingEnabled: false, DataTraceEnabled: false }),
    ]);
    const logGroupId = JSON.stringify(props.AccessLogSetting.DestinationArn).match(
      /StreamingApiAccessLogs\w+/,
    )![0];
    expect(json.Resources[logGroupId]!.Properties).toMatchObject({
      KmsKeyId: expect.anything(),
      RetentionInDays: config.logRetentionDays,
    });
    expect(JSON.parse(props.AccessLogSetting.Format)).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      integrationError: '$context.integration.error',
    });
  });

  it('runs the streaming function like chat: same VPC placement, environment, key and reservation', () => {
    const stream = json.Resources[streamFunctionId]!.Properties;
    const chat = json.Resources[chatFunctionId]!.Properties;
    expect(stream.VpcConfig.SubnetIds).toEqual(chat.VpcConfig.SubnetIds);
    expect(stream.Environment).toEqual(chat.Environment);
    expect(stream.KmsKeyArn).toEqual(chat.KmsKeyArn);
    expect(stream.TracingConfig).toEqual({ Mode: 'Active' });
    expect(stream.ReservedConcurrentExecutions).toBe(config.reservedConcurrency?.chat);
    expect(stream.Runtime).toBe('nodejs22.x');
    expect(stream.Architectures).toEqual(['arm64']);
    expect(stream.LoggingConfig.LogGroup.Ref).toMatch(/^ChatStreamLogs/);
  });

  it('lets the streaming function only stream from allow-listed models with our guardrail, with the same denies', () => {
    const policyOf = (fn: string) =>
      resourcesOf(template, 'AWS::IAM::ManagedPolicy').find(([id]) =>
        new RegExp(`^${fn}Policy[0-9A-F]{8}$`).test(id),
      )![1].Properties.PolicyDocument.Statement as Array<Record<string, Json>>;
    const stream = policyOf('ChatStream');
    const chat = policyOf('Chat');
    const bedrockAllows = (statements: Array<Record<string, Json>>) =>
      statements.filter(
        (s) => s.Effect === 'Allow' && [s.Action].flat().some((a: string) => a.startsWith('bedrock:Invoke')),
      );
    expect(bedrockAllows(stream)).toHaveLength(1);
    const [allow] = bedrockAllows(stream);
    expect(allow).toMatchObject({
      Sid: 'InvokeAllowedModelsWithGuardrail',
      Action: 'bedrock:InvokeModelWithResponseStream',
    });
    const [chatAllow] = bedrockAllows(chat);
    expect(chatAllow!.Action).toBe('bedrock:InvokeModel');
    expect(allow!.Resource).toEqual(chatAllow!.Resource);
    expect(allow!.Condition).toEqual(chatAllow!.Condition);
    const denies = (statements: Array<Record<string, Json>>) => statements.filter((s) => s.Effect === 'Deny');
    expect(denies(stream)).toEqual(denies(chat));
    expect(denies(stream).map((s) => s.Action)).toEqual([
      ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
      ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
    ]);
    // The rest of the function's access is chat's.
    const withoutBedrock = (statements: Array<Record<string, Json>>) =>
      statements.filter((s) => !JSON.stringify(s).includes('bedrock'));
    // (Its own log group: the same statements but for the log group's logical id.)
    const normalized = (statements: Array<Record<string, Json>>) =>
      JSON.stringify(withoutBedrock(statements))
        .replace(/ChatStreamLogs|ChatLogs/g, 'Logs')
        .replace(/LogGroup[0-9A-F]{8}/g, 'LogGroup');
    expect(normalized(stream)).toEqual(normalized(chat));
  });

  it("targets the endpoint's addresses over HTTPS, read at deploy time from its interfaces", () => {
    const [, group] = resourcesOf(template, 'AWS::ElasticLoadBalancingV2::TargetGroup').find(
      ([, r]) => r.Properties.TargetType === 'ip',
    )!;
    expect(group.Properties).toMatchObject({ Protocol: 'HTTPS', Port: 443, ProtocolVersion: 'HTTP1' });
    const lookupId = idOf('Custom::EndpointAddresses', /^StreamingApiEndpointAddresses/);
    expect(json.Resources[lookupId]!.Properties.NetworkInterfaceIds).toEqual({
      'Fn::GetAtt': [endpointId, 'NetworkInterfaceIds'],
    });
    expect(group.Properties.Targets).toEqual(
      Array.from({ length: zones }, (_, i) => ({
        Id: { 'Fn::GetAtt': [lookupId, `Address${i}`] },
        Port: 443,
      })),
    );
    const lookupPolicy = resourcesOf(template, 'AWS::IAM::ManagedPolicy').find(([id]) =>
      /^StreamingApiDescribeInterfacesPolicy/.test(id),
    )![1].Properties.PolicyDocument.Statement;
    expect(lookupPolicy).toEqual([
      {
        Sid: 'DescribeEndpointInterfaces',
        Effect: 'Allow',
        Action: 'ec2:DescribeNetworkInterfaces',
        Resource: '*',
      },
    ]);
  });

  it('streams POST /api/v1/chat with Accept text/event-stream ahead of the whole-reply rules, with the same authentication', () => {
    const rules = listenerRules(template);
    const stream = rules.filter((r) => r.Transforms !== undefined);
    expect(stream.map((r) => r.Priority)).toEqual([500, 501, 502]);
    const chatRules = rules.filter((r) => JSON.stringify(r.Actions).includes('EdgeChatTargetGroup'));
    expect(Math.max(...stream.map((r) => r.Priority))).toBeLessThan(
      Math.min(...chatRules.map((r) => r.Priority)),
    );
    // Bearer, API key, session: each streaming rule authenticates as the whole-reply chat rule of its band.
    for (const [index, rule] of stream.entries()) {
      const wholeReply = chatRules[index]!;
      expect(rule.Actions.slice(0, -1)).toEqual(wholeReply.Actions.slice(0, -1));
      expect(rule.Actions.at(-1)).toMatchObject({
        Type: 'forward',
        TargetGroupArn: { Ref: expect.stringMatching(/^StreamingApiTargetGroup/) },
      });
      const conditions = Object.fromEntries(
        rule.Conditions.map((c: Record<string, Json>) => [
          c.Field === 'http-header' ? `header:${c.HttpHeaderConfig.HttpHeaderName}` : c.Field,
          c.PathPatternConfig?.Values ?? c.HttpRequestMethodConfig?.Values ?? c.HttpHeaderConfig?.Values,
        ]),
      );
      expect(conditions).toMatchObject({
        'path-pattern': ['/api/v1/chat'],
        'http-request-method': ['POST'],
        'header:accept': ['*text/event-stream*'],
      });
      const credential = wholeReply.Conditions.find((c: Record<string, Json>) => c.Field === 'http-header');
      expect(rule.Conditions).toEqual(credential ? expect.arrayContaining([credential]) : expect.any(Array));
      expect(rule.Transforms).toEqual([
        {
          Type: 'host-header-rewrite',
          HostHeaderRewriteConfig: {
            Rewrites: [
              {
                Regex: '^.*$',
                Replace: {
                  'Fn::Join': [
                    '',
                    [{ Ref: apiId }, `.execute-api.${config.region}.`, { Ref: 'AWS::URLSuffix' }],
                  ],
                },
              },
            ],
          },
        },
        {
          Type: 'url-rewrite',
          UrlRewriteConfig: { Rewrites: [{ Regex: '^/(.*)$', Replace: '/stream/$1' }] },
        },
      ]);
    }
    expect(stream.map((r) => r.Actions[0].Type)).toEqual([
      'jwt-validation',
      'forward',
      'authenticate-cognito',
    ]);
  });

  it('adds no API Gateway account setting (no account-wide CloudWatch role)', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', Match.objectLike({ Name: Match.anyValue() }));
  });
});

describe('planListenerRules with a streamed route', () => {
  const routes = [
    { name: 'Chat', pathPatterns: ['/api/v1/chat', '/api/v1/models'], streamPath: '/api/v1/chat' },
    { name: 'Keys', pathPatterns: ['/api/v1/keys'] },
  ];

  it('plans Bearer, API-key and session streaming rules in the stream band, before every other API rule', () => {
    const rules = planListenerRules(routes);
    const stream = rules.filter((r) => r.stream);
    expect(stream.map((r) => [r.id, r.priority, r.auth, r.target])).toEqual([
      ['ChatStreamBearer', 500, 'jwt', 'ChatStream'],
      ['ChatStreamApiKey', 501, 'api-key', 'ChatStream'],
      ['ChatStreamSession', 502, 'session-deny', 'ChatStream'],
    ]);
    expect(
      stream.every((r) => r.methods?.join() === 'POST' && r.pathPatterns.join() === '/api/v1/chat'),
    ).toBe(true);
    // The whole-reply rules keep their priorities.
    expect(rules.find((r) => r.id === 'ChatBearer')?.priority).toBe(RULE_PRIORITY.bearer);
    const priorities = rules.map((r) => r.priority);
    expect(priorities).toEqual([...priorities].sort((a, b) => a - b));
  });

  it.each([
    [
      { name: 'Chat', pathPatterns: ['/api/v1/chat'], streamPath: '/api/v1/other' },
      /must be one of its pathPatterns/,
    ],
    [{ name: 'Chat', pathPatterns: ['/api/v1/*'], streamPath: '/api/v1/*' }, /without wildcards/],
  ])('refuses a streamPath the route does not serve exactly', (route, message) => {
    expect(() => planListenerRules([route])).toThrow(message);
  });
});
