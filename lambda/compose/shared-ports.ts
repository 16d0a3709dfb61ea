/**
 * The ports every API function shares, built once per function (once per container in AWS):
 * the fail-closed audit writer, API-key authentication and the owner directory on the keys
 * table, and the claim check over the token verifier. What used to be written once for AWS
 * (runtime/aws-common.ts), once for local mode and once per test harness.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createEventIdGenerator } from '../audit/event';
import { type AuditLogger, createDynamoAuditWriter, failClosed } from '../audit/writer';
import { DynamoDbApiKeyStore } from '../auth/api-key-store-dynamodb';
import type { ClaimCheckOptions } from '../auth/claim-check';
import { cachedOwnerDirectory, type OwnerDirectory } from '../auth/owner-directory';
import { DynamoDbOwnerDirectory } from '../auth/owner-directory-dynamodb';
import type { AccessTokenVerifier } from '../auth/token-verifier';
import { type AuditSink, auditDecisions, type CountMetric, createAuditSink } from '../runtime/audit-sink';
import type { ErrorLog } from '../runtime/unexpected-error';

/** What {@link composeSharedPorts} builds. */
export interface SharedPorts {
  readonly verifier: AccessTokenVerifier;
  readonly claimCheck: ClaimCheckOptions;
  readonly audit: AuditSink;
  readonly apiKeyStore: DynamoDbApiKeyStore;
  /** The owner directory itself (uncached): the writers' side. */
  readonly owners: DynamoDbOwnerDirectory;
  readonly log: ErrorLog;
}

/** Inputs of {@link composeSharedPorts}. */
export interface SharedPortsOptions {
  readonly dynamo: DynamoDBClient;
  readonly apiKeysTable: string;
  readonly auditTable: string;
  readonly auditRetentionDays: number;
  readonly verifier: AccessTokenVerifier;
  /** Owner-directory cache, seconds: the revocation bound (<= 60). */
  readonly ownerCacheSeconds: number;
  readonly log: ErrorLog & AuditLogger;
  readonly count: CountMetric;
  /** Wraps the directory the claim check reads (the API tests' "signed-in" users). @default none */
  readonly readDirectory?: (directory: DynamoDbOwnerDirectory) => OwnerDirectory;
}

/** Builds the shared ports. Nothing here talks to the network until a request needs it. */
export function composeSharedPorts(options: SharedPortsOptions): SharedPorts {
  const { dynamo, log, count } = options;
  const writer = failClosed(
    createDynamoAuditWriter({
      client: dynamo,
      tableName: options.auditTable,
      ttlDays: options.auditRetentionDays,
    }),
    { metrics: { addMetric: (name, _unit, value) => count(name, value) }, logger: log },
  );
  const audit = createAuditSink(writer, { now: () => new Date(), ids: createEventIdGenerator() });
  const apiKeyStore = new DynamoDbApiKeyStore(dynamo, options.apiKeysTable);
  const owners = new DynamoDbOwnerDirectory(dynamo, options.apiKeysTable);
  // One cache for tokens and keys: its lifetime is the revocation bound.
  const cachedOwners = cachedOwnerDirectory(options.readDirectory ? options.readDirectory(owners) : owners, {
    ttlMs: options.ownerCacheSeconds * 1000,
  });
  return {
    verifier: options.verifier,
    audit,
    apiKeyStore,
    owners,
    log,
    claimCheck: {
      verifier: options.verifier,
      owners: cachedOwners,
      apiKeys: { store: apiKeyStore, owners: cachedOwners },
      onDecision: auditDecisions(audit, count),
    },
  };
}
