import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/schema';
import { type MonitoredFunction, SecurityMonitoring } from '../constructs/monitoring/security-monitoring';
import { webAclName } from '../constructs/web-acl';
import { allTables } from '../data/table-schemas';
import type { ApiStack } from './api-stack';
import type { DataStack } from './data-stack';
import type { IdentityStack } from './identity-stack';

/** Properties of {@link MonitoringStack}. */
export interface MonitoringStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly data: DataStack;
  readonly identity: IdentityStack;
  readonly api: ApiStack;
}

/**
 * Alarms, alert topics, the dashboard and log data protection for one environment
 * (DESIGN.md section 9). Deployed last: it only watches what the other stacks built.
 */
export class MonitoringStack extends Stack {
  readonly monitoring: SecurityMonitoring;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config, data, identity, api } = props;
    const functions: Record<string, MonitoredFunction> = {};
    for (const [name, fn] of [...Object.entries(api.functions), ...Object.entries(identity.functions)]) {
      if (functions[name]) {
        throw new Error(`MonitoringStack: two functions are named ${name} (Api and Identity stacks)`);
      }
      functions[name] = { function: fn.function, timeout: fn.timeout };
    }
    this.monitoring = new SecurityMonitoring(this, 'Security', {
      config,
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      functions,
      tables: allTables.map((schema) => data.table(schema)),
      userPool: {
        userPoolId: identity.userPool.userPoolId,
        clientIds: identity.allowedClientIds,
      },
      auditArchiver: {
        function: api.functions.auditArchiver!.function,
        deadLetterQueue: api.auditDeadLetters,
      },
      directorySyncDeadLetters: identity.directorySyncDeadLetters,
      loadBalancer: api.edge.loadBalancer,
      webAcl: { name: webAclName(config.name) },
      protectedLogGroups: [
        ...Object.values(api.functions).map((fn) => fn.logGroup),
        api.webAcl.logGroup,
        ...(api.streaming ? [api.streaming.accessLogs] : []),
        ...identity.logGroups,
      ],
    });
  }
}
