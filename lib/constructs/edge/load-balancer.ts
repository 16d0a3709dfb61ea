import { Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { AuthenticateCognitoAction } from 'aws-cdk-lib/aws-elasticloadbalancingv2-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as route53 from 'aws-cdk-lib/aws-route53';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/schema';
import { AccessLogsBucket } from '../secure-buckets';
import type { WebAcl } from '../web-acl';
import { JwtValidationAction } from './jwt-validation-action';
import { type PlannedRule, planListenerRules, STREAM_ACCEPT_HEADER } from './listener-rules';
import { ScopedLambdaTarget } from './scoped-lambda-target';

/** An API function and the paths it serves; each gets a Bearer, an API-key and a session rule. */
export interface ApiRoute {
  /** Letters and digits, e.g. `chat` (construct ids, target group key); not `health` or `web`. */
  readonly name: string;
  /** ALB path patterns under `/api/` (1 to 4; wildcards at most 4 in total). */
  readonly pathPatterns: readonly string[];
  readonly target: lambda.IFunction;
  /**
   * The exact path whose `POST` with `Accept: text/event-stream` goes to {@link stream}
   * (issue 20). Both or neither. @default none: the route does not stream
   */
  readonly streamPath?: string;
  readonly stream?: StreamTarget;
}

/** Where a route's streaming requests go: the private streaming API's endpoint addresses. */
export interface StreamTarget {
  /** IP target group of the `execute-api` endpoint's addresses (HTTPS). */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  /** The Host to send: `{api-id}.execute-api.{region}.amazonaws.com`. */
  readonly hostHeader: string;
  /** Prefix added to the path: `/{stage}`. */
  readonly pathPrefix: string;
}

/** Properties of {@link ChatLoadBalancer}. */
export interface ChatLoadBalancerProps {
  readonly vpc: ec2.IVpc;
  /** The environment: `edge`, `allowedIngressCidrs`, `identity.callbackHost`, `network.natEgress`, `removalPolicy`. */
  readonly config: EnvironmentConfig;
  /** @default public subnets, or private subnets with egress when `config.edge.internal` */
  readonly subnets?: ec2.SubnetSelection;
  readonly userPool: cognito.IUserPool;
  /** The ALB app client (has a secret; callback `https://<hostName>/oauth2/idpresponse`). */
  readonly albClient: cognito.IUserPoolClient;
  /** Managed-login domain of the pool. */
  readonly domain: cognito.IUserPoolDomain;
  /** Token issuer, `https://cognito-idp.<region>.amazonaws.com/<poolId>`. */
  readonly issuer: string;
  /** @default `${issuer}/.well-known/jwks.json` */
  readonly jwksEndpoint?: string;
  /** Regional web ACL; the load balancer is associated with it here. */
  readonly webAcl: WebAcl;
  /** Answers `GET /healthz`. */
  readonly healthTarget: lambda.IFunction;
  /** Serves the web chat page (`/`, `/app/*`). */
  readonly webTarget: lambda.IFunction;
  /** API functions, split by privilege; order matters within a priority band. */
  readonly apiRoutes: readonly ApiRoute[];
  /**
   * TLS 1.3 preferred; TLS 1.2 only with ECDHE + AES-GCM (forward secrecy, AEAD); hybrid
   * post-quantum key exchange (ML-KEM) for clients that offer it. AWS's recommended policy.
   * @default elbv2.SslPolicy.TLS13_12_RES_PQ
   */
  readonly sslPolicy?: elbv2.SslPolicy;
}

/** Response headers the listener adds to every response, ALB-generated ones included. */
export const LISTENER_RESPONSE_HEADERS = {
  'routing.http.response.strict_transport_security.header_value': 'max-age=31536000; includeSubDomains',
  'routing.http.response.x_content_type_options.header_value': 'nosniff',
  'routing.http.response.x_frame_options.header_value': 'DENY',
  'routing.http.response.server.enabled': 'false',
} as const;

/** Body of the default 404, in the API's error shape. */
export const NOT_FOUND_BODY = JSON.stringify({
  error: { code: 'not_found', message: 'No such route.', requestId: 'edge' },
});

const SESSION_COOKIE = 'AWSELBAuthSessionCookie';

/**
 * The Application Load Balancer in front of every function (DESIGN.md sections 3 and 4),
 * secure by default: HTTPS only (port 80 answers a redirect), a TLS 1.3 policy, invalid
 * header fields dropped, strictest desync mitigation, HSTS and related headers added at the
 * listener, access logs to a dedicated bucket, the web ACL in front, a security group that
 * admits 443/80 from the configured CIDRs only, and authentication at the listener:
 * `jwt-validation` for Bearer tokens, `authenticate-cognito` for browsers, nothing for API
 * keys (the function checks them). Every function checks its credential again.
 * Rule order and priorities: see `listener-rules.ts`.
 */
export class ChatLoadBalancer extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The web ACL association of the load balancer (the user pool's waits for it). */
  readonly webAclAssociation: wafv2.CfnWebACLAssociation;
  readonly httpsListener: elbv2.ApplicationListener;
  readonly httpListener: elbv2.ApplicationListener;
  readonly securityGroup: ec2.SecurityGroup;
  /** Bucket receiving the access logs. */
  readonly accessLogsBucket: s3.Bucket;
  readonly certificate: acm.ICertificate;
  /** Target groups by key: `health`, `web`, and each route's name. */
  readonly targetGroups: Readonly<Record<string, elbv2.ApplicationTargetGroup>>;
  /** The listener rules, in priority order. */
  readonly rules: readonly PlannedRule[];

  constructor(scope: Construct, id: string, props: ChatLoadBalancerProps) {
    super(scope, id);
    const { config } = props;
    const edge = config.edge;
    const field = (path: string) => `${config.name}.${path}`;
    // Everything that can be wrong is checked before the first resource exists.
    this.rules = planListenerRules(props.apiRoutes);
    if (edge.hostName !== config.identity.callbackHost) {
      throw new Error(
        `${field('edge.hostName')}: must equal identity.callbackHost (${config.identity.callbackHost}); the ALB client's callback is https://<host>/oauth2/idpresponse`,
      );
    }
    if (edge.certificate.source === 'arn') {
      const certificateRegion = edge.certificate.arn.split(':')[3];
      if (certificateRegion !== config.region) {
        throw new Error(
          `${field('edge.certificate.arn')}: must be a certificate in ${config.region} (the load balancer's region), not ${certificateRegion}`,
        );
      }
    }
    if (edge.internal && !config.network.natEgress) {
      throw new Error(
        `${field('edge.internal')}: an internal load balancer reaches the Cognito token, user-info and JWKS endpoints only through NAT; set network.natEgress or make it internet-facing`,
      );
    }
    const jwksEndpoint = props.jwksEndpoint ?? `${props.issuer}/.well-known/jwks.json`;
    if (!Token.isUnresolved(jwksEndpoint) && !jwksEndpoint.startsWith('https://')) {
      throw new Error('ChatLoadBalancer: jwksEndpoint must be an https:// URL');
    }
    const production = config.tier === 'production';

    this.securityGroup = this.createSecurityGroup(props.vpc, config.allowedIngressCidrs);
    this.accessLogsBucket = new AccessLogsBucket(this, 'AccessLogs', {
      retentionDays: edge.accessLogRetentionDays,
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    }).bucket;

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: !edge.internal,
      vpcSubnets:
        props.subnets ??
        (edge.internal
          ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }
          : { subnetType: ec2.SubnetType.PUBLIC }),
      securityGroup: this.securityGroup,
      deletionProtection: production,
      dropInvalidHeaderFields: true,
      desyncMitigationMode: elbv2.DesyncMitigationMode.STRICTEST,
      http2Enabled: true,
      idleTimeout: Duration.seconds(60),
    });
    // If WAF cannot be reached the request is refused, never passed uninspected. Explicit
    // although it is the default, so a reviewer sees it and a test pins it.
    this.loadBalancer.setAttribute('waf.fail_open.enabled', 'false');
    this.logAccessLogs();
    this.webAclAssociation = props.webAcl.associate(
      'LoadBalancerAssociation',
      this.loadBalancer.loadBalancerArn,
    );
    if (!production) {
      for (const ruleId of [
        'cdk-validator-cfnguard::elbv2_deletion_protection_enabled_check',
        'HIPAA.Security::HIPAA.Security-ELBDeletionProtectionEnabled',
        'NIST.800.53.R5::NIST.800.53.R5-ELBDeletionProtectionEnabled',
        'PCI.DSS.321::PCI.DSS.321-ELBDeletionProtectionEnabled',
      ]) {
        Validations.of(this.loadBalancer).acknowledge({
          id: ruleId,
          reason:
            'dev only: the development environment is torn down and rebuilt on purpose (removalPolicy destroy); staging and prod enable deletion protection, which a template test asserts.',
        });
      }
    }

    this.certificate = this.createCertificate(config);
    this.httpListener = this.loadBalancer.addListener('Http', {
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: 80,
      open: false,
      defaultAction: elbv2.ListenerAction.redirect({
        protocol: 'HTTPS',
        port: '443',
        permanent: true,
      }),
    });
    this.setListenerAttributes(this.httpListener, { 'routing.http.response.server.enabled': 'false' });
    for (const pack of ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321']) {
      Validations.of(this.httpListener).acknowledge({
        id: `${pack}::${pack}-ELBv2ACMCertificateRequired`,
        reason:
          'Port 80 carries no content: its only action is a 301 redirect to the HTTPS listener (which uses an ACM certificate), and HSTS keeps returning browsers off it. An HTTP listener cannot hold a certificate; removing it would only turn the redirect into a connection error.',
      });
    }

    this.httpsListener = this.loadBalancer.addListener('Https', {
      protocol: elbv2.ApplicationProtocol.HTTPS,
      port: 443,
      open: false,
      certificates: [elbv2.ListenerCertificate.fromCertificateManager(this.certificate)],
      sslPolicy: props.sslPolicy ?? elbv2.SslPolicy.TLS13_12_RES_PQ,
      defaultAction: elbv2.ListenerAction.fixedResponse(404, {
        contentType: 'application/json',
        messageBody: NOT_FOUND_BODY,
      }),
    });
    this.setListenerAttributes(this.httpsListener, LISTENER_RESPONSE_HEADERS);

    const targetGroups: Record<string, elbv2.ApplicationTargetGroup> = {
      health: this.targetGroup('Health', props.healthTarget),
      web: this.targetGroup('Web', props.webTarget),
    };
    const streams: Record<string, StreamTarget> = {};
    for (const route of props.apiRoutes) {
      targetGroups[route.name] = this.targetGroup(route.name, route.target);
      if ((route.streamPath === undefined) !== (route.stream === undefined)) {
        throw new Error(`ChatLoadBalancer: apiRoutes "${route.name}": streamPath and stream go together`);
      }
      if (route.stream) streams[`${route.name}Stream`] = route.stream;
    }
    this.targetGroups = targetGroups;

    const cognitoAction = (
      onUnauthenticatedRequest: elbv2.UnauthenticatedAction,
      next: elbv2.ListenerAction,
    ) =>
      new AuthenticateCognitoAction({
        userPool: props.userPool,
        userPoolClient: props.albClient,
        userPoolDomain: props.domain,
        scope: 'openid',
        sessionCookieName: SESSION_COOKIE,
        sessionTimeout: Duration.seconds(edge.sessionTimeoutSeconds),
        onUnauthenticatedRequest,
        // The one egress rule is in createSecurityGroup, written once with its reason.
        allowHttpsOutbound: false,
        next,
      });
    for (const rule of this.rules) {
      const targetGroup = rule.stream ? streams[rule.target]?.targetGroup : targetGroups[rule.target];
      if (targetGroup === undefined) throw new Error(`ChatLoadBalancer: no target group for ${rule.target}`);
      const forward = elbv2.ListenerAction.forward([targetGroup]);
      const action = {
        none: forward,
        'api-key': forward,
        jwt: new JwtValidationAction({
          issuer: props.issuer,
          jwksEndpoint,
          additionalClaims: [{ name: 'token_use', format: 'single-string', values: ['access'] }],
          next: forward,
        }),
        'session-deny': cognitoAction(elbv2.UnauthenticatedAction.DENY, forward),
        'session-login': cognitoAction(elbv2.UnauthenticatedAction.AUTHENTICATE, forward),
      }[rule.auth];
      const conditions = [elbv2.ListenerCondition.pathPatterns([...rule.pathPatterns])];
      if (rule.header)
        conditions.push(elbv2.ListenerCondition.httpHeader(rule.header.name, [...rule.header.values]));
      if (rule.methods) conditions.push(elbv2.ListenerCondition.httpRequestMethods([...rule.methods]));
      if (rule.stream) {
        conditions.push(
          elbv2.ListenerCondition.httpHeader(STREAM_ACCEPT_HEADER.name, [...STREAM_ACCEPT_HEADER.values]),
        );
      }
      this.httpsListener.addAction(rule.id, { priority: rule.priority, conditions, action });
      if (rule.stream) this.rewriteForStream(rule.id, streams[rule.target]!);
    }
  }

  /**
   * The streaming rule's transforms: the Host becomes the private API's name (the endpoint
   * routes by it) and the stage is prefixed to the path; both apply to the forwarded request
   * only, after authentication
   * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-transforms.html).
   * CDK's listener rule has no property for them yet, so they are set on the L1 resource.
   */
  private rewriteForStream(ruleId: string, stream: StreamTarget): void {
    const rule = this.httpsListener.node.findChild(`${ruleId}Rule`).node
      .defaultChild as elbv2.CfnListenerRule;
    rule.transforms = [
      {
        type: 'host-header-rewrite',
        hostHeaderRewriteConfig: { rewrites: [{ regex: '^.*$', replace: stream.hostHeader }] },
      },
      {
        type: 'url-rewrite',
        urlRewriteConfig: { rewrites: [{ regex: '^/(.*)$', replace: `${stream.pathPrefix}/$1` }] },
      },
    ];
  }

  /** 443 and 80 from the configured CIDRs only; out, HTTPS to the identity provider only. */
  private createSecurityGroup(vpc: ec2.IVpc, cidrs: readonly string[]): ec2.SecurityGroup {
    const sg = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Load balancer: HTTPS (and HTTP, redirected) from the allowed CIDRs',
      allowAllOutbound: false,
    });
    for (const cidr of cidrs) {
      sg.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), `HTTPS from ${cidr}`);
      sg.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(80), `HTTP from ${cidr} (redirected to HTTPS)`);
    }
    // Lambda targets are invoked by the ELB service through the Lambda API, not through the
    // load balancer's interfaces, so they need no rule here. What the load balancer itself
    // calls is Cognito: the token and user-info endpoints (authenticate-cognito) and the JWKS
    // (jwt-validation), public AWS endpoints without fixed addresses or a prefix list.
    sg.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to the Cognito token, user-info and JWKS endpoints',
    );
    if (cidrs.includes('0.0.0.0/0')) {
      Validations.of(sg).acknowledge({
        id: 'AwsSolutions::AwsSolutions-EC23',
        reason:
          'The chat service is public by design (config allowedIngressCidrs = 0.0.0.0/0): the load balancer must accept HTTPS from any client. Only 443 and 80 (which only redirects) are open; the WAF web ACL (rate limits, IP reputation, managed rules) inspects every request and the listener authenticates before any function runs. Deployments for a closed user group list their CIDRs instead.',
      });
    }
    return sg;
  }

  private createCertificate(config: EnvironmentConfig): acm.ICertificate {
    const source = config.edge.certificate;
    if (source.source === 'arn') return acm.Certificate.fromCertificateArn(this, 'Certificate', source.arn);
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: source.hostedZoneId,
      zoneName: source.zoneName,
    });
    return new acm.Certificate(this, 'Certificate', {
      domainName: config.edge.hostName,
      validation: acm.CertificateValidation.fromDns(zone),
    });
  }

  /**
   * Access logs into the dedicated bucket. Written here rather than with `logAccessLogs()`,
   * which also grants `delivery.logs.amazonaws.com` (used by other log types, not ALB access
   * logs). ELB writes as its regional account in regions opened before August 2022 and as
   * the `logdelivery.elasticloadbalancing.amazonaws.com` service principal in newer ones;
   * either may write only under `AWSLogs/<this account>/`.
   */
  private logAccessLogs(): void {
    const stack = Stack.of(this);
    const elbAccount = RegionInfo.get(stack.region).elbv2Account;
    const writer: iam.IPrincipal = elbAccount
      ? new iam.AccountPrincipal(elbAccount)
      : new iam.ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com');
    this.accessLogsBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ElbAccessLogDelivery',
        principals: [writer],
        actions: ['s3:PutObject'],
        resources: [this.accessLogsBucket.arnForObjects(`AWSLogs/${stack.account}/*`)],
      }),
    );
    this.loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
    this.loadBalancer.setAttribute('access_logs.s3.bucket', this.accessLogsBucket.bucketName);
    // The load balancer checks write access when the attribute is set, so the policy comes first.
    const policy = this.accessLogsBucket.policy;
    if (policy) this.loadBalancer.node.addDependency(policy);
  }

  private setListenerAttributes(
    listener: elbv2.ApplicationListener,
    attributes: Record<string, string>,
  ): void {
    for (const [key, value] of Object.entries(attributes)) listener.setAttribute(key, value);
  }

  /** One target group per function, invocable only by it (see ScopedLambdaTarget). */
  private targetGroup(name: string, fn: lambda.IFunction): elbv2.ApplicationTargetGroup {
    const scope = new Construct(this, `${name}Target`);
    const targetGroupName = Names.uniqueResourceName(scope, { maxLength: 32 });
    return new elbv2.ApplicationTargetGroup(scope, 'Group', {
      targetGroupName,
      targetType: elbv2.TargetType.LAMBDA,
      targets: [new ScopedLambdaTarget(scope, 'InvokePermission', fn, targetGroupName)],
    });
  }
}
