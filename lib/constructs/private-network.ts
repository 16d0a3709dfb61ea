import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EncryptedLogGroup } from './encrypted-log-group';

/** Properties of {@link PrivateNetwork}. */
export interface PrivateNetworkProps {
  /** IPv4 CIDR of the VPC. */
  readonly cidr: string;
  /** Availability zones, named so synthesis never looks them up. */
  readonly availabilityZones: readonly string[];
  /** How many of those zones to span. */
  readonly maxAzs: number;
  /**
   * Route compute subnets to the internet through one NAT gateway per AZ. With it off the
   * compute subnets are isolated: AWS is reachable only through the endpoints below.
   * @default false
   */
  readonly natEgress?: boolean;
  /**
   * How many of the spanned zones get an interface endpoint ENI (the first N). Fewer than
   * `maxAzs` trades availability for cost: functions in another zone still reach the
   * endpoint (its private DNS resolves VPC-wide), across zones, and lose it with that zone.
   * @default maxAzs
   */
  readonly interfaceEndpointAzs?: number;
  /** Key that encrypts the flow-log group. */
  readonly logsKey: kms.IKey;
  /** Retention of the flow-log group. */
  readonly flowLogRetention: logs.RetentionDays;
  /**
   * Removal policy of the flow-log group.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Interface endpoints the function code calls; nothing else gets one (each costs per AZ-hour). */
const INTERFACE_ENDPOINTS: ReadonlyArray<{ id: string; service: ec2.InterfaceVpcEndpointAwsService }> = [
  { id: 'BedrockRuntime', service: ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME },
  { id: 'Kms', service: ec2.InterfaceVpcEndpointAwsService.KMS },
];

/**
 * The VPC of one environment: public subnets hold only the load balancer; compute
 * subnets are private and, by default, isolated (no NAT, no route to the internet).
 * S3 and DynamoDB are reached through gateway endpoints, Bedrock and KMS through
 * interface endpoints with private DNS. Every endpoint's policy admits only principals
 * of this account; those for S3, DynamoDB and KMS also only resources of this account,
 * so a stolen credential from elsewhere cannot use them and data cannot be copied out
 * to another account's bucket or table through them. All traffic is flow-logged.
 */
export class PrivateNetwork extends Construct {
  /** The VPC. */
  readonly vpc: ec2.Vpc;
  /** Subnets where functions run. */
  readonly computeSubnets: ec2.SubnetSelection;
  /** Subnets where the internet-facing load balancer lives. */
  readonly publicSubnets: ec2.SubnetSelection;
  /** Security group of the interface endpoints (443 from the compute subnets only). */
  readonly endpointSecurityGroup: ec2.SecurityGroup;
  /** Log group receiving the VPC flow logs. */
  readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PrivateNetworkProps) {
    super(scope, id);
    if (props.maxAzs < 1 || props.maxAzs > props.availabilityZones.length) {
      throw new Error(
        `PrivateNetwork: maxAzs (${props.maxAzs}) must be between 1 and the number of availability zones (${props.availabilityZones.length})`,
      );
    }
    const endpointAzs = props.interfaceEndpointAzs ?? props.maxAzs;
    if (endpointAzs < 1 || endpointAzs > props.maxAzs) {
      throw new Error(
        `PrivateNetwork: interfaceEndpointAzs (${endpointAzs}) must be between 1 and maxAzs (${props.maxAzs})`,
      );
    }
    const natEgress = props.natEgress ?? false;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const computeSubnetType = natEgress
      ? ec2.SubnetType.PRIVATE_WITH_EGRESS
      : ec2.SubnetType.PRIVATE_ISOLATED;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      availabilityZones: props.availabilityZones.slice(0, props.maxAzs),
      natGateways: natEgress ? props.maxAzs : 0,
      subnetConfiguration: [
        { name: 'LoadBalancer', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'Compute', subnetType: computeSubnetType, cidrMask: 22 },
      ],
      restrictDefaultSecurityGroup: true,
      createInternetGateway: true,
    });
    this.computeSubnets = { subnetType: computeSubnetType };
    this.publicSubnets = { subnetType: ec2.SubnetType.PUBLIC };

    this.flowLogGroup = new EncryptedLogGroup(this, 'FlowLogGroup', {
      encryptionKey: props.logsKey,
      retention: props.flowLogRetention,
      removalPolicy,
    }).logGroup;
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup, this.flowLogRole()),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    this.acknowledgeLoadBalancerRoutes();
    this.acknowledgeDefaultSecurityGroupProvider();

    const { account } = Stack.of(this);
    for (const [id, service] of [
      ['S3', ec2.GatewayVpcEndpointAwsService.S3],
      ['DynamoDb', ec2.GatewayVpcEndpointAwsService.DYNAMODB],
    ] as const) {
      const endpoint = this.vpc.addGatewayEndpoint(`${id}Endpoint`, {
        service,
        subnets: [this.computeSubnets],
      });
      endpoint.addToPolicy(thisAccountOnly(account, { resourcesToo: true }));
    }

    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface endpoints: HTTPS from the compute subnets only',
      allowAllOutbound: false,
    });
    for (const subnet of this.vpc.selectSubnets(this.computeSubnets).subnets) {
      this.endpointSecurityGroup.addIngressRule(
        ec2.Peer.ipv4(subnet.ipv4CidrBlock),
        ec2.Port.tcp(443),
        `HTTPS from compute subnet ${subnet.availabilityZone}`,
      );
    }

    for (const { id, service } of INTERFACE_ENDPOINTS) {
      const endpoint = this.vpc.addInterfaceEndpoint(`${id}Endpoint`, {
        service,
        subnets: {
          ...this.computeSubnets,
          availabilityZones: props.availabilityZones.slice(0, endpointAzs),
        },
        privateDnsEnabled: true,
        securityGroups: [this.endpointSecurityGroup],
        open: false,
      });
      // Foundation models are AWS-owned resources, so only KMS can also pin the resource account.
      endpoint.addToPolicy(thisAccountOnly(account, { resourcesToo: id === 'Kms' }));
    }
  }

  /**
   * The flow-log delivery role, with its permissions in a customer-managed policy rather
   * than an inline one (reviewable and reusable, HIPAA/NIST/PCI IAMNoInlinePolicy). The
   * role handed to the flow log is the immutable view, so CDK adds no inline grants.
   */
  private flowLogRole(): iam.IRole {
    const role = new iam.Role(this, 'FlowLogRole', {
      assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Delivers VPC flow logs to their log group',
    });
    new iam.ManagedPolicy(this, 'FlowLogDeliveryPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [this.flowLogGroup.logGroupArn],
        }),
      ],
    });
    return role.withoutPolicyUpdates();
  }

  /** The load balancer's subnets need their internet route; nothing else has one. */
  private acknowledgeLoadBalancerRoutes(): void {
    for (const subnet of this.vpc.publicSubnets) {
      const route = subnet.node.tryFindChild('DefaultRoute');
      if (route === undefined) continue;
      for (const pack of ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321']) {
        Validations.of(route).acknowledge({
          id: `${pack}::${pack}-VPCNoUnrestrictedRouteToIGW`,
          reason:
            'Public subnets hold only the internet-facing load balancer, which must answer clients anywhere (restricted by its security group and WAF). Compute subnets have no route to the internet gateway.',
        });
      }
    }
  }

  /**
   * `restrictDefaultSecurityGroup` removes all rules from the VPC's default security group
   * through a CDK-owned custom resource. Its provider function runs once at deploy time,
   * outside the VPC by design (it calls the EC2 API before any endpoint exists).
   */
  private acknowledgeDefaultSecurityGroupProvider(): void {
    const provider = Stack.of(this).node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
    const handler = provider?.node.tryFindChild('Handler');
    if (handler === undefined) return;
    Validations.of(handler).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
      reason:
        'CDK-provided deploy-time custom resource that closes the default security group; it runs only during deployment and must reach the EC2 API, so it is not attached to the isolated VPC.',
    });
  }
}

/** An endpoint policy statement admitting only this account's principals (and, optionally, resources). */
function thisAccountOnly(account: string, options: { resourcesToo: boolean }): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: options.resourcesToo ? 'ThisAccountPrincipalsAndResourcesOnly' : 'ThisAccountPrincipalsOnly',
    principals: [new iam.AnyPrincipal()],
    actions: ['*'],
    resources: ['*'],
    conditions: {
      StringEquals: {
        'aws:PrincipalAccount': account,
        ...(options.resourcesToo ? { 'aws:ResourceAccount': account } : {}),
      },
    },
  });
}
