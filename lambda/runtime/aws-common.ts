/**
 * AWS adapters every API function shares, built once per execution environment at
 * module load: DynamoDB client, the preloaded-JWKS token verifier, API-key
 * authentication, and the fail-closed audit sink. Missing configuration fails the cold
 * start with the variable's name, never a request.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createEventIdGenerator } from '../audit/event';
import { createDynamoAuditWriter, failClosed } from '../audit/writer';
import { DynamoDbApiKeyStore } from '../auth/api-key-store-dynamodb';
import type { ClaimCheckOptions } from '../auth/claim-check';
import { cachedOwnerDirectory, ownerCacheSecondsFrom } from '../auth/owner-directory';
import { DynamoDbOwnerDirectory } from '../auth/owner-directory-dynamodb';
import { createAccessTokenVerifier, verifierConfigFromEnvironment } from '../auth/token-verifier';
import { type AuditSink, auditDecisions, createAuditSink } from './audit-sink';
import { ENV, requireEnv, requireIntEnv } from './env';
import { createObservability, type Observability } from './observability';

/** What the shared wiring provides to a function. */
export interface AwsCommon {
  readonly dynamo: DynamoDBClient;
  readonly observability: Observability;
  readonly audit: AuditSink;
  readonly apiKeyStore: DynamoDbApiKeyStore;
  readonly owners: DynamoDbOwnerDirectory;
  readonly claimCheck: ClaimCheckOptions;
}

/** Builds the shared adapters for the function named `serviceName`. */
export function createAwsCommon(serviceName: string, env: NodeJS.ProcessEnv = process.env): AwsCommon {
  const observability = createObservability(serviceName);
  const dynamo = new DynamoDBClient({ maxAttempts: 3 });
  const writer = failClosed(
    createDynamoAuditWriter({
      client: dynamo,
      tableName: requireEnv(ENV.auditTable, env),
      ttlDays: requireIntEnv(ENV.auditRetentionDays, env),
    }),
    {
      metrics: { addMetric: (name, _unit, value) => observability.count(name, value) },
      logger: { error: (message, attributes) => observability.logger.error(message, attributes) },
    },
  );
  const audit = createAuditSink(writer, { now: () => new Date(), ids: createEventIdGenerator() });
  const apiKeysTable = requireEnv(ENV.apiKeysTable, env);
  const apiKeyStore = new DynamoDbApiKeyStore(dynamo, apiKeysTable);
  const owners = new DynamoDbOwnerDirectory(dynamo, apiKeysTable);
  const verifier = createAccessTokenVerifier(verifierConfigFromEnvironment(env));
  // One cache for tokens and keys: OWNER_CACHE_SECONDS (<= 60) is the revocation bound.
  const cachedOwners = cachedOwnerDirectory(owners, { ttlMs: ownerCacheSecondsFrom(env) * 1000 });
  return {
    dynamo,
    observability,
    audit,
    apiKeyStore,
    owners,
    claimCheck: {
      verifier,
      owners: cachedOwners,
      apiKeys: { store: apiKeyStore, owners: cachedOwners },
      onDecision: auditDecisions(audit, observability.count),
    },
  };
}
