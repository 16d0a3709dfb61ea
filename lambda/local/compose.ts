/**
 * Local mode's adapters for the composition root (lambda/compose/compose-function.ts): the
 * same verifier (with the local issuer's JWKS preloaded, as the deploy-time resolver preloads
 * Cognito's), the same DynamoDB-API stores (dynalite), local data keys and a structured log
 * on stderr. Only the adapters differ from AWS; the wiring is the composition root's.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AuditLogger } from '../audit/writer';
import { DEFAULT_OWNER_CACHE_SECONDS } from '../auth/owner-directory';
import { createAccessTokenVerifier } from '../auth/token-verifier';
import type { ChatModel, Clock } from '../chat/ports';
import type { FunctionAdapters, FunctionTables, WebAdapters } from '../compose/compose-function';
import type { DeployConfig } from '../compose/deploy-config';
import type { DataKeyProvider } from '../crypto/data-keys';
import type { CountMetric } from '../runtime/audit-sink';
import type { ErrorLog } from '../runtime/unexpected-error';
import { LOCAL_CLIENT_ID, type LocalIssuer } from './issuer';

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

/** Options of {@link localAdapters}. */
export interface LocalAdapterOptions {
  readonly dynamo: DynamoDBClient;
  readonly tables: FunctionTables;
  readonly issuer: LocalIssuer;
  readonly dataKeys: DataKeyProvider;
  readonly deploy: DeployConfig;
  /** Days audit events stay in the table. */
  readonly auditRetentionDays: number;
  /** Owner-directory cache, seconds (the revocation bound). @default 30 */
  readonly ownerCacheSeconds?: number;
  /** @default one JSON line per record on stderr ({@link jsonLineLog}) */
  readonly logger?: AuditLogger & ErrorLog;
  /** @default no metrics */
  readonly count?: CountMetric;
  readonly model?: () => ChatModel;
  readonly web?: WebAdapters;
  readonly clock?: Clock;
}

/** The adapters of the local service (and of the benchmarks that run it in-process). */
export function localAdapters(options: LocalAdapterOptions): FunctionAdapters {
  return {
    dynamo: options.dynamo,
    tables: options.tables,
    dataKeys: () => options.dataKeys,
    verifier: createAccessTokenVerifier({
      issuer: options.issuer.issuer,
      jwks: options.issuer.jwks,
      clientIds: [LOCAL_CLIENT_ID],
    }),
    ...(options.model ? { model: options.model } : {}),
    ...(options.web ? { web: options.web } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    observability: {
      log: options.logger ?? jsonLineLog('omnichat-local'),
      count: options.count ?? (() => undefined),
    },
    deployConfig: () => options.deploy,
    auditRetentionDays: options.auditRetentionDays,
    ownerCacheSeconds: options.ownerCacheSeconds ?? DEFAULT_OWNER_CACHE_SECONDS,
  };
}
