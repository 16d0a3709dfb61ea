/**
 * The composition root: every API function is wired here and only here. The AWS entries
 * (lambda/functions/) call {@link composeFunction} with AWS adapters read from the
 * environment (./aws-adapters.ts); local mode (scripts/local-service.ts), the API test
 * harness (test/api/harness.ts) and the chat-load benchmark call the same function with
 * emulator adapters (dynalite, moto, the local issuer, the Converse stand-in). Only the
 * adapters differ between the modes.
 *
 * Each function's routes are imported on demand: esbuild keeps them in every bundle, but a
 * container evaluates only its own (no policy engine, lexicon or chat service outside chat),
 * which is what its cold start pays for.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AuditLogger } from '../audit/writer';
import type { OwnerDirectory } from '../auth/owner-directory';
import type { DynamoDbOwnerDirectory } from '../auth/owner-directory-dynamodb';
import type { AccessTokenVerifier } from '../auth/token-verifier';
import type { ChatModel, Clock } from '../chat/ports';
import type { DataKeyProvider } from '../crypto/data-keys';
import type { CountMetric } from '../runtime/audit-sink';
import type { ErrorLog } from '../runtime/unexpected-error';
import type { MetricName } from '../shared/metric-names';
import type { DeployConfig } from './deploy-config';
import type { AlbHandler } from './handlers/base';
import type { ChatStreamHandler } from './handlers/chat-stream-contract';
import { composeServices, type Services, type ServiceTables } from './services';
import { composeSharedPorts, type SharedPorts } from './shared-ports';

/** The API functions, by their entry name in lambda/functions/ (health needs no wiring). */
export type ApiFunctionName = 'chat' | 'history' | 'keys' | 'admin' | 'web';

/** Table names by role; the service tables only for chat, history and admin. */
export interface FunctionTables extends Partial<ServiceTables> {
  readonly apiKeys: string;
  readonly audit: string;
}

/** Where a function logs and counts. */
export interface FunctionObservability {
  /** Unexpected errors and failed audit writes, one structured record each. */
  readonly log: ErrorLog & AuditLogger;
  readonly count: CountMetric;
  /** A count with dimensions (its own EMF line in AWS). @default the count without them */
  readonly countWith?: (name: MetricName, dimensions: Record<string, string>, value?: number) => void;
}

/** The web page's files and sign-out (web only). */
export interface WebAdapters {
  readonly assets: ReadonlyMap<string, string>;
  readonly signOutPath: string;
  readonly cognitoLogoutUrl?: string;
}

/** What differs between AWS, local mode, the tests and the bench: the adapters. */
export interface FunctionAdapters {
  readonly dynamo: DynamoDBClient;
  readonly tables: FunctionTables;
  /** Data keys (KMS in AWS); called once, when a function that encrypts is composed. */
  readonly dataKeys: () => DataKeyProvider;
  readonly verifier: AccessTokenVerifier;
  /**
   * The model (chat only); called once, when chat is composed. The streaming route streams when
   * it also has `converseStream` (`withStreaming` in lambda/model/streaming.ts), and otherwise
   * sends the whole reply as one delta.
   */
  readonly model?: () => ChatModel;
  readonly observability: FunctionObservability;
  /** The build-time configuration (compiled into the chat, history and admin bundles). */
  readonly deployConfig: () => DeployConfig;
  readonly auditRetentionDays: number;
  /** Owner-directory cache, seconds: the revocation bound. */
  readonly ownerCacheSeconds: number;
  /** @default the system clock */
  readonly clock?: Clock;
  readonly web?: WebAdapters;
  /** Wraps the directory the claim check reads (tests only). */
  readonly readDirectory?: (directory: DynamoDbOwnerDirectory) => OwnerDirectory;
  /** The model call's time limit (tests only). @default chat-service's MODEL_TIMEOUT_MS */
  readonly modelTimeoutMs?: number;
  /** The streaming route's heartbeat interval (tests only). @default SSE_HEARTBEAT_MS */
  readonly streamHeartbeatMs?: number;
}

/** An ALB handler as the route modules build it (middy, so AWS can add its metrics middleware). */
export type FunctionHandler = ReturnType<typeof import('./handlers/keys').keysFunction>;

