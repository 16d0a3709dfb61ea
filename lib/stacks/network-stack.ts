import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/schema';
import { PrivateNetwork } from '../constructs/private-network';
import { retentionDays } from './retention';

/** Properties of {@link NetworkStack}. */
export interface NetworkStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  /** Key for the flow-log group (from the Data stack). */
  readonly logsKey: kms.IKey;
}

/** The VPC, its endpoints and flow logs. */
export class NetworkStack extends Stack {
  readonly network: PrivateNetwork;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.network = new PrivateNetwork(this, 'Network', {
      cidr: config.network.vpcCidr,
      availabilityZones: config.network.availabilityZones,
      maxAzs: config.network.maxAzs,
      natEgress: config.network.natEgress,
      ...(config.network.interfaceEndpointAzs === undefined
        ? {}
        : { interfaceEndpointAzs: config.network.interfaceEndpointAzs }),
      logsKey: props.logsKey,
      flowLogRetention: retentionDays(config.logRetentionDays),
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
  }
}
