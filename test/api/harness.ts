/**
 * The API functions wired by the composition root the AWS entries call
 * (lambda/compose/compose-function.ts), with only the adapters' endpoints moved to loopback:
 * dynalite tables created from lib/data/table-schemas.ts, KMS on moto (KmsDataKeys under a
 * real CMK, encryption context enforced), Bedrock Converse on the wire-compatible stand-in
 * through the real adapter, and access tokens signed with a real RSA key and checked by the
 * real verifier. Each function gets its own service graph, as each gets its own container.
 *
 * Faults are injected on the wire: a client middleware below the retry and signing steps
 * answers chosen calls with the HTTP error AWS would send (status, `__type` body), so the
 * SDK deserializes, retries and classifies them exactly as it would in AWS.
 */
import { randomUUID } from 'node:crypto';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import type { ALBEvent, ALBResult, Context } from 'aws-lambda';
import type { OwnerDirectory } from '../../lambda/auth/owner-directory';
import { syncOwner } from '../../lambda/auth/owner-directory';
import type { DynamoDbOwnerDirectory } from '../../lambda/auth/owner-directory-dynamodb';
import { createAccessTokenVerifier } from '../../lambda/auth/token-verifier';
import type { Clock } from '../../lambda/chat/ports';
import { composeFunction, type FunctionAdapters } from '../../lambda/compose/compose-function';
import type { ChatStreamHandler } from '../../lambda/compose/handlers/chat-stream-contract';
import type { Services } from '../../lambda/compose/services';
import { KmsDataKeys } from '../../lambda/crypto/kms-data-keys';
import { createBedrockChatModel } from '../../lambda/model/bedrock-converse-model';
import { createBedrockStreamingChatModel } from '../../lambda/model/bedrock-converse-stream-model';
import { withStreaming } from '../../lambda/model/streaming';
import { type ParsedSseEvent, parseSse } from '../../lambda/shared/sse';
import { deployConfigOf } from '../../lib/config/deploy-config';
import { environments } from '../../lib/config/environments';
import { parseEnvironmentConfig } from '../../lib/config/load';
import {
  apiKeysTable,
  auditTable,
  conversationsTable,
  limitsTable,
  settingsTable,
} from '../../lib/data/table-schemas';
import { createDataKey } from '../crypto/kms-fixture';
import { type ConverseStandIn, startConverseStandIn } from '../support/converse-standin';
import { type ConverseStreamStandIn, startConverseStreamStandIn } from '../support/converse-stream-standin';
import { startDynalite } from '../support/dynalite';
import { startMoto } from '../support/moto';
import {
  generateSigningKey,
  jwksOf,
  mint,
  type SigningKey,
  TEST_CLIENT_ID,
  TEST_ISSUER,
  userAccessClaims,
} from '../support/tokens';

/** The guardrail the stand-in requires on every call (as the stack passes it to the chat function). */
export const GUARDRAIL = {
  identifier: 'arn:aws:bedrock:eu-central-1:111111111111:guardrail/gr1',
  version: '1',
};
/** The dev environment's build-time configuration, as the CDK app bakes it into the bundles. */
export const DEPLOY = deployConfigOf(parseEnvironmentConfig('dev', environments.dev));

/** A fault answered on the wire instead of forwarding a call. */
export interface WireFault {
  /** `x-amz-target` operation, e.g. `PutItem`, `GenerateDataKey`, `Converse` is not here (stand-in). */
  readonly operation: string;
  /** Only calls whose JSON body satisfies this (e.g. a table name, an item type). */
  readonly when?: (body: Record<string, unknown>) => boolean;
  readonly status: number;
  /** AWS error name (`__type`). */
  readonly errorType: string;
  /** The error's message on the wire. @default 'injected by the test' */
  readonly message?: string;
}

/** Faults in force and the calls they answered. */
export class FaultPlan {
  #faults: WireFault[] = [];
  readonly hits: string[] = [];
  /** Every DynamoDB and KMS operation sent, faulted or not, oldest first; a test may empty it. */
  readonly calls: string[] = [];

  set(...faults: WireFault[]): void {
    this.#faults = faults;
  }

  clear(): void {
    this.#faults = [];
  }

  /** The fault answering a call, if any. */
  match(operation: string, body: Record<string, unknown>): WireFault | undefined {
    return this.#faults.find((f) => f.operation === operation && (f.when?.(body) ?? true));
  }
}

type Sendable = DynamoDBClient | KMSClient;