/** A composed function: its handler, and the ports it was built from (for local mode's edge and tests). */
export interface ComposedFunction {
  readonly handler: FunctionHandler;
  readonly shared: SharedPorts;
  /** The chat, history and admin functions' services. */
  readonly services?: Services;
  /** The chat function's streaming route (issue 20); undefined for the other functions. */
  readonly stream?: ChatStreamHandler;
}

function servicesOf(name: ApiFunctionName, adapters: FunctionAdapters, shared: SharedPorts): Services {
  const { conversations, limits, settings } = adapters.tables;
  if (conversations === undefined || limits === undefined || settings === undefined) {
    throw new Error(`Function ${name}: the conversations, limits and settings tables are required`);
  }
  const { count, countWith } = adapters.observability;
  return composeServices({
    dynamo: adapters.dynamo,
    tables: { conversations, limits, settings, audit: adapters.tables.audit },
    keys: adapters.dataKeys(),
    deploy: adapters.deployConfig(),
    base: { claimCheck: shared.claimCheck, audit: shared.audit },
    apiKeyStore: shared.apiKeyStore,
    count,
    ...(countWith ? { countWith } : {}),
    ...(adapters.clock ? { clock: adapters.clock } : {}),
  });
}

/** The shared ports of one function (local mode's edge uses a set of its own, as the ALB is apart). */
export function sharedPortsOf(adapters: FunctionAdapters): SharedPorts {
  return composeSharedPorts({
    dynamo: adapters.dynamo,
    apiKeysTable: adapters.tables.apiKeys,
    auditTable: adapters.tables.audit,
    auditRetentionDays: adapters.auditRetentionDays,
    verifier: adapters.verifier,
    ownerCacheSeconds: adapters.ownerCacheSeconds,
    log: adapters.observability.log,
    count: adapters.observability.count,
    ...(adapters.readDirectory ? { readDirectory: adapters.readDirectory } : {}),
  });
}

/** Wires function `name` from `adapters`. */
export async function composeFunction(
  name: ApiFunctionName,
  adapters: FunctionAdapters,
): Promise<ComposedFunction> {
  const shared = sharedPortsOf(adapters);
  const base = { claimCheck: shared.claimCheck, audit: shared.audit, log: shared.log };
  switch (name) {
    case 'chat': {
      if (!adapters.model) throw new Error('Function chat: a model adapter is required');
      const services = servicesOf(name, adapters, shared);
      const { chatFunction } = await import('./handlers/chat');
      const chat = {
        ...services.chat(adapters.model()),
        ...(adapters.modelTimeoutMs === undefined ? {} : { modelTimeoutMs: adapters.modelTimeoutMs }),
      };
      const { chatStreamFunction } = await import('./handlers/chat-stream');
      const handler = chatFunction({ ...base, chat });
      const stream = chatStreamFunction(
        { ...base, chat },
        handler,
        adapters.streamHeartbeatMs === undefined ? {} : { heartbeatMs: adapters.streamHeartbeatMs },
      );
      return { handler, shared, services, stream };
    }
    case 'history': {
      const services = servicesOf(name, adapters, shared);
      const { historyFunction } = await import('./handlers/history');
      return { handler: historyFunction({ ...base, history: services.history }), shared, services };
    }
    case 'admin': {
      const services = servicesOf(name, adapters, shared);
      const { adminFunction } = await import('./handlers/admin');
      return { handler: adminFunction({ ...base, ...services.admin }), shared, services };
    }
    case 'keys': {
      const { keysFunction } = await import('./handlers/keys');
      return { handler: keysFunction({ ...base, store: shared.apiKeyStore }), shared };
    }
    case 'web': {
      if (!adapters.web) throw new Error('Function web: the web adapters (assets, sign-out) are required');
      const { webFunction } = await import('../web/web-function');
      return { handler: webFunction({ ...base, ...adapters.web }), shared };
    }
  }
}

/**
 * The exported handler of an entry: it waits for the composition on its first call. Not a
 * top-level await, so the entry also builds as CommonJS (the benchmark's naive bundle); a
 * missing or malformed variable still fails the cold start, as the adapters read the
 * environment synchronously.
 */
export function whenComposed(composed: Promise<AlbHandler>): AlbHandler {
  // Observed now, so a failed composition is not an unhandled rejection before the first call.
  composed.catch(() => undefined);
  return async (event, context) => (await composed)(event, context);
}
