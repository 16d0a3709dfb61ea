/**
 * The AWS adapters of an API function, read from its environment (./function-env.ts) once
 * per container: the SDK clients, the token verifier with the JWKS preloaded at deploy time,
 * Powertools logging and metrics, and the deploy configuration compiled into the bundle.
 * A missing or malformed variable fails the cold start naming it, never a request.
 *
 * The KMS client is built only by the functions that encrypt (chat, history, admin); the
 * Bedrock client only by chat, in its entry (lambda/functions/chat.ts), so no other bundle
 * carries it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { createAccessTokenVerifier } from '../auth/token-verifier';
import type { ChatModel } from '../chat/ports';
import { KmsDataKeys } from '../crypto/kms-data-keys';
import { createObservability, type Observability } from '../runtime/observability';
import type { ApiFunctionName, FunctionAdapters } from './compose-function';
import { bundledDeployConfig } from './deploy-config';
import { type FunctionEnv, readFunctionEnv } from './function-env';

/** The AWS adapters, and the Powertools objects the entry adds its middleware with. */
export interface AwsAdapters extends FunctionAdapters {
  readonly powertools: Observability;
}

/** Options of {@link awsAdapters}. */
export interface AwsAdapterOptions<N extends ApiFunctionName> {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The model, from the typed environment (chat only). */
  readonly model?: (env: FunctionEnv<N>) => ChatModel;
  readonly web?: (env: FunctionEnv<N>) => NonNullable<FunctionAdapters['web']>;
}

/** The adapters of function `name` in AWS. */
export function awsAdapters<N extends ApiFunctionName>(
  name: N,
  options: AwsAdapterOptions<N> = {},
): AwsAdapters {
  const env = readFunctionEnv(name, options.env ?? process.env);
  // Every variable below is common to the API functions; the narrower ones are read by
  // name-specific code paths through the typed environment.
  const common = env as FunctionEnv<'keys'>;
  const services = env as Partial<FunctionEnv<'history'>>;
  const powertools = createObservability(name);
  const { conversationsTable, limitsTable, settingsTable, dataKeyArn } = services;
  return {
    powertools,
    dynamo: new DynamoDBClient({ maxAttempts: 3 }),
    tables: {
      apiKeys: common.apiKeysTable,
      audit: common.auditTable,
      ...(conversationsTable === undefined ? {} : { conversations: conversationsTable }),
      ...(limitsTable === undefined ? {} : { limits: limitsTable }),
      ...(settingsTable === undefined ? {} : { settings: settingsTable }),
    },
    dataKeys: () => {
      if (dataKeyArn === undefined) throw new Error(`Function ${name} has no data key (DATA_KEY_ARN)`);
      return new KmsDataKeys({ client: new KMSClient({ maxAttempts: 3 }), keyArn: dataKeyArn });
    },
    verifier: createAccessTokenVerifier({
      issuer: common.authIssuer,
      jwks: common.authJwks,
      clientIds: common.authClientIds,
      maxLifetimeSeconds: common.authMaxTokenSeconds,
    }),
    ...(options.model ? { model: () => options.model!(env) } : {}),
    ...(options.web ? { web: options.web(env) } : {}),
    observability: {
      log: powertools.logger,
      count: powertools.count,
      countWith: powertools.countWith,
    },
    deployConfig: bundledDeployConfig,
    auditRetentionDays: common.auditRetentionDays,
    ownerCacheSeconds: common.ownerCacheSeconds,
  };
}
