/**
 * The composition root: every API function is wired here and only here. The AWS entries
 * (lambda/functions/) call {@link composeFunction} with AWS adapters read from the
 * environment (./aws-adapters.ts); local mode (scripts/local-service.ts), the API test
 * harness (test/api/harness.ts) and the chat-load benchmark call the same function with
 * emulator adapters (dynalite, moto, the local issuer, the Converse stand-in). Only the
 * adapters differ between the modes.
 *
 * Each function has its own composer ({@link composeChat} ... {@link composeWeb}), and its
 * AWS entry imports only that one, so esbuild's tree shaking leaves the other functions'
 * routes out of the bundle (no policy engine, lexicon or chat service outside chat).
 * {@link composeFunction} picks the composer by name for the callers that run several
 * functions in one process. Everything is imported statically: a dynamic import() makes
 * esbuild wrap the imported module and all it imports in lazy initialisers, which it cannot
 * tree-shake, and every bundle grew by the routes of every function.
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
import { webFunction } from '../web/web-function';
import type { DeployConfig } from './deploy-config';
import { adminFunction } from './handlers/admin';
import { chatFunction } from './handlers/chat';
import { chatStreamFunction } from './handlers/chat-stream';
import type { ChatStreamHandler } from './handlers/chat-stream-contract';
import { historyFunction } from './handlers/history';
import { keysFunction } from './handlers/keys';
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
export type FunctionHandler = ReturnType<typeof keysFunction>;

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

/** The base dependencies every route module gets. */
function baseOf(shared: SharedPorts) {
  return { claimCheck: shared.claimCheck, audit: shared.audit, log: shared.log };
}

/** Wires the chat function (`POST /api/v1/chat`, `GET /api/v1/models`). */
export function composeChat(adapters: FunctionAdapters): ComposedFunction {
  if (!adapters.model) throw new Error('Function chat: a model adapter is required');
  const shared = sharedPortsOf(adapters);
  const services = servicesOf('chat', adapters, shared);
  const chat = {
    ...services.chat(adapters.model()),
    ...(adapters.modelTimeoutMs === undefined ? {} : { modelTimeoutMs: adapters.modelTimeoutMs }),
  };
  const handler = chatFunction({ ...baseOf(shared), chat });
  const stream = chatStreamFunction(
    { ...baseOf(shared), chat },
    handler,
    adapters.streamHeartbeatMs === undefined ? {} : { heartbeatMs: adapters.streamHeartbeatMs },
  );
  return { handler, shared, services, stream };
}

/** Wires the history function (conversations, export, erasure). */
export function composeHistory(adapters: FunctionAdapters): ComposedFunction {
  const shared = sharedPortsOf(adapters);
  const services = servicesOf('history', adapters, shared);
  return { handler: historyFunction({ ...baseOf(shared), history: services.history }), shared, services };
}

/** Wires the admin function (settings, model allow-list, audit queries). */
export function composeAdmin(adapters: FunctionAdapters): ComposedFunction {
  const shared = sharedPortsOf(adapters);
  const services = servicesOf('admin', adapters, shared);
  return { handler: adminFunction({ ...baseOf(shared), ...services.admin }), shared, services };
}

/** Wires the keys function (personal API keys). */
export function composeKeys(adapters: FunctionAdapters): ComposedFunction {
  const shared = sharedPortsOf(adapters);
  return { handler: keysFunction({ ...baseOf(shared), store: shared.apiKeyStore }), shared };
}

/** Wires the web function (the page and sign-out). */
export function composeWeb(adapters: FunctionAdapters): ComposedFunction {
  if (!adapters.web) throw new Error('Function web: the web adapters (assets, sign-out) are required');
  const shared = sharedPortsOf(adapters);
  return { handler: webFunction({ ...baseOf(shared), ...adapters.web }), shared };
}

const COMPOSERS: Readonly<Record<ApiFunctionName, (adapters: FunctionAdapters) => ComposedFunction>> = {
  chat: composeChat,
  history: composeHistory,
  admin: composeAdmin,
  keys: composeKeys,
  web: composeWeb,
};

/**
 * Wires function `name` from `adapters`, with the composer its AWS entry calls (local mode,
 * the API tests and the bench run several functions in one process).
 */
export async function composeFunction(
  name: ApiFunctionName,
  adapters: FunctionAdapters,
): Promise<ComposedFunction> {
  return COMPOSERS[name](adapters);
}