/** Adds the fault middleware: innermost, so it replaces only the HTTP exchange. */
function injectFaults(client: Sendable, plan: FaultPlan): void {
  // biome-ignore lint/suspicious/noExplicitAny: the middleware stack is typed per client; this one is shared.
  (client.middlewareStack as any).add(
    // biome-ignore lint/suspicious/noExplicitAny: see above.
    (next: any) => async (args: any) => {
      const request = args.request as { headers: Record<string, string>; body?: unknown };
      const target = request.headers['x-amz-target'] ?? '';
      const operation = target.slice(target.indexOf('.') + 1);
      let body: Record<string, unknown> = {};
      try {
        const raw =
          request.body instanceof Uint8Array ? new TextDecoder().decode(request.body) : request.body;
        body = JSON.parse(typeof raw === 'string' && raw !== '' ? raw : '{}') as Record<string, unknown>;
      } catch {
        // Not JSON: the fault's predicate sees an empty body.
      }
      plan.calls.push(operation);
      const fault = plan.match(operation, body);
      if (!fault) return next(args);
      plan.hits.push(`${operation}:${fault.errorType}`);
      const payload = JSON.stringify({
        __type: fault.errorType,
        message: fault.message ?? 'injected by the test',
      });
      return {
        response: {
          statusCode: fault.status,
          reason: 'injected',
          headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() },
          body: new TextEncoder().encode(payload),
        },
      };
    },
    { step: 'deserialize', priority: 'low', name: 'testWireFaults' },
  );
}

/** Options of {@link startApi}. */
export interface ApiOptions {
  /** Settings-cache, limit and key-cache clock; default: real time plus {@link Api.advance}. */
  readonly clock?: Clock;
  /** The chat pipeline's model timeout (default: the production one). */
  readonly modelTimeoutMs?: number;
  /** The streaming route's heartbeat interval (default: the production one, 15 s). */
  readonly streamHeartbeatMs?: number;
}

/** What a client of the streaming route received. */
export interface StreamRecording {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Each write, in order. */
  readonly writes: readonly string[];
  /** The whole body. */
  readonly body: string;
  /** The body's events, parsed as the SSE grammar does. */
  readonly events: readonly ParsedSseEvent[];
  /** Whether `end()` was called. */
  readonly ended: boolean;
}

/** Options of {@link Api.chatStream}. */
export interface StreamCallOptions {
  /** Aborted to play a client that goes away. */
  readonly signal?: AbortSignal;
  /** Called after each write with what has been written so far. */
  readonly onWrite?: (writes: readonly string[]) => void;
}

/** The running functions and everything a test looks at. */
export interface Api {
  readonly chat: Invoke;
  /** The chat function's streaming route, as the Lambda entry and local mode call it. */
  chatStream(event: ALBEvent, options?: StreamCallOptions): Promise<StreamRecording>;
  /** The ConverseStream stand-in behind the streaming route. */
  readonly streamStandIn: ConverseStreamStandIn;
  readonly history: Invoke;
  readonly keys: Invoke;
  readonly admin: Invoke;
  /** A new admin function instance: a cold container (nothing loaded or cached yet). */
  coldAdmin(): Invoke;
  /** A new chat function instance: a cold container (no data key cached yet). */
  coldChat(): Invoke;
  readonly standIn: ConverseStandIn;
  /** A raw client on dynalite, without faults, for looking at the tables. */
  readonly dynamo: DynamoDBClient;
  readonly tables: {
    conversations: string;
    apiKeys: string;
    limits: string;
    settings: string;
    audit: string;
  };
  readonly faults: FaultPlan;
  readonly signingKey: SigningKey;
  /** Users whose next token the directory learns of, as the pre-token-generation trigger records them (see userToken). */
  readonly signIns: Map<string, readonly string[]>;
  /** Moves the functions' clock forward (settings cache, rate buckets). */
  advance(ms: number): void;
  /** The functions' clock. */
  now(): number;
  /** The chat function's services (its cipher, to open what it stored). */
  readonly chatServices: Services;
  /** Metrics the functions counted (EMF in AWS), oldest first; a test may empty it. */
  readonly metrics: RecordedMetric[];
  /** Every record the functions wrote to their error log (unexpected errors, failed audit writes). */
  readonly errorLog: RecordedLog[];
  stop(): Promise<void>;
}

