import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Aspects, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { cdkJsonContext } from '../../lib/app';
import { BucketRules, RetainStatefulRules } from '../../lib/aspects/org-rules';
import { addCompliancePlugins, COMPLIANCE_PACKS } from '../../lib/compliance/plugins';
import { type CdkValidationReport, packsFromValidationReport } from '../../lib/compliance/report';
import { environments } from '../../lib/config/environments';
import { parseEnvironmentConfig } from '../../lib/config/load';
import type { EnvironmentConfig } from '../../lib/config/schema';
import { planListenerRules, RULE_PRIORITY, WEB_PATHS } from '../../lib/constructs/edge/listener-rules';
import {
  type ApiRoute,
  ChatLoadBalancer,
  LISTENER_RESPONSE_HEADERS,
  NOT_FOUND_BODY,
} from '../../lib/constructs/edge/load-balancer';
import { PrivateNetwork } from '../../lib/constructs/private-network';
import { WebAcl } from '../../lib/constructs/web-acl';
import { configOf, ENV_NAMES } from '../support/synth';

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string[];
  DeletionPolicy?: string;
};
type Condition = {
  Field: string;
  PathPatternConfig?: { Values: string[] };
  HttpHeaderConfig?: { HttpHeaderName: string; Values: string[] };
  HttpRequestMethodConfig?: { Values: string[] };
};
type Action = { Type: string; Order?: number; TargetGroupArn?: unknown; [key: string]: unknown };

/** The routes ApiStack will pass: functions split by privilege. */
const ROUTES: ReadonlyArray<{ name: string; pathPatterns: string[] }> = [
  { name: 'Chat', pathPatterns: ['/api/v1/chat', '/api/v1/models'] },
  {
    name: 'History',
    pathPatterns: ['/api/v1/conversations', '/api/v1/conversations/*', '/api/v1/me', '/api/v1/me/*'],
  },
  { name: 'Keys', pathPatterns: ['/api/v1/keys', '/api/v1/keys/*'] },
  { name: 'Admin', pathPatterns: ['/api/v1/admin/*'] },
];

const STACK = 'Edge';

/** A stack with the real network and web ACL, a user pool, stand-in functions and the load balancer. */
function build(config: EnvironmentConfig, options: { app?: App; routes?: typeof ROUTES } = {}) {
  const app = options.app ?? new App({ context: cdkJsonContext() });
  const stack = new Stack(app, STACK, { env: { account: config.account, region: config.region } });
  const logsKey = new kms.Key(stack, 'LogsKey', { enableKeyRotation: true });
  const network = new PrivateNetwork(stack, 'Network', {
    cidr: config.network.vpcCidr,
    availabilityZones: config.network.availabilityZones,
    maxAzs: config.network.maxAzs,
    natEgress: config.network.natEgress,
    logsKey,
    flowLogRetention: logs.RetentionDays.ONE_YEAR,
  });
  const userPool = new cognito.UserPool(stack, 'Pool');
  const albClient = userPool.addClient('AlbClient', {
    generateSecret: true,
    oAuth: {
      flows: { authorizationCodeGrant: true },
      callbackUrls: [`https://${config.identity.callbackHost}/oauth2/idpresponse`],
      scopes: [cognito.OAuthScope.OPENID],
    },
  });
  const domain = userPool.addDomain('Domain', {
    cognitoDomain: { domainPrefix: config.identity.domainPrefix },
  });
  const webAcl = new WebAcl(stack, 'Acl', {
    envName: config.name,
    rateLimitPerMinute: config.edge.rateLimitPerMinute,
    chatRateLimitPerMinute: config.edge.chatRateLimitPerMinute,
    promptInjectionAction: config.edge.promptInjectionAction,
    logsKey,
    logRetention: logs.RetentionDays.ONE_YEAR,
  });
  const fn = (id: string) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
    });
  const functions: Record<string, lambda.Function> = { health: fn('HealthFn'), web: fn('WebFn') };
  const apiRoutes: ApiRoute[] = (options.routes ?? ROUTES).map((r) => {
    functions[r.name] = fn(`${r.name}Fn`);
    return { name: r.name, pathPatterns: r.pathPatterns, target: functions[r.name]! };
  });
  const issuer = `https://cognito-idp.${config.region}.amazonaws.com/${userPool.userPoolId}`;
  const alb = new ChatLoadBalancer(stack, 'Alb', {
    vpc: network.vpc,
    config,
    userPool,
    albClient,
    domain,
    issuer,
    webAcl,
    healthTarget: functions.health!,
    webTarget: functions.web!,
    apiRoutes,
  });
  return { app, stack, alb, functions, userPool, albClient, domain, webAcl };
}

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

