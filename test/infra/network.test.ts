import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { configOf, ENV_NAMES, stageFor, stageWith, templateOf } from '../support/synth';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

describe.each(ENV_NAMES)('network of %s', (envName) => {
  const config = configOf(envName);
  const template = templateOf(stageFor(envName), 'network');
  const resources = template.toJSON().Resources as Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  it('spans the configured AZs with public and isolated compute subnets', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: config.network.vpcCidr });
    template.resourceCountIs('AWS::EC2::Subnet', 2 * config.network.maxAzs);
    for (const az of config.network.availabilityZones.slice(0, config.network.maxAzs)) {
      template.hasResourceProperties('AWS::EC2::Subnet', {
        AvailabilityZone: az,
        MapPublicIpOnLaunch: false,
      });
    }
  });

  it('has no NAT gateway and no route to the internet from compute subnets', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    const computeTables = new Set(
      ofType('AWS::EC2::SubnetRouteTableAssociation')
        .filter(([id]) => id.includes('Compute'))
        .map(([, r]) => JSON.stringify(r.Properties?.RouteTableId)),
    );
    expect(computeTables.size).toBe(config.network.maxAzs);
    const internetRoutes = ofType('AWS::EC2::Route').filter(
      ([, r]) =>
        r.Properties?.DestinationCidrBlock === '0.0.0.0/0' ||
        r.Properties?.DestinationIpv6CidrBlock === '::/0',
    );
    for (const [, route] of internetRoutes) {
      expect(computeTables.has(JSON.stringify(route.Properties?.RouteTableId))).toBe(false);
    }
    // Only the load balancer's subnets route to the internet gateway, one route per AZ.
    expect(internetRoutes.length).toBe(config.network.maxAzs);
  });

  it('has gateway endpoints for S3 and DynamoDB limited to this account', () => {
    for (const service of ['s3', 'dynamodb']) {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([`.${service}`])]) }),
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Effect: 'Allow',
              Condition: {
                StringEquals: {
                  'aws:PrincipalAccount': config.account,
                  'aws:ResourceAccount': config.account,
                },
              },
            }),
          ],
        },
      });
    }
  });

  it.each([
    ['bedrock-runtime', false],
    ['kms', true],
  ])(
    'has an interface endpoint for %s with private DNS and an account-only policy',
    (service, resourcesToo) => {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Interface',
        ServiceName: `com.amazonaws.${config.region}.${service}`,
        PrivateDnsEnabled: true,
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Effect: 'Allow',
              Principal: { AWS: '*' },
              Condition: {
                StringEquals: resourcesToo
                  ? { 'aws:PrincipalAccount': config.account, 'aws:ResourceAccount': config.account }
                  : { 'aws:PrincipalAccount': config.account },
              },
            }),
          ],
        },
      });
    },
  );

  it('creates interface endpoints only for what the code calls', () => {
    const interfaces = ofType('AWS::EC2::VPCEndpoint').filter(
      ([, r]) => r.Properties?.VpcEndpointType === 'Interface',
    );
    expect(interfaces.map(([, r]) => r.Properties?.ServiceName).sort()).toEqual(
      [`com.amazonaws.${config.region}.bedrock-runtime`, `com.amazonaws.${config.region}.kms`].sort(),
    );
  });

  it('puts each interface endpoint in the configured zones, at least two outside dev', () => {
    const zones = config.network.interfaceEndpointAzs ?? config.network.maxAzs;
    if (config.tier === 'production') expect(zones).toBeGreaterThanOrEqual(2);
    for (const [, endpoint] of ofType('AWS::EC2::VPCEndpoint').filter(
      ([, r]) => r.Properties?.VpcEndpointType === 'Interface',
    )) {
      expect(endpoint.Properties?.SubnetIds).toHaveLength(zones);
    }
  });

  it('admits HTTPS to the endpoints from the compute subnets only', () => {
    const [, endpointSg] = ofType('AWS::EC2::SecurityGroup').find(([id]) =>
      id.includes('EndpointSecurityGroup'),
    )!;
    const ingress = endpointSg.Properties?.SecurityGroupIngress as Array<Record<string, unknown>>;
    expect(ingress).toHaveLength(config.network.maxAzs);
    for (const rule of ingress) {
      expect(rule).toMatchObject({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 });
      expect(rule.CidrIp).not.toBe('0.0.0.0/0');
      expect(rule.CidrIp).toMatch(/^10\.\d+\.\d+\.0\/22$/);
    }
  });

  it('opens no security group to the internet', () => {
    for (const [, sg] of ofType('AWS::EC2::SecurityGroup')) {
      for (const rule of (sg.Properties?.SecurityGroupIngress as Array<Record<string, unknown>>) ?? []) {
        expect(rule.CidrIp).not.toBe('0.0.0.0/0');
        expect(rule.CidrIpv6).not.toBe('::/0');
      }
    }
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  it('logs ALL traffic to a CMK-encrypted log group with the configured retention', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: config.logRetentionDays,
      KmsKeyId: Match.anyValue(),
    });
  });

  it('keeps the flow-log role policy managed (not inline) and scoped to its log group', () => {
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('FlowLogGroup'), 'Arn'] },
          }),
        ],
      },
    });
  });
});

describe('network switches', () => {
  it('adds NAT gateways only when natEgress is switched on', () => {
    const config = configOf('dev');
    const stage = stageWith({ ...config, network: { ...config.network, natEgress: true } });
    templateOf(stage, 'network').resourceCountIs('AWS::EC2::NatGateway', config.network.maxAzs);
  });
});
