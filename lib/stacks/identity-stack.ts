import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/schema';
import { AppClients } from '../constructs/identity/clients';
import type { ControlPlaneFunction } from '../constructs/identity/control-plane-function';
import { Federation } from '../constructs/identity/federation';
import { DeployTimeJwks } from '../constructs/identity/jwks-resolution';
import { OwnerDirectoryWriters } from '../constructs/identity/owner-directory-writers';
import { issuerUrlOf, SecureUserPool } from '../constructs/identity/user-pool';
import type { PrivateNetwork } from '../constructs/private-network';
import { apiKeysTable } from '../data/table-schemas';
import type { DataStack } from './data-stack';
import { retentionDays } from './retention';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Properties of {@link IdentityStack}. */
export interface IdentityStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  /** Key of the Cognito log groups (from the Data stack). */
  readonly logsKey: kms.IKey;
  /** ARN of the bucket that receives Cognito's threat-protection auth events (Data stack). */
  readonly authEventsBucketArn: string;
  /** The VPC the owner-directory writers run in (isolated subnets). */
  readonly network: PrivateNetwork;
  /** The Data stack: the API keys table holds the owner directory. */
  readonly data: DataStack;
}

/** A function of the stack, as the monitoring stack watches it. */
export interface IdentityFunction {
  readonly function: lambda.IFunction;
  readonly timeout: Duration;
  readonly logGroup: logs.LogGroup;
}

/**
 * Who may sign in, and with what: the Cognito user pool, its groups and resource-server
 * scopes, app clients, managed-login domain, optional federation, and the pool's JWKS
 * resolved at deploy time for the isolated functions. Stateful (the users live here), so
 * termination-protected and retained outside dev.
 */
export class IdentityStack extends Stack {
  readonly userPool: cognito.UserPool;
  /** Pool, groups, resource server and auth-event logging. */
  readonly pool: SecureUserPool;
  readonly clients: AppClients;
  /** Client of the ALB `authenticate-cognito` action (has a secret). */
  readonly albClient: cognito.UserPoolClient;
  /** Managed-login domain (`<prefix>.auth.<region>.amazoncognito.com`). */
  readonly domain: cognito.UserPoolDomain;
  /** Token issuer, `https://cognito-idp.<region>.amazonaws.com/<poolId>`. */
  readonly issuer: string;
  /** The pool's JWKS as compact JSON, resolved at deploy time; preload the verifier with it. */
  readonly jwksJson: string;
  /** Clients whose access tokens the API accepts: ALB, public, then machine clients. */
  readonly allowedClientIds: readonly string[];
  /**
   * The stack's Lambda functions by name (`jwksResolver`, `preTokenGeneration` and
   * `directorySync` always, `preSignUp` with self sign-up), for per-function alarms.
   */
  readonly functions: Readonly<Record<string, ControlPlaneFunction | IdentityFunction>>;
  /** Cognito admin events the directory sync could not apply or receive (alarms watch them). */
  readonly directorySyncDeadLetters: readonly sqs.IQueue[];
  /**
   * Every log group of the stack (the functions' and Cognito's user-auth events), for the
   * data-protection policy.
   */
  readonly logGroups: readonly logs.LogGroup[];

  constructor(scope: Construct, id: string, props: IdentityStackProps) {
    super(scope, id, { ...props, terminationProtection: props.config.terminationProtection });
    const { config } = props;
    const identity = config.identity;
    if (config.tier === 'production' && identity.threatProtection !== 'ENFORCED') {
      throw new Error(
        `${config.name}.identity.threatProtection: must be ENFORCED in the production tier (got ${identity.threatProtection})`,
      );
    }
    // The passkey relying party is the managed-login host, and WebAuthn RP ids are at most 63 characters.
    const loginHost = `${identity.domainPrefix}.auth.${config.region}.amazoncognito.com`;
    if (loginHost.length > 63) {
      throw new Error(
        `${config.name}.identity.domainPrefix: must be at most ${63 - loginHost.length + identity.domainPrefix.length} characters in ${config.region} (the login host ${loginHost} is the passkey relying party id, at most 63 characters)`,
      );
    }
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const logRetention = retentionDays(config.logRetentionDays);

    this.pool = new SecureUserPool(this, 'Pool', {
      envName: config.name,
      domainPrefix: identity.domainPrefix,
      threatProtection: identity.threatProtection,
      ...(identity.selfSignUp.enabled
        ? {
            selfSignUp: {
              allowedDomains: identity.selfSignUp.allowedDomains,
              allowedUsers: identity.selfSignUp.allowedUsers,
            },
          }
        : {}),
      logsKey: props.logsKey,
      authEventsBucketArn: props.authEventsBucketArn,
      ...(identity.email ? { email: identity.email } : {}),
      logRetention,
      removalPolicy,
      projectRoot,
    });
    this.userPool = this.pool.userPool;

    const federation = new Federation(this, 'Federation', {
      userPool: this.userPool,
      providers: identity.identityProviders,
    });
    this.clients = new AppClients(this, 'Clients', {
      envName: config.name,
      userPool: this.userPool,
      scopes: this.pool.scopes,
      callbackHost: identity.callbackHost,
      logoutUrls: identity.logoutUrls,
      publicClientCallbackUrls: identity.publicClientCallbackUrls,
      refreshTokenValidity: Duration.days(identity.refreshTokenValidityDays),
      integrations: identity.integrations,
      identityProviders: federation.providers,
    });
    this.albClient = this.clients.albClient;

    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: identity.domainPrefix },
      managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    // Managed login v2 shows a client's pages only once it has a style; Cognito's default one.
    for (const [name, client] of [
      ['Alb', this.clients.albClient],
      ['Public', this.clients.publicClient],
    ] as const) {
      const branding = new cognito.CfnManagedLoginBranding(this, `${name}Branding`, {
        userPoolId: this.userPool.userPoolId,
        clientId: client.userPoolClientId,
        useCognitoProvidedValues: true,
      });
      branding.node.addDependency(this.domain);
    }

    this.issuer = issuerUrlOf(this.region, this.userPool.userPoolId);
    const jwks = new DeployTimeJwks(this, 'Jwks', {
      userPoolId: this.userPool.userPoolId,
      logsKey: props.logsKey,
      logRetention,
      logRemovalPolicy: removalPolicy,
      projectRoot,
    });
    this.jwksJson = jwks.jwksJson;
    const writers = new OwnerDirectoryWriters(this, 'OwnerDirectory', {
      userPool: this.userPool,
      vpc: props.network.vpc,
      subnets: props.network.computeSubnets,
      apiKeysTable: props.data.table(apiKeysTable),
      dataKey: props.data.keys.dataKey,
      logsKey: props.logsKey,
      logRetention,
    });
    this.directorySyncDeadLetters = [writers.deadLetters, writers.deliveryDeadLetters];
    this.functions = {
      jwksResolver: jwks.resolver,
      ...(this.pool.preSignUp ? { preSignUp: this.pool.preSignUp } : {}),
      preTokenGeneration: writers.preTokenGeneration,
      directorySync: writers.directorySync,
    };
    this.logGroups = Object.values(this.functions).map((fn) => fn.logGroup);
    this.allowedClientIds = [
      this.clients.albClient.userPoolClientId,
      this.clients.publicClient.userPoolClientId,
      ...[...this.clients.machineClients.values()].map((c) => c.userPoolClientId),
    ];

    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'Issuer', { value: this.issuer });
    new CfnOutput(this, 'ManagedLoginDomain', { value: this.domain.baseUrl() });
    new CfnOutput(this, 'PublicClientId', { value: this.clients.publicClient.userPoolClientId });
  }
}