describe.each(ENV_NAMES)('load balancer of %s', (envName) => {
  const config = configOf(envName);
  const { stack, alb, functions, userPool, albClient, domain } = build(config);
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const tgRef = (key: string) => ({ Ref: logicalId(stack, alb.targetGroups[key]!) });
  const [lbId] = ofType('AWS::ElasticLoadBalancingV2::LoadBalancer')[0]!;
  const attributes = Object.fromEntries(
    (resources[lbId]!.Properties.LoadBalancerAttributes as Array<{ Key: string; Value: string }>).map((a) => [
      a.Key,
      a.Value,
    ]),
  );
  const listener = (port: number) => {
    const found = ofType('AWS::ElasticLoadBalancingV2::Listener').filter(
      ([, r]) => r.Properties.Port === port,
    );
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const rules = ofType('AWS::ElasticLoadBalancingV2::ListenerRule')
    .map(([, r]) => r.Properties as { Priority: number; Conditions: Condition[]; Actions: Action[] })
    .sort((a, b) => a.Priority - b.Priority);
  const cognitoConfig = (onUnauthenticated: string) => ({
    UserPoolArn: { 'Fn::GetAtt': [logicalId(stack, userPool), 'Arn'] },
    UserPoolClientId: { Ref: logicalId(stack, albClient) },
    UserPoolDomain: { Ref: logicalId(stack, domain) },
    Scope: 'openid',
    SessionCookieName: 'AWSELBAuthSessionCookie',
    SessionTimeout: config.edge.sessionTimeoutSeconds,
    OnUnauthenticatedRequest: onUnauthenticated,
  });

  it('has exactly the planned rules, in the documented priority order', () => {
    const summary = rules.map((r) => ({
      priority: r.Priority,
      paths: r.Conditions.find((c) => c.Field === 'path-pattern')?.PathPatternConfig?.Values,
      header: r.Conditions.find((c) => c.Field === 'http-header')?.HttpHeaderConfig,
      actions: r.Actions.map((a) => a.Type),
    }));
    const forward = (key: string) => ({ Type: 'forward', TargetGroupArn: tgRef(key) });
    const expected = [
      { priority: 10, paths: ['/healthz'], header: undefined, actions: ['forward'] },
      ...ROUTES.map((route, i) => ({
        priority: 1000 + i,
        paths: route.pathPatterns,
        header: { HttpHeaderName: 'authorization', Values: ['Bearer *'] },
        actions: ['jwt-validation', 'forward'],
      })),
      ...ROUTES.map((route, i) => ({
        priority: 2000 + i,
        paths: route.pathPatterns,
        header: { HttpHeaderName: 'x-api-key', Values: ['ak_*'] },
        actions: ['forward'],
      })),
      ...ROUTES.map((route, i) => ({
        priority: 3000 + i,
        paths: route.pathPatterns,
        header: undefined,
        actions: ['authenticate-cognito', 'forward'],
      })),
      {
        priority: 4000,
        paths: [...WEB_PATHS],
        header: undefined,
        actions: ['authenticate-cognito', 'forward'],
      },
    ];
    expect(summary).toEqual(expected);
    // Each variant of a route forwards to that route's own target group.
    for (const [i, route] of ROUTES.entries()) {
      for (const band of [1000, 2000, 3000]) {
        const rule = rules.find((r) => r.Priority === band + i)!;
        expect(rule.Actions.at(-1)).toMatchObject(forward(route.name));
      }
    }
    expect(rules[0]!.Actions).toEqual([forward('health')]);
    expect(rules.at(-1)!.Actions.at(-1)).toMatchObject(forward('web'));
  });

  it('answers /healthz for GET and HEAD only, without authentication', () => {
    expect(rules[0]!.Conditions).toContainEqual({
      Field: 'http-request-method',
      HttpRequestMethodConfig: { Values: ['GET', 'HEAD'] },
    });
  });

  it('validates Bearer tokens at the listener: the pool issuer, its JWKS and token_use=access', () => {
    for (const rule of rules.filter((r) => r.Priority >= 1000 && r.Priority < 2000)) {
      const jwt = rule.Actions[0]!;
      expect(jwt).toMatchObject({ Type: 'jwt-validation', Order: 1 });
      expect(jwt.JwtValidationConfig).toEqual({
        Issuer: expect.objectContaining({ 'Fn::Join': expect.any(Array) }),
        JwksEndpoint: expect.objectContaining({ 'Fn::Join': expect.any(Array) }),
        AdditionalClaims: [{ Name: 'token_use', Format: 'single-string', Values: ['access'] }],
      });
      const parts = (jwt.JwtValidationConfig as { JwksEndpoint: { 'Fn::Join': [string, unknown[]] } })
        .JwksEndpoint['Fn::Join'][1];
      expect(parts[0]).toBe(`https://cognito-idp.${config.region}.amazonaws.com/`);
      expect(parts.at(-1)).toBe('/.well-known/jwks.json');
    }
  });

  it('denies API calls without a credential or session with 401 (no redirect), and signs browsers in', () => {
    for (const rule of rules.filter((r) => r.Priority >= 3000 && r.Priority < 4000)) {
      expect(rule.Actions[0]!.AuthenticateCognitoConfig).toMatchObject(cognitoConfig('deny'));
    }
    expect(rules.at(-1)!.Actions[0]!.AuthenticateCognitoConfig).toMatchObject(cognitoConfig('authenticate'));
  });

  it('passes API-key requests to the function without ALB authentication (the function checks the key)', () => {
    for (const rule of rules.filter((r) => r.Priority >= 2000 && r.Priority < 3000)) {
      expect(rule.Actions).toHaveLength(1);
      expect(rule.Actions[0]!.Type).toBe('forward');
    }
  });

  it('answers anything else with a JSON 404', () => {
    const [, https] = listener(443);
    expect(https.Properties.DefaultActions).toEqual([
      {
        Type: 'fixed-response',
        FixedResponseConfig: {
          StatusCode: '404',
          ContentType: 'application/json',
          MessageBody: NOT_FOUND_BODY,
        },
      },
    ]);
  });

  it('terminates TLS with the TLS 1.3 restricted post-quantum policy and the configured certificate', () => {
    const [, https] = listener(443);
    expect(https.Properties).toMatchObject({
      Protocol: 'HTTPS',
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09',
    });
    const certificate = config.edge.certificate;
    if (certificate.source === 'arn') {
      expect(https.Properties.Certificates).toEqual([{ CertificateArn: certificate.arn }]);
      template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    } else {
      const [certId] = ofType('AWS::CertificateManager::Certificate')[0]!;
      expect(https.Properties.Certificates).toEqual([{ CertificateArn: { Ref: certId } }]);
      template.hasResourceProperties('AWS::CertificateManager::Certificate', {
        DomainName: config.edge.hostName,
        ValidationMethod: 'DNS',
        DomainValidationOptions: [
          { DomainName: config.edge.hostName, HostedZoneId: certificate.hostedZoneId },
        ],
      });
    }
  });

  it('only redirects port 80 to HTTPS (301), with no rules of its own', () => {
    const [httpId, http] = listener(80);
    expect(http.Properties).toMatchObject({
      Protocol: 'HTTP',
      DefaultActions: [
        { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
      ],
    });
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    for (const [, rule] of ofType('AWS::ElasticLoadBalancingV2::ListenerRule')) {
      expect(rule.Properties.ListenerArn).not.toEqual({ Ref: httpId });
    }
  });

  it('adds HSTS and related headers at the HTTPS listener and hides the Server header', () => {
    const [, https] = listener(443);
    expect(https.Properties.ListenerAttributes).toEqual(
      Object.entries(LISTENER_RESPONSE_HEADERS).map(([Key, Value]) => ({ Key, Value })),
    );
    expect(LISTENER_RESPONSE_HEADERS['routing.http.response.strict_transport_security.header_value']).toMatch(
      /^max-age=31536000; includeSubDomains$/,
    );
    const [, http] = listener(80);
    expect(http.Properties.ListenerAttributes).toEqual([
      { Key: 'routing.http.response.server.enabled', Value: 'false' },
    ]);
  });

  it(`is ${config.edge.internal ? 'internal' : 'internet-facing'} with hardened attributes`, () => {
    expect(resources[lbId]!.Properties).toMatchObject({
      Type: 'application',
      Scheme: config.edge.internal ? 'internal' : 'internet-facing',
      SecurityGroups: [{ 'Fn::GetAtt': [logicalId(stack, alb.securityGroup), 'GroupId'] }],
    });
    expect(attributes).toMatchObject({
      'deletion_protection.enabled': String(envName !== 'dev'),
      'routing.http.drop_invalid_header_fields.enabled': 'true',
      'routing.http.desync_mitigation_mode': 'strictest',
      'waf.fail_open.enabled': 'false',
      'access_logs.s3.enabled': 'true',
    });
    expect(resources[lbId]!.Properties.LoadBalancerAttributes).toContainEqual({
      Key: 'access_logs.s3.bucket',
      Value: { Ref: logicalId(stack, alb.accessLogsBucket) },
    });
  });

  it('sits in the public subnets only', () => {
    const subnets = resources[lbId]!.Properties.Subnets as Array<{ Ref: string }>;
    expect(subnets).toHaveLength(config.network.maxAzs);
    for (const subnet of subnets) expect(subnet.Ref).toMatch(/LoadBalancerSubnet/);
  });

  it('logs to a dedicated SSE-S3 bucket that only ELB log delivery may write to', () => {
    const bucketId = logicalId(stack, alb.accessLogsBucket);
    const bucket = resources[bucketId]!;
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [
          expect.objectContaining({
            ExpirationInDays: config.edge.accessLogRetentionDays,
            Status: 'Enabled',
          }),
        ],
      },
    });
    expect(bucket.DeletionPolicy).toBe(config.removalPolicy === 'destroy' ? 'Delete' : 'Retain');
    const [policyId, policy] = ofType('AWS::S3::BucketPolicy').find(
      ([, p]) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: bucketId }),
    )!;
    const statements = (policy.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> })
      .Statement;
    const writes = statements.filter((s) => s.Effect === 'Allow');
    // eu-central-1 opened before August 2022: ELB writes as its regional account 054676820928.
    expect(writes).toEqual([
      {
        Sid: 'ElbAccessLogDelivery',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Principal: { AWS: 'arn:aws:iam::054676820928:root' },
        Resource: {
          'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/AWSLogs/${config.account}/*`]],
        },
      },
    ]);
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    // The bucket policy exists before the load balancer turns logging on (ELB test-writes).
    expect(resources[lbId]!.DependsOn).toContain(policyId);
  });

  it('admits 443 and 80 from the allowed CIDRs only, and sends only HTTPS out', () => {
    const sg = resources[logicalId(stack, alb.securityGroup)]!.Properties;
    const ingress = (sg.SecurityGroupIngress as Array<Record<string, unknown>>).map((r) => ({
      cidr: r.CidrIp,
      from: r.FromPort,
      to: r.ToPort,
      protocol: r.IpProtocol,
    }));
    expect(ingress).toEqual(
      config.allowedIngressCidrs.flatMap((cidr) => [
        { cidr, from: 443, to: 443, protocol: 'tcp' },
        { cidr, from: 80, to: 80, protocol: 'tcp' },
      ]),
    );
    expect(sg.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
    ]);
    // No rule elsewhere widens the load balancer's group.
    for (const [, rule] of ofType('AWS::EC2::SecurityGroupIngress')) {
      expect(rule.Properties.GroupId).not.toEqual({
        'Fn::GetAtt': [logicalId(stack, alb.securityGroup), 'GroupId'],
      });
    }
  });

  it('lets each function be invoked only by its own target group in this account', () => {
    const permissions = ofType('AWS::Lambda::Permission');
    expect(permissions).toHaveLength(Object.keys(functions).length);
    for (const [key, group] of Object.entries(alb.targetGroups)) {
      const groupId = logicalId(stack, group);
      const tg = resources[groupId]!;
      const name = tg.Properties.Name as string;
      expect(name.length).toBeLessThanOrEqual(32);
      expect(tg.Properties).toMatchObject({
        TargetType: 'lambda',
        Targets: [{ Id: { 'Fn::GetAtt': [logicalId(stack, functions[key]!), 'Arn'] } }],
      });
      const [permissionId, permission] = permissions.find(
        ([, p]) =>
          JSON.stringify(p.Properties.FunctionName) ===
          JSON.stringify({ 'Fn::GetAtt': [logicalId(stack, functions[key]!), 'Arn'] }),
      )!;
      expect(permission.Properties).toEqual({
        Action: 'lambda:InvokeFunction',
        FunctionName: expect.anything(),
        Principal: 'elasticloadbalancing.amazonaws.com',
        SourceAccount: config.account,
        SourceArn: `arn:aws:elasticloadbalancing:${config.region}:${config.account}:targetgroup/${name}/*`,
      });
      expect(tg.DependsOn).toContain(permissionId);
    }
  });

  it('is associated with the web ACL', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: { Ref: lbId },
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AclWebAcl'), 'Arn'] },
    });
  });

  it('keeps its bucket within the org rules (public access, TLS only, retention)', () => {
    const { stack: checked } = build(config);
    Aspects.of(checked).add(new BucketRules());
    Aspects.of(checked).add(new RetainStatefulRules(config.removalPolicy !== 'destroy'));
    const errors = Annotations.fromStack(checked).findError(`/${STACK}/Alb/*`, Match.anyValue());
    expect(errors).toEqual([]);
  });
});

