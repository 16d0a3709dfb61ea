import { CustomResource, Duration, type RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ControlPlaneFunction } from './control-plane-function';

/** Properties of {@link DeployTimeJwks}. */
export interface DeployTimeJwksProps {
  /** Id of the user pool whose JWKS is resolved. */
  readonly userPoolId: string;
  readonly logsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Project root, for bundling lambda/deploy/jwks-resolver.ts. */
  readonly projectRoot: string;
}

/**
 * Resolves the user pool's JWKS during deployment (lambda/deploy/jwks-resolver.ts) and
 * exposes it as a token, so functions without an internet route get the keys in their
 * environment and verify tokens without ever fetching. A custom resource of its own
 * function, not the Provider framework: one function, one log group, nothing else.
 */
export class DeployTimeJwks extends Construct {
  /** The pool's JWKS as compact JSON (`{"keys":[...]}`), a deploy-time token. */
  readonly jwksJson: string;
  readonly resolver: ControlPlaneFunction;

  constructor(scope: Construct, id: string, props: DeployTimeJwksProps) {
    super(scope, id);
    this.resolver = new ControlPlaneFunction(this, 'Resolver', {
      entry: `${props.projectRoot}lambda/deploy/jwks-resolver.ts`,
      projectRoot: props.projectRoot,
      description: 'Deploy time: resolves the user pool JWKS for functions without internet access',
      logsKey: props.logsKey,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      // Runs only when CloudFormation creates or updates the resource.
      reservedConcurrency: 1,
      timeout: Duration.seconds(60),
      outsideVpcReason:
        'Runs only at deployment, invoked synchronously by CloudFormation, and must reach the public Cognito JWKS endpoint (cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json), which has no VPC endpoint once the pool has a domain; the VPC deliberately has no internet route. It holds no permission beyond its own logs and traces.',
    });
    const resource = new CustomResource(this, 'Resource', {
      serviceToken: this.resolver.function.functionArn,
      resourceType: 'Custom::CognitoJwks',
      properties: { Region: Stack.of(this).region, UserPoolId: props.userPoolId },
    });
    this.jwksJson = Token.asString(resource.getAtt('Jwks'));
  }
}
