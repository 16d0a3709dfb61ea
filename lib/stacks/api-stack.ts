import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/schema';
import { ApiFunction } from '../constructs/api-function';
import type { PrivateNetwork } from '../constructs/private-network';
import type { DataStack } from './data-stack';
import { retentionDays } from './retention';

/** Properties of {@link ApiStack}. */
export interface ApiStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: PrivateNetwork;
  readonly data: DataStack;
}

/**
 * The stateless serving layer: Lambda functions split by privilege (each role reaches
 * only the tables, keys and models its routes need); the load balancer and WAF join it
 * with the edge issue.
 */
export class ApiStack extends Stack {
  /** Functions by route group. */
  readonly functions: Readonly<Record<string, ApiFunction>>;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, network, data } = props;
    const common = {
      vpc: network.vpc,
      subnets: network.computeSubnets,
      logsKey: data.keys.logsKey,
      logRetention: retentionDays(config.logRetentionDays),
      environmentKey: data.keys.dataKey,
    };

    const health = new ApiFunction(this, 'Health', {
      ...common,
      entry: 'health',
      description: 'GET /healthz for the load balancer; touches no dependency',
      environment: {},
      reservedConcurrency: 5,
      memorySize: 256,
    });

    this.functions = { health };
  }
}