describe.each(ENV_NAMES)('compliance of the load balancer of %s', (envName) => {
  const config = configOf(envName);
  const outdir = mkdtempSync(join(tmpdir(), 'omnichat-edge-'));
  const app = new App({ outdir, context: cdkJsonContext() });
  build(config, { app });
  addCompliancePlugins(app);
  try {
    app.synth();
  } catch {
    // Stand-ins outside the construct (inline functions, bare user pool) have findings of their own.
  }
  const report = JSON.parse(
    readFileSync(join(outdir, 'validation-report.json'), 'utf8'),
  ) as CdkValidationReport;
  rmSync(outdir, { recursive: true, force: true });
  const packs = packsFromValidationReport(report, COMPLIANCE_PACKS);
  const ours = (path: string) =>
    path.startsWith(`${STACK}/Alb/`) || path.startsWith(`${STACK}/Acl/LoadBalancerAssociation`);

  it('leaves zero unacknowledged findings on the load balancer, its bucket, group and permissions', () => {
    const findings = packs.flatMap((p) =>
      p.findings.filter((f) => ours(f.path)).map((f) => `${f.rule} @ ${f.path}`),
    );
    expect(findings).toEqual([]);
  });

  it('acknowledges only findings that cannot be fixed, each with a reason', () => {
    const acknowledged = packs.flatMap((p) => p.acknowledgements.filter((a) => ours(a.path)));
    for (const ack of acknowledged) expect(ack.reason.length).toBeGreaterThan(60);
    const rules = new Set(acknowledged.map((a) => a.rule));
    // The security group's world-open 443/80 only while config admits everyone.
    expect(rules.has('AwsSolutions-EC23')).toBe(config.allowedIngressCidrs.includes('0.0.0.0/0'));
    // Deletion protection is off only in dev.
    expect([...rules].some((r) => /DeletionProtection/i.test(r))).toBe(envName === 'dev');
  });
});

