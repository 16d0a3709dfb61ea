import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/schema';
import { EncryptionKeys } from '../constructs/encryption-keys';

/** Properties of {@link DataStack}. */
export interface DataStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/**
 * Stateful resources of one environment: KMS keys, tables and buckets. Kept apart from
 * the stateless stacks so those can be replaced freely; termination-protected and
 * retained outside dev.
 */
export class DataStack extends Stack {
  /** The environment's customer-managed keys. */
  readonly keys: EncryptionKeys;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, terminationProtection: props.config.terminationProtection });
    const removalPolicy =
      props.config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    this.keys = new EncryptionKeys(this, 'Keys', { envName: props.config.name, removalPolicy });
  }
}
