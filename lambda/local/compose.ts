/**
 * Local mode's wiring of the ports every API function shares: the same verifier (with the
 * local issuer's JWKS preloaded, as the deploy-time resolver preloads Cognito's), API-key
 * authentication on the same DynamoDB-API store (dynalite), and the same fail-closed audit
 * writer on the same table schema. Only the adapters' endpoints differ from AWS.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createEventIdGenerator } from '../audit/event';
import { type AuditLogger, type AuditMetrics, createDynamoAuditWriter, failClosed } from '../audit/writer';
import { DynamoDbApiKeyStore } from '../auth/api-key-store-dynamodb';
import type { ClaimCheckOptions } from '../auth/claim-check';
import { cachedOwnerDirectory, DEFAULT_OWNER_CACHE_SECONDS } from '../auth/owner-directory';
import { DynamoDbOwnerDirectory } from '../auth/owner-directory-dynamodb';
import { type AccessTokenVerifier, createAccessTokenVerifier } from '../auth/token-verifier';
import { type AuditSink, auditDecisions, type CountMetric, createAuditSink } from '../runtime/audit-sink';
import type { ErrorLog } from '../runtime/unexpected-error';
import { LOCAL_CLIENT_ID, type LocalIssuer } from './issuer';

/** Table names of the local store, by table schema id. */
export interface LocalTables {
  readonly apiKeys: string;
  readonly audit: string;
}

/** What {@link composeBase} builds. */
export interface LocalBase {
  readonly verifier: AccessTokenVerifier;
  readonly claimCheck: ClaimCheckOptions;
  readonly audit: AuditSink;
  readonly apiKeyStore: DynamoDbApiKeyStore;
  readonly owners: DynamoDbOwnerDirectory;
  /** Where unexpected errors and failed audit writes are logged. */
  readonly log: ErrorLog;
}

/** Options of {@link composeBase}. */
export interface ComposeBaseOptions {
  readonly dynamo: DynamoDBClient;
  readonly tables: LocalTables;
  readonly issuer: LocalIssuer;
  /** Days audit events stay in the table. */
  readonly auditRetentionDays: number;
  readonly count?: CountMetric;
  /** @default one JSON line per record on stderr ({@link jsonLineLog}) */
  readonly logger?: AuditLogger & ErrorLog;
  /** Owner-directory cache, seconds (the revocation bound). @default 30 */
  readonly ownerCacheSeconds?: number;
}

/** A structured log on stderr: one JSON object a line, like Powertools' in AWS. */
export function jsonLineLog(
  serviceName: string,
  write: (line: string) => void = (line) => console.error(line),
): ErrorLog {
  return {
    error: (message, attributes) =>
      write(
        JSON.stringify({
          level: 'ERROR',
          message,
          service: serviceName,
          timestamp: new Date().toISOString(),
          ...attributes,
        }),
      ),
  };
}

/** Builds the shared ports for local mode. */
export function composeBase(options: ComposeBaseOptions): LocalBase {
  const count = options.count ?? (() => undefined);
  const log = options.logger ?? jsonLineLog('omnichat-local');
  const verifier = createAccessTokenVerifier({
    issuer: options.issuer.issuer,
    jwks: options.issuer.jwks,
    clientIds: [LOCAL_CLIENT_ID],
  });
  const metrics: AuditMetrics = { addMetric: (name, _unit, value) => count(name, value) };
  const writer = failClosed(
    createDynamoAuditWriter({
      client: options.dynamo,
      tableName: options.tables.audit,
      ttlDays: options.auditRetentionDays,
    }),
    { metrics, logger: log },
  );
  const audit = createAuditSink(writer, { now: () => new Date(), ids: createEventIdGenerator() });
  const apiKeyStore = new DynamoDbApiKeyStore(options.dynamo, options.tables.apiKeys);
  const owners = new DynamoDbOwnerDirectory(options.dynamo, options.tables.apiKeys);
  const cachedOwners = cachedOwnerDirectory(owners, {
    ttlMs: (options.ownerCacheSeconds ?? DEFAULT_OWNER_CACHE_SECONDS) * 1000,
  });
  return {
    verifier,
    audit,
    apiKeyStore,
    owners,
    log,
    claimCheck: {
      verifier,
      owners: cachedOwners,
      apiKeys: { store: apiKeyStore, owners: cachedOwners },
      onDecision: auditDecisions(audit, count),
    },
  };
}