describe('load balancer configuration', () => {
  const dev = configOf('dev');

  it('admits only the configured CIDRs and then needs no acknowledgement for an open group', () => {
    const config = { ...dev, allowedIngressCidrs: ['203.0.113.0/24', '198.51.100.0/24'] };
    const { stack, alb } = build(config);
    const sg = Template.fromStack(stack).toJSON().Resources[logicalId(stack, alb.securityGroup)].Properties;
    expect(
      sg.SecurityGroupIngress.map((r: { CidrIp: string; FromPort: number }) => `${r.CidrIp}:${r.FromPort}`),
    ).toEqual(['203.0.113.0/24:443', '203.0.113.0/24:80', '198.51.100.0/24:443', '198.51.100.0/24:80']);
  });

  it('can be internal, in the private subnets with egress, when NAT egress is on', () => {
    const config = {
      ...dev,
      network: { ...dev.network, natEgress: true },
      edge: { ...dev.edge, internal: true },
    };
    const { stack } = build(config);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
      Subnets: Match.arrayWith([{ Ref: Match.stringLikeRegexp('ComputeSubnet') }]),
    });
  });

  it.each([
    [
      'an internal load balancer without NAT',
      { ...dev, edge: { ...dev.edge, internal: true } },
      /dev\.edge\.internal: an internal load balancer reaches the Cognito .* through NAT/,
    ],
    [
      'a host name other than the Cognito callback host',
      { ...dev, edge: { ...dev.edge, hostName: 'other.example.com' } },
      /dev\.edge\.hostName: must equal identity\.callbackHost \(chat-dev\.example\.com\)/,
    ],
    [
      'a certificate from another region',
      {
        ...dev,
        edge: {
          ...dev.edge,
          certificate: {
            source: 'arn' as const,
            arn: 'arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d-0000-4000-8000-000000000001',
          },
        },
      },
      /dev\.edge\.certificate\.arn: must be a certificate in eu-central-1 .* not us-east-1/,
    ],
  ])('refuses %s before building anything', (_what, config, message) => {
    expect(() => build(config)).toThrow(message);
  });

  it.each([
    [[{ name: 'chat-v1', pathPatterns: ['/api/v1/chat'] }], /name must be letters and digits/],
    [[{ name: 'Health', pathPatterns: ['/api/v1/x'] }], /not health or web/],
    [
      [
        { name: 'Chat', pathPatterns: ['/api/v1/chat'] },
        { name: 'chat', pathPatterns: ['/api/v1/other'] },
      ],
      /name is used twice/,
    ],
    [[{ name: 'Chat', pathPatterns: [] }], /pathPatterns must list 1 to 4 patterns/],
    [[{ name: 'Chat', pathPatterns: ['/api/a', '/api/b', '/api/c', '/api/d', '/api/e'] }], /1 to 4 patterns/],
    [[{ name: 'Chat', pathPatterns: ['/api/*/*/*', '/api/x/*/*'] }], /at most 4 wildcards/],
    [[{ name: 'Chat', pathPatterns: ['/app/*'] }], /must start with \/api\//],
    [
      [
        { name: 'Chat', pathPatterns: ['/api/v1/chat'] },
        { name: 'Admin', pathPatterns: ['/api/v1/chat'] },
      ],
      /already routed to "Chat"/,
    ],
    [[], /at least one route/],
  ])('rejects routes %j', (routes, message) => {
    expect(() => planListenerRules(routes)).toThrow(message);
  });

  it('stays within 100 rules per load balancer: 32 routes fit, 33 do not', () => {
    const routes = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ name: `R${i}`, pathPatterns: [`/api/r${i}`] }));
    expect(planListenerRules(routes(32))).toHaveLength(98);
    expect(() => planListenerRules(routes(33))).toThrow(/101 listener rules exceed the ALB quota of 100/);
  });

  it('keeps every planned rule within 5 condition values and 5 wildcards', () => {
    for (const rule of planListenerRules(ROUTES)) {
      const values = [...rule.pathPatterns, ...(rule.header?.values ?? []), ...(rule.methods ?? [])];
      expect(values.length).toBeLessThanOrEqual(5);
      expect(values.join('').replace(/[^*?]/g, '').length).toBeLessThanOrEqual(5);
    }
    expect(RULE_PRIORITY.health).toBeLessThan(RULE_PRIORITY.bearer);
  });

  it('renders the session timeout in seconds from config', () => {
    const config = { ...dev, edge: { ...dev.edge, sessionTimeoutSeconds: 3600 } };
    const { stack } = build(config);
    Template.fromStack(stack).hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: RULE_PRIORITY.web,
      Actions: Match.arrayWith([
        Match.objectLike({
          AuthenticateCognitoConfig: Match.objectLike({ SessionTimeout: Duration.hours(1).toSeconds() }),
        }),
      ]),
    });
  });
});