/** One metric a function counted. */
/** One record of a function's error log. */
export interface RecordedLog {
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

export interface RecordedMetric {
  readonly name: string;
  readonly dimensions?: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Calls a function as the Lambda runtime does. */
export type Invoke = (event: ALBEvent) => Promise<ALBResult>;

const LOCAL_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** Starts dynalite, moto and the stand-in, and composes the four API functions. */
export async function startApi(options: ApiOptions = {}): Promise<Api> {
  const [dynalite, moto, standIn, streamStandIn] = await Promise.all([
    startDynalite(),
    startMoto(),
    startConverseStandIn({ guardrail: GUARDRAIL }),
    startConverseStreamStandIn(GUARDRAIL),
  ]);
  const names = await dynalite.createTables([
    conversationsTable,
    apiKeysTable,
    limitsTable,
    settingsTable,
    auditTable,
  ]);
  const tables = {
    conversations: names[conversationsTable.id]!,
    apiKeys: names[apiKeysTable.id]!,
    limits: names[limitsTable.id]!,
    settings: names[settingsTable.id]!,
    audit: names[auditTable.id]!,
  };
  const faults = new FaultPlan();
  // As in AWS (lambda/compose/aws-adapters.ts): three attempts with the SDK's backoff.
  const dynamo = new DynamoDBClient({
    endpoint: dynalite.endpoint,
    region: 'eu-central-1',
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 3,
  });
  injectFaults(dynamo, faults);
  const kms = new KMSClient({
    endpoint: moto.endpoint,
    region: 'eu-central-1',
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 3,
  });
  injectFaults(kms, faults);
  const keyArn = await createDataKey(kms);
  // As lambda/functions/chat.ts: two attempts with the SDK's jittered backoff.
  const bedrock = new BedrockRuntimeClient({
    endpoint: standIn.endpoint,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' },
    maxAttempts: 2,
  });
  const bedrockStream = new BedrockRuntimeClient({
    endpoint: streamStandIn.endpoint,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' },
    maxAttempts: 2,
  });
  // Both calls, as the chat function is composed with: Converse and ConverseStream.
  const model = withStreaming(
    createBedrockChatModel({ client: bedrock, guardrail: GUARDRAIL, label: 'Amazon Bedrock' }),
    createBedrockStreamingChatModel({ client: bedrockStream, guardrail: GUARDRAIL, label: 'Amazon Bedrock' }),
  );

  let offset = 0;
  const clock: Clock = options.clock ?? { now: () => Date.now() + offset };
  const signingKey = generateSigningKey('api-test-key');
  const verifier = createAccessTokenVerifier({
    issuer: TEST_ISSUER,
    jwks: jwksOf(signingKey),
    clientIds: [TEST_CLIENT_ID],
  });
  const metrics: RecordedMetric[] = [];
  const count = (name: string, value = 1) => {
    metrics.push({ name, value });
  };
  const countWith = (name: string, dimensions: Record<string, string>, value = 1) => {
    metrics.push({ name, dimensions, value });
  };

  const errorLog: RecordedLog[] = [];
  const log = {
    error: (message: string, attributes: Record<string, unknown>) => {
      // Stored as JSON text and back, as a log line is: what cannot be serialized is not logged.
      errorLog.push(JSON.parse(JSON.stringify({ message, attributes })) as RecordedLog);
    },
  };
  /**
   * Users who "signed in": {@link userToken} records them here, and the first directory read
   * writes them to the DynamoDB directory as the pre-token-generation trigger would have done
   * before Cognito issued their token. A token for anyone else is an unknown subject (401).
   */
  const signIns = new Map<string, readonly string[]>();
  const recorded = new Map<string, Promise<unknown>>();
  const signedInDirectory = (inner: DynamoDbOwnerDirectory): OwnerDirectory => ({
    async lookup(sub) {
      const groups = signIns.get(sub);
      if (groups !== undefined) {
        // Taken synchronously, so concurrent first requests all wait for the one write.
        signIns.delete(sub);
        recorded.set(sub, syncOwner(inner, sub, { groups, status: 'active', issuingToken: true }));
      }
      await recorded.get(sub);
      return inner.lookup(sub);
    },
  });

  /**
   * The adapters AWS gives a function (lambda/compose/aws-adapters.ts), on loopback: the same
   * composition root then wires each function (lambda/compose/compose-function.ts).
   */
  const adapters: FunctionAdapters = {
    dynamo,
    tables,
    dataKeys: () => new KmsDataKeys({ client: kms, keyArn }),
    verifier,
    model: () => model,
    observability: { log, count, countWith },
    deployConfig: () => DEPLOY,
    auditRetentionDays: 30,
    ownerCacheSeconds: 30,
    clock,
    readDirectory: signedInDirectory,
    ...(options.modelTimeoutMs === undefined ? {} : { modelTimeoutMs: options.modelTimeoutMs }),
    ...(options.streamHeartbeatMs === undefined ? {} : { streamHeartbeatMs: options.streamHeartbeatMs }),
  };
  // Each function gets its own service graph, as each gets its own container.
  const [chat, history, keys, admin] = await Promise.all([
    composeFunction('chat', adapters),
    composeFunction('history', adapters),
    composeFunction('keys', adapters),
    composeFunction('admin', adapters),
  ]);
  const chatServices = chat.services;
  if (!chatServices) throw new Error('harness: the chat function has no services');
  const stream = chat.stream;
  if (!stream) throw new Error('harness: the chat function has no streaming route');
  const invoke =
    (handler: (event: ALBEvent, context: Context) => Promise<ALBResult>): Invoke =>
    (event) =>
      handler(event, { awsRequestId: randomUUID(), functionName: 'omnichat-test' } as Context);

  return {
    chat: invoke(chat.handler),
    chatStream: (event, streamOptions) => recordStream(stream, event, streamOptions),
    streamStandIn,
    history: invoke(history.handler),
    keys: invoke(keys.handler),
    admin: invoke(admin.handler),
    coldAdmin: () => {
      const composed = composeFunction('admin', adapters);
      return async (event) => invoke((await composed).handler)(event);
    },
    coldChat: () => {
      const composed = composeFunction('chat', adapters);
      return async (event) => invoke((await composed).handler)(event);
    },
    standIn,
    dynamo: dynalite.client,
    tables,
    faults,
    signingKey,
    signIns,
    chatServices,
    metrics,
    errorLog,
    advance: (ms) => {
      offset += ms;
    },
    now: () => clock.now(),
    async stop() {
      bedrock.destroy();
      bedrockStream.destroy();
      kms.destroy();
      dynamo.destroy();
      await Promise.all([standIn.stop(), streamStandIn.stop(), moto.stop(), dynalite.stop()]);
    },
  };
}

/** Calls a streaming route as its transport does, recording every write. */
async function recordStream(
  handler: ChatStreamHandler,
  event: ALBEvent,
  options: StreamCallOptions = {},
): Promise<StreamRecording> {
  let status = 0;
  let headers: Record<string, string> = {};
  let ended = false;
  const writes: string[] = [];
  await handler(
    event,
    {
      start(statusCode, responseHeaders) {
        if (status !== 0) throw new Error('start() called twice');
        status = statusCode;
        headers = { ...responseHeaders };
      },
      write(chunk) {
        if (status === 0) throw new Error('write() before start()');
        if (ended) throw new Error('write() after end()');
        writes.push(chunk);
        options.onWrite?.(writes);
      },
      end() {
        if (ended) throw new Error('end() called twice');
        ended = true;
      },
    },
    {
      awsRequestId: randomUUID(),
      functionName: 'omnichat-test-stream',
      signal: options.signal ?? new AbortController().signal,
    },
  );
  const body = writes.join('');
  return { status, headers, writes, body, events: parseSse(body), ended };
}

/** A Cognito user's access token, signed with the test key, after a "sign-in" that records the user's groups. */
export function userToken(
  api: Pick<Api, 'signingKey' | 'signIns'>,
  sub: string,
  groups: string[] = ['user'],
): string {
  api.signIns.set(sub, groups);
  return mint(userAccessClaims({ sub, groups }), api.signingKey);
}

/** Options of {@link albEvent}. */
export interface EventOptions {
  readonly token?: string;
  readonly apiKey?: string;
  readonly body?: unknown;
  /** Raw body text, sent as is. */
  readonly rawBody?: string;
  readonly contentType?: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
}

/** An ALB event as the load balancer sends it (single-value headers, query values still encoded). */
export function albEvent(method: string, path: string, options: EventOptions = {}): ALBEvent {
  const body = options.rawBody ?? (options.body === undefined ? null : JSON.stringify(options.body));
  const headers: Record<string, string> = {
    host: 'chat-dev.example.com',
    'user-agent': 'omnichat-api-test/1.0',
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-proto': 'https',
    'x-amzn-trace-id': `Root=1-${randomUUID().slice(0, 8)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    ...(body !== null ? { 'content-type': options.contentType ?? 'application/json' } : {}),
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    ...(options.apiKey ? { 'x-api-key': options.apiKey } : {}),
    ...options.headers,
  };
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.query ?? {})) {
    query[encodeURIComponent(name)] = encodeURIComponent(value);
  }
  return {
    requestContext: {
      elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-central-1:111111111111:targetgroup/chat/1' },
    },
    httpMethod: method,
    path,
    queryStringParameters: query,
    headers,
    body,
    isBase64Encoded: false,
  };
}

/** The parsed JSON body of a result. */
export function json<T = Record<string, unknown>>(result: ALBResult): T {
  return JSON.parse(result.body ?? '') as T;
}

/** A header of a result, whatever its case. */
export function header(result: ALBResult, name: string): string | undefined {
  const entry = Object.entries(result.headers ?? {}).find(
    ([key]) => key.toLowerCase() === name.toLowerCase(),
  );
  return entry === undefined ? undefined : String(entry[1]);
}

/** Every item of a table (dynalite's scan pages are small; follows them all). */
export async function scanAll(
  client: DynamoDBClient,
  tableName: string,
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Audit events in the table, parsed. */
export async function auditEvents(api: Pick<Api, 'dynamo' | 'tables'>): Promise<
  Array<{
    type: string;
    outcome: string;
    action: string;
    actor: { sub?: string };
    resource: string;
    requestId: string;
    details: { guardrail?: Array<{ layer: string; rule: string; category: string; action: string }> };
  }>
> {
  return (await scanAll(api.dynamo, api.tables.audit)).map((item) => JSON.parse(item.event?.S ?? '{}'));
}

/**
 * Structural integrity of the conversations table: every turn belongs to an existing
 * header of the same user, and every header counts exactly its turns. A partial write
 * (a turn without its header, a header without its turn) breaks one of the two.
 */
export async function conversationIntegrity(api: Pick<Api, 'dynamo' | 'tables'>): Promise<string[]> {
  const items = await scanAll(api.dynamo, api.tables.conversations);
  const problems: string[] = [];
  const headers = new Map<string, number>();
  const turns = new Map<string, number>();
  for (const item of items) {
    const pk = item.pk?.S ?? '';
    const sk = item.sk?.S ?? '';
    if (sk.startsWith('CONV#')) headers.set(`${pk}|${sk.slice(5)}`, Number(item.turns?.N ?? '0'));
    else if (sk.startsWith('TURN#')) {
      const id = sk.slice(5, sk.lastIndexOf('#'));
      turns.set(`${pk}|${id}`, (turns.get(`${pk}|${id}`) ?? 0) + 1);
    } else problems.push(`unexpected item ${pk} ${sk}`);
  }
  for (const [key, count] of turns) {
    if (!headers.has(key)) problems.push(`turns without a header: ${key}`);
    else if (headers.get(key) !== count)
      problems.push(`header counts ${headers.get(key)} turns, found ${count}: ${key}`);
  }
  for (const [key, count] of headers)
    if (!turns.has(key)) problems.push(`header without turns (${count}): ${key}`);
  return problems;
}

/** Markers of internals that must never reach a caller. */
export const INTERNAL_LEAKS = [
  /\bat [\w$.<>]+ \(/, // stack frame
  /node_modules|\/work\/|\.ts:\d+|\.js:\d+/,
  /TypeError|ReferenceError|SyntaxError|RangeError|Exception\b/,
  /arn:aws|dynamodb|dynalite|moto|kms:|bedrock-runtime|127\.0\.0\.1/i,
  /ConditionalCheck|ProvisionedThroughput|TableName|USER#|CONV#|TURN#/,
];

/** Checks the error shape of a 4xx/5xx answer; returns the body. */
export function errorBody(result: ALBResult): {
  error: { code: string; message: string; requestId: string };
} {
  const body = json<{ error: { code: string; message: string; requestId: string } }>(result);
  if (
    typeof body.error?.code !== 'string' ||
    typeof body.error.message !== 'string' ||
    typeof body.error.requestId !== 'string' ||
    Object.keys(body).length !== 1 ||
    Object.keys(body.error).sort().join() !== 'code,message,requestId'
  ) {
    throw new Error(`not the error shape: ${result.body}`);
  }
  for (const leak of INTERNAL_LEAKS) {
    if (leak.test(result.body ?? '')) throw new Error(`internal detail ${leak} in ${result.body}`);
  }
  return body;
}
