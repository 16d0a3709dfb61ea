/**
 * The edge of the Api stack: the regional WAF web ACL and the load balancer with its
 * listener rules, routing each API path to the function that serves it, and the ACL's
 * association with the user pool's managed login. Construct ids are the stack's own.
 */
import { CfnOutput, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import type { EnvironmentConfig } from '../../config/schema';
import { ChatLoadBalancer } from '../../constructs/edge/load-balancer';
import { PrivateStreamingApi } from '../../constructs/edge/private-streaming-api';
import type { PrivateNetwork } from '../../constructs/private-network';
import { WebAcl } from '../../constructs/web-acl';
import type { DataStack } from '../data-stack';
import type { IdentityStack } from '../identity-stack';
import { retentionDays } from '../retention';
import type { ApiFunctions } from './api-functions';

/** Inputs of {@link createEdge}. */
export interface EdgeProps {
  readonly config: EnvironmentConfig;
  readonly network: PrivateNetwork;
  readonly data: DataStack;
  readonly identity: IdentityStack;
  readonly functions: ApiFunctions;
}

/** The path whose `POST` streams when config `chat.streaming` is on. */
export const STREAM_PATH = '/api/v1/chat';

/** Builds the web ACL, the private streaming API (config `chat.streaming`) and the load balancer in `stack`. */
export function createEdge(
  stack: Stack,
  props: EdgeProps,
): { webAcl: WebAcl; edge: ChatLoadBalancer; streaming?: PrivateStreamingApi } {
  const { config, network, data, identity, functions } = props;
  const webAcl = new WebAcl(stack, 'WebAcl', {
    envName: config.name,
    rateLimitPerMinute: config.edge.rateLimitPerMinute,
    chatRateLimitPerMinute: config.edge.chatRateLimitPerMinute,
    ...(config.edge.ipRateCeilingPerMinute === undefined
      ? {}
      : { ipRateCeilingPerMinute: config.edge.ipRateCeilingPerMinute }),
    promptInjectionAction: config.edge.promptInjectionAction,
    anonymousIpList: config.edge.anonymousIpList,
    botControl: config.edge.botControl,
    ipAllowList: config.edge.ipAllowList,
    ipAllowListScope: config.edge.ipAllowListScope,
    countryAllowList: config.edge.countryAllowList,
    logsKey: data.keys.logsKey,
    logRetention: retentionDays(config.logRetentionDays),
    removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });

  const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
  let streaming: PrivateStreamingApi | undefined;
  if (functions.chatStream) {
    // The endpoint's interfaces go where the other interface endpoints' do (config
    // network.interfaceEndpointAzs): each zone is billed per hour.
    const endpointZones = config.network.interfaceEndpointAzs ?? config.network.maxAzs;
    streaming = new PrivateStreamingApi(stack, 'StreamingApi', {
      vpc: network.vpc,
      endpointSubnets: {
        ...network.computeSubnets,
        availabilityZones: config.network.availabilityZones.slice(0, endpointZones),
      },
      endpointZones,
      handler: functions.chatStream.function,
      path: STREAM_PATH,
      logsKey: data.keys.logsKey,
      logRetention: retentionDays(config.logRetentionDays),
      logRemovalPolicy: removalPolicy,
    });
  }

  const edge = new ChatLoadBalancer(stack, 'Edge', {
    vpc: network.vpc,
    config,
    userPool: identity.userPool,
    albClient: identity.albClient,
    domain: identity.domain,
    issuer: identity.issuer,
    webAcl,
    healthTarget: functions.health.function,
    webTarget: functions.web.function,
    apiRoutes: [
      {
        name: 'Chat',
        pathPatterns: [STREAM_PATH, '/api/v1/models'],
        target: functions.chat.function,
        ...(streaming
          ? {
              streamPath: STREAM_PATH,
              stream: {
                targetGroup: streaming.targetGroup,
                hostHeader: streaming.hostHeader,
                pathPrefix: streaming.stagePathPrefix,
              },
            }
          : {}),
      },
      {
        name: 'History',
        pathPatterns: ['/api/v1/conversations', '/api/v1/conversations/*', '/api/v1/me', '/api/v1/me/*'],
        target: functions.history.function,
      },
      { name: 'Keys', pathPatterns: ['/api/v1/keys', '/api/v1/keys/*'], target: functions.keys.function },
      { name: 'Admin', pathPatterns: ['/api/v1/admin/*'], target: functions.admin.function },
    ],
  });
  // Managed login is a public sign-in form: the same ACL (rate limits, IP reputation,
  // bad inputs) protects it as the load balancer. A new web ACL is not at once available
  // for association (WAFUnavailableEntityException, "An entity is unavailable ... Please
  // retry"; https://docs.aws.amazon.com/waf/latest/APIReference/API_AssociateWebACL.html),
  // and CloudFormation would otherwise start both associations the moment the ACL exists.
  // The user pool's association waits for the ACL's logging configuration and the load
  // balancer's association (which needs the load balancer, minutes), so the order is fixed
  // and the ACL has long propagated; a failure still rolls back cleanly.
  const userPoolAssociation = webAcl.associate('UserPoolAssociation', identity.userPool.userPoolArn);
  userPoolAssociation.addResourceDependency(edge.webAclAssociation);
  userPoolAssociation.addResourceDependency(webAcl.loggingConfiguration);

  streaming?.allowFrom(edge.securityGroup);

  // Point the host name (config edge.hostName) at this name (CNAME, or a Route 53 alias).
  new CfnOutput(stack, 'LoadBalancerDnsName', { value: edge.loadBalancer.loadBalancerDnsName });
  return { webAcl, edge, ...(streaming ? { streaming } : {}) };
}