describe('edge configuration schema', () => {
  const devEdge = environments.dev!.edge;
  const withEdge = (edge: Record<string, unknown>) => ({
    ...structuredClone(environments.dev!),
    edge: { ...devEdge, ...edge },
  });

  it.each([
    [
      { certificate: { source: 'arn', arn: 'not-an-arn' } },
      /dev\.edge\.certificate\.arn: must be an ACM certificate ARN/,
    ],
    [
      { certificate: { source: 'hostedZone', hostedZoneId: 'zone', zoneName: 'example.com' } },
      /dev\.edge\.certificate\.hostedZoneId: must be a Route 53 hosted zone id/,
    ],
    [
      { certificate: { source: 'hostedZone', hostedZoneId: 'Z0123456789', zoneName: 'example.org' } },
      /dev\.edge\.hostName: must be in the hosted zone example\.org/,
    ],
    [{ hostName: 'Chat.Example.com' }, /dev\.edge\.hostName: must be a lower-case DNS name/],
    [{ sessionTimeoutSeconds: 60 }, /dev\.edge\.sessionTimeoutSeconds: must be at least 300 seconds/],
    [{ sessionTimeoutSeconds: 700_000 }, /dev\.edge\.sessionTimeoutSeconds: must be at most 604800 seconds/],
    [{ accessLogRetentionDays: 0 }, /dev\.edge\.accessLogRetentionDays/],
    [{ internal: 'yes' }, /dev\.edge\.internal/],
  ])('rejects edge %j with a message naming the field', (edge, message) => {
    expect(() => parseEnvironmentConfig('dev', withEdge(edge))).toThrow(message);
  });

  it('defaults to an internet-facing load balancer', () => {
    const { internal: _omitted, ...edge } = { ...devEdge, internal: undefined };
    expect(parseEnvironmentConfig('dev', { ...environments.dev!, edge }).edge.internal).toBe(false);
  });
});
