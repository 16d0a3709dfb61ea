import { Stage, type StageProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from './config/schema';
import { ApiStack } from './stacks/api-stack';
import { DataStack } from './stacks/data-stack';
import { IdentityStack } from './stacks/identity-stack';
import { MonitoringStack } from './stacks/monitoring-stack';
import { NetworkStack } from './stacks/network-stack';

/** Properties of {@link OmniChatStage}. */
export interface OmniChatStageProps extends StageProps {
  readonly config: EnvironmentConfig;
}

/**
 * One environment (dev, staging, prod) as a CDK Stage. Stacks are split only for
 * deployment reasons: stateful Data (keys, tables, buckets) apart from the replaceable
 * stacks that use it.
 */
export class OmniChatStage extends Stage {
  readonly data: DataStack;
  readonly identity: IdentityStack;
  readonly network: NetworkStack;
  readonly api: ApiStack;
  readonly monitoring: MonitoringStack;

  constructor(scope: Construct, id: string, props: OmniChatStageProps) {
    const { config } = props;
    super(scope, id, { ...props, env: { account: config.account, region: config.region } });
    const prefix = `omnichat-${config.name}`;

    this.data = new DataStack(this, 'Data', {
      stackName: `${prefix}-data`,
      description: `OmniChat ${config.name}: keys, tables and buckets (stateful)`,
      config,
    });
    this.network = new NetworkStack(this, 'Network', {
      stackName: `${prefix}-network`,
      description: `OmniChat ${config.name}: VPC, endpoints and flow logs`,
      config,
      logsKey: this.data.keys.logsKey,
    });
    // After the network: the owner-directory writers (pre-token trigger, directory sync) run in it.
    this.identity = new IdentityStack(this, 'Identity', {
      stackName: `${prefix}-identity`,
      description: `OmniChat ${config.name}: Cognito user pool, clients and managed login (stateful)`,
      config,
      logsKey: this.data.keys.logsKey,
      authEventsBucketArn: this.data.authEvents.bucket.bucketArn,
      network: this.network.network,
      data: this.data,
    });
    this.api = new ApiStack(this, 'Api', {
      stackName: `${prefix}-api`,
      description: `OmniChat ${config.name}: functions, load balancer and WAF (stateless)`,
      config,
      network: this.network.network,
      data: this.data,
      identity: this.identity,
    });
    this.monitoring = new MonitoringStack(this, 'Monitoring', {
      stackName: `${prefix}-monitoring`,
      description: `OmniChat ${config.name}: alarms, alert topics, dashboard and log data protection`,
      config,
      data: this.data,
      identity: this.identity,
      api: this.api,
    });

    // Dashboards and listeners are left untagged: CloudFormation added Tags to these types
    // recently and cfn-lint 1.51's schema still rejects them (E3002); they hold no data and
    // the load balancer itself carries the tags, so a lint error is not worth accepting.
    const tagOptions = {
      excludeResourceTypes: [
        'AWS::CloudWatch::Dashboard',
        'AWS::ElasticLoadBalancingV2::Listener',
        'AWS::ElasticLoadBalancingV2::ListenerRule',
      ],
    };
    Tags.of(this).add('project', 'omnichat', tagOptions);
    Tags.of(this).add('environment', config.name, tagOptions);
    Tags.of(this).add('data-classification', config.dataClassification, tagOptions);
  }
}
