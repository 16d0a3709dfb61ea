/**
 * Local and hybrid mode (DESIGN.md section 2) as a service that starts and stops in-process:
 * dynalite with its data under `<dir>/dynalite`, the tables from the same schemas the Data
 * stack deploys, the local issuer, the shared ports (composeBase, composeServices) with the
 * local master key, and the same function factories the AWS entries use, behind the local
 * edge. `npm run local` (scripts/local.ts) is the command around it; the tests start it
 * directly.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApplyGuardrailCommand, BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { ChatModel } from '../lambda/chat/ports';
import { type ApiFunctionName, composeFunction, sharedPortsOf } from '../lambda/compose/compose-function';
import type { DeployConfig } from '../lambda/compose/deploy-config';
import { LocalDataKeys } from '../lambda/crypto/local-data-keys';
import { handler as health } from '../lambda/functions/health';
import { jsonLineLog, localAdapters } from '../lambda/local/compose';
import { startDirectorySync } from '../lambda/local/directory-sync';
import { LocalIssuer } from '../lambda/local/issuer';
import { createLocalServer, type LocalTargets } from '../lambda/local/server';
import { createBedrockChatModel, isTransportFailure } from '../lambda/model/bedrock-converse-model';
import { createBedrockStreamingChatModel } from '../lambda/model/bedrock-converse-stream-model';
import { createLocalChatModel, createLocalStreamingChatModel } from '../lambda/model/local-model';
import { withStreaming } from '../lambda/model/streaming';
import { loadAssets } from '../lambda/web/web-function';
import { deployConfigOf } from '../lib/config/deploy-config';
import { loadEnvironments } from '../lib/config/load';
import type { EnvironmentConfig } from '../lib/config/schema';
import { createTableInput } from '../lib/data/create-table-input';
import {
  allTables,
  apiKeysTable,
  auditTable,
  conversationsTable,
  limitsTable,
  settingsTable,
} from '../lib/data/table-schemas';

const ROOT = resolve(import.meta.dirname, '..');

/** Where the page's files are (the same files the web function bundle carries). */
export const WEB_ASSETS_DIR = join(ROOT, 'lambda', 'web', 'assets');
/** The environment whose policy, settings and model allow-list local mode runs with. */
export const LOCAL_ENVIRONMENT = 'dev';
/** The `iss` of local tokens: loopback, so the verifier accepts it (and only in local mode). */
export const LOCAL_ISSUER_URL = 'http://127.0.0.1/local-issuer';

/** The two modes `npm run local` runs in. */
export type LocalMode = 'local' | 'hybrid';

/** What hybrid mode needs: the Bedrock guardrail and the region. */
export interface HybridSettings {
  readonly region: string;
  readonly guardrailId: string;
  readonly guardrailVersion: string;
}

/** A configuration problem found at start (missing credentials, guardrail, bad value). */
export class LocalStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalStartError';
  }
}

/** The dev environment's typed config. */
export function localEnvironment(): EnvironmentConfig {
  const [config] = loadEnvironments(LOCAL_ENVIRONMENT);
  if (!config) throw new LocalStartError(`No "${LOCAL_ENVIRONMENT}" environment in lib/config.`);
  return config;
}

/**
 * The deploy configuration of local mode: the dev environment's, with every limit class's
 * rate (and burst, so a user may spend a whole minute's worth at once) set to
 * `ratePerMinute` when given. Only the defaults change; an admin's saved settings win.
 */
export function localDeployConfig(config: EnvironmentConfig, ratePerMinute?: number): DeployConfig {
  const deploy = deployConfigOf(config);
  if (ratePerMinute === undefined) return deploy;
  if (!Number.isInteger(ratePerMinute) || ratePerMinute < 1 || ratePerMinute > 60_000) {
    throw new LocalStartError('OMNICHAT_LOCAL_RATE_PER_MINUTE must be an integer from 1 to 60000.');
  }
  const limits = Object.fromEntries(
    Object.entries(deploy.runtimeDefaults.limits).map(([name, row]) => [
      name,
      { ...row, requestsPerMinute: ratePerMinute, burst: ratePerMinute },
    ]),
  ) as DeployConfig['runtimeDefaults']['limits'];
  return { ...deploy, runtimeDefaults: { ...deploy.runtimeDefaults, limits } };
}

const GUARDRAIL_VERSION = /^(DRAFT|[1-9][0-9]{0,7})$/;

/**
 * Which sources of the SDK's default credential chain are configured, looked up without any
 * network call: environment keys, a profile, web identity, container credentials, the
 * shared files. The instance metadata service is deliberately not probed: on a laptop it
 * is a one-second timeout per attempt, and the answer would be "no" anyway.
 */
export function configuredCredentialSources(env: NodeJS.ProcessEnv, home = homedir()): string[] {
  const sources: string[] = [];
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) sources.push('environment keys');
  if (env.AWS_PROFILE) sources.push(`profile ${env.AWS_PROFILE}`);
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) sources.push('web identity');
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI)
    sources.push('container credentials');
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, '.aws', 'credentials');
  const configFile = env.AWS_CONFIG_FILE ?? join(home, '.aws', 'config');
  if (existsSync(credentialsFile)) sources.push(credentialsFile);
  if (existsSync(configFile)) sources.push(configFile);
  return sources;
}

/** Harmless text the start-up probe asks the guardrail about. */
export const GUARDRAIL_PROBE_TEXT = 'Hello, this is the OmniChat hybrid-mode start-up check.';

/** Error names of the probe, by what the developer has to fix. */
const PROBE_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'ExpiredToken',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
]);
const PROBE_TIMEOUTS = new Set(['TimeoutError', 'AbortError', 'RequestTimeout', 'RequestTimeoutException']);

/**
 * One ApplyGuardrail call (source INPUT, a harmless sentence) with the configured guardrail,
 * so a wrong id, version or region, keys AWS does not accept, a missing permission or an
 * unreachable endpoint stop hybrid mode at start with what to fix, instead of failing the
 * first chat. Whether the guardrail intervenes does not matter: it answered.
 */
export async function probeGuardrail(
  client: BedrockRuntimeClient,
  settings: HybridSettings,
  timeoutMs = 5_000,
): Promise<void> {
  const { region, guardrailId, guardrailVersion } = settings;
  const guardrail = `guardrail "${guardrailId}" version ${guardrailVersion} in ${region}`;
  try {
    await client.send(
      new ApplyGuardrailCommand({
        guardrailIdentifier: guardrailId,
        guardrailVersion,
        source: 'INPUT',
        content: [{ text: { text: GUARDRAIL_PROBE_TEXT } }],
      }),
      { abortSignal: AbortSignal.timeout(timeoutMs) },
    );
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    const detail = `(${name || 'error'}: ${error instanceof Error ? error.message : String(error)})`;
    let message: string;
    if (name === 'ResourceNotFoundException') {
      message =
        `Hybrid mode: Bedrock has no ${guardrail} ${detail}. Check --guardrail-id, --guardrail-version ` +
        "and --region (or AWS_REGION) against the Api stack's GuardrailId output and the guardrail's published versions.";
    } else if (name === 'AccessDeniedException') {
      message =
        `Hybrid mode: the AWS identity may not use ${guardrail} ${detail}. Allow it bedrock:ApplyGuardrail ` +
        'and bedrock:InvokeModel on that guardrail and the allowed models, or use credentials (AWS_PROFILE) that may, ' +
        'and check that the guardrail belongs to this account and region.';
    } else if (name === 'ValidationException') {
      message =
        `Hybrid mode: Bedrock refused ${guardrail} as invalid ${detail}. Check the --guardrail-id ` +
        '(the id or ARN, e.g. from the GuardrailId output; an ARN must name the same region) and --guardrail-version.';
    } else if (PROBE_CREDENTIALS.has(name)) {
      message =
        `Hybrid mode: AWS did not accept the credentials ${detail}. The access key is unknown, the secret ` +
        'is wrong or the session expired: refresh them (`aws sso login`, new keys or AWS_SESSION_TOKEN).';
    } else if (PROBE_TIMEOUTS.has(name) || isTransportFailure(error)) {
      message =
        `Hybrid mode could not reach Bedrock in ${region} within ${timeoutMs} ms ${detail}. Check the region ` +
        '(--region or AWS_REGION: one where Bedrock runs), the network and any proxy.';
    } else {
      message = `Hybrid mode: the start-up check of ${guardrail} failed ${detail}. Try again, or check the guardrail and the account.`;
    }
    throw new LocalStartError(message, { cause: error });
  }
}

/** Options of {@link checkHybrid}. */
export interface CheckHybridOptions {
  /** Home directory the shared AWS files are looked up in. */
  readonly home?: string;
  /** Longest wait for the credential chain (default 10 s). */
  readonly timeoutMs?: number;
  /** Longest wait for the guardrail probe (default 5 s). */
  readonly probeTimeoutMs?: number;
  /** Creates the Bedrock runtime client for a region (injected by tests; default: the SDK's default chain). */
  readonly createClient?: (region: string) => BedrockRuntimeClient;
}

/**
 * Checks what hybrid mode needs before anything starts: a guardrail id and version, a
 * region, credentials the SDK's default chain resolves (the chain reads the process
 * environment; `env` decides the rest), and then the guardrail itself, with one
 * ApplyGuardrail call ({@link probeGuardrail}). Without any configured source it fails at
 * once, without a network call.
 */
export async function checkHybrid(
  flags: { guardrailId?: string; guardrailVersion?: string; region?: string },
  env: NodeJS.ProcessEnv,
  config: EnvironmentConfig,
  options: CheckHybridOptions = {},
): Promise<{ settings: HybridSettings; client: BedrockRuntimeClient }> {
  const guardrailId = (flags.guardrailId ?? env.OMNICHAT_GUARDRAIL_ID ?? '').trim();
  const guardrailVersion = (flags.guardrailVersion ?? env.OMNICHAT_GUARDRAIL_VERSION ?? '').trim();
  if (guardrailId === '') {
    throw new LocalStartError(
      'Hybrid mode needs the Bedrock guardrail: pass --guardrail-id ID (or set OMNICHAT_GUARDRAIL_ID) ' +
        "to the guardrail's id or ARN, e.g. from the Api stack's GuardrailId output.",
    );
  }
  if (!GUARDRAIL_VERSION.test(guardrailVersion)) {
    throw new LocalStartError(
      guardrailVersion === ''
        ? 'Hybrid mode needs the guardrail version: pass --guardrail-version N (or set OMNICHAT_GUARDRAIL_VERSION).'
        : `The guardrail version "${guardrailVersion}" is not DRAFT or a version number.`,
    );
  }
  const region = (flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? config.region).trim();
  const sources = configuredCredentialSources(env, options.home);
  if (sources.length === 0) {
    throw new LocalStartError(
      'Hybrid mode needs AWS credentials and found none: set AWS_PROFILE (after `aws sso login`), ' +
        'or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or create ~/.aws/credentials. ' +
        'Without AWS, run plain local mode (unset OMNICHAT_MODE).',
    );
  }
  const client = options.createClient?.(region) ?? new BedrockRuntimeClient({ region, maxAttempts: 2 });
  const timeoutMs = options.timeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const resolveCredentials = client.config.credentials as unknown as () => Promise<{ accessKeyId: string }>;
    const credentials = await Promise.race([
      resolveCredentials(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    if (!credentials.accessKeyId) throw new Error('the chain returned no access key');
  } catch (error) {
    client.destroy();
    throw new LocalStartError(
      `Hybrid mode could not resolve AWS credentials (looked at: ${sources.join(', ')}): ` +
        `${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
  const settings = { region, guardrailId, guardrailVersion };
  try {
    await probeGuardrail(client, settings, options.probeTimeoutMs);
  } catch (error) {
    client.destroy();
    throw error;
  }
  return { settings, client };
}

/** Options of {@link startLocalService}. */
export interface LocalServiceOptions {
  /** Data directory (users, keys, dynalite files); created 0700 when missing. */
  readonly dir: string;
  /** Port to listen on; 0 for any free one. */
  readonly port: number;
  /** Interface to bind; loopback unless told otherwise. */
  readonly host?: string;
  readonly mode?: LocalMode;
  /** Hybrid mode's Bedrock client and guardrail, from {@link checkHybrid}. */
  readonly hybrid?: { readonly settings: HybridSettings; readonly client: BedrockRuntimeClient };
  /** Chat requests per minute of every limit class (defaults to the dev environment's). */
  readonly ratePerMinute?: number;
  /**
   * The local stand-in's wait before each streamed delta, ms (`OMNICHAT_LOCAL_CHUNK_DELAY_MS`,
   * `--chunk-delay-ms`); a whole reply is not delayed. Hybrid mode streams at Bedrock's pace. @default 0
   */
  readonly chunkDelayMs?: number;
  /** Called with one line per request. */
  readonly onRequest?: (line: { method: string; path: string; status: number; ms: number }) => void;
  /** Where errors of the audit writer and others go; console.error by default. */
  readonly logError?: (message: string) => void;
  /**
   * Owner-directory cache, seconds (0..60): with the users-file poll (250 ms) this is how long
   * a `--set-groups`/`--disable-user` takes to reach every credential. @default 30
   */
  readonly ownerCacheSeconds?: number;
}

/** A running local service. */
export interface LocalService {
  readonly url: string;
  readonly port: number;
  readonly mode: LocalMode;
  /** The model label shown with every reply. */
  readonly modelLabel: string;
  readonly issuer: LocalIssuer;
  readonly environment: string;
  /** Milliseconds from the call to listening. */
  readonly startupMs: number;
  /** Stops accepting requests, lets running ones finish, then closes the store. */
  close(): Promise<void>;
}

type DynaliteFactory = (options: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolveClose) => {
    // Open browser connections would keep close() waiting; idle ones go now, busy ones
    // get `graceMs` to finish their request.
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolveClose();
    });
    server.closeIdleConnections();
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data directory for this process (`service.lock` holding its pid), so a second
 * service on it fails at start with a clear message; LevelDB would otherwise leave its
 * requests hanging. A lock whose process is gone (killed, crashed) is taken over.
 */
function lockDataDir(dir: string): () => void {
  const path = join(dir, 'service.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) {
      throw new LocalStartError(
        `Another \`npm run local\` (pid ${pid}) is using ${dir}; stop it, or set OMNICHAT_LOCAL_DIR to another directory.`,
      );
    }
    rmSync(path, { force: true });
  }
  throw new LocalStartError(`Could not lock ${dir} (${path} keeps reappearing).`);
}

/** Creates the tables that do not exist yet, from the deployed schemas. */
async function ensureTables(client: DynamoDBClient): Promise<void> {
  const existing = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) existing.add(name);
    start = page.LastEvaluatedTableName;
  } while (start !== undefined);
  for (const schema of allTables) {
    if (!existing.has(schema.id))
      await client.send(new CreateTableCommand(createTableInput(schema, schema.id)));
  }
}

/** Hybrid mode's model: Bedrock Converse and ConverseStream with the guardrail. */
function hybridModel(hybrid: NonNullable<LocalServiceOptions['hybrid']>): ChatModel {
  const settings = {
    client: hybrid.client,
    guardrail: { identifier: hybrid.settings.guardrailId, version: hybrid.settings.guardrailVersion },
    label: 'Amazon Bedrock (hybrid mode)',
  };
  return withStreaming(createBedrockChatModel(settings), createBedrockStreamingChatModel(settings));
}

/** Local mode's model: the deterministic stand-in, streaming in chunks with the configured wait. */
function localModel(options: Pick<LocalServiceOptions, 'chunkDelayMs'>): ChatModel {
  const chunkDelayMs = options.chunkDelayMs ?? 0;
  if (!Number.isInteger(chunkDelayMs) || chunkDelayMs < 0 || chunkDelayMs > 10_000) {
    throw new LocalStartError('OMNICHAT_LOCAL_CHUNK_DELAY_MS must be an integer from 0 to 10000 (ms).');
  }
  return withStreaming(createLocalChatModel(), createLocalStreamingChatModel({ chunkDelayMs }));
}

/** Starts local (or hybrid) mode. */
export async function startLocalService(options: LocalServiceOptions): Promise<LocalService> {
  const started = Date.now();
  const mode = options.mode ?? 'local';
  if (mode === 'hybrid' && !options.hybrid)
    throw new LocalStartError('Hybrid mode needs checkHybrid() first.');
  const logError = options.logError ?? ((message: string) => console.error(message));
  const config = localEnvironment();
  const deploy = localDeployConfig(config, options.ratePerMinute);
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const unlock = lockDataDir(options.dir);

  const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;
  const store = dynalite({
    path: join(options.dir, 'dynalite'),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const storePort = await listen(store, 0, '127.0.0.1').catch((error: unknown) => {
    unlock();
    throw error;
  });
  const dynamo = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${storePort}`,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const stopStore = async () => {
    dynamo.destroy();
    await new Promise<void>((resolveStop) => store.close(() => resolveStop()));
    unlock();
  };

  let server: Server | undefined;
  let stopSync: (() => Promise<void>) | undefined;
  try {
    await ensureTables(dynamo).catch((error: unknown) => {
      throw new LocalStartError(
        `The local store under ${join(options.dir, 'dynalite')} could not be opened.`,
        { cause: error },
      );
    });
    const issuer = new LocalIssuer({ dir: options.dir, issuer: LOCAL_ISSUER_URL });
    // Both calls: Converse for the whole-reply route, ConverseStream (or the stand-in in
    // chunks) for the streaming route.
    const model: ChatModel =
      options.hybrid && mode === 'hybrid' ? hybridModel(options.hybrid) : localModel(options);
    const assets = loadAssets(WEB_ASSETS_DIR);
    // The same composition root as the AWS entries (lambda/compose/compose-function.ts).
    const adapters = localAdapters({
      dynamo,
      tables: {
        apiKeys: apiKeysTable.id,
        audit: auditTable.id,
        conversations: conversationsTable.id,
        limits: limitsTable.id,
        settings: settingsTable.id,
      },
      issuer,
      dataKeys: await LocalDataKeys.fromFile(join(options.dir, 'master.key')),
      deploy,
      auditRetentionDays: config.audit.tableRetentionDays,
      logger: jsonLineLog('omnichat-local', logError),
      model: () => model,
      web: { assets, signOutPath: '/logout' },
      ...(options.ownerCacheSeconds === undefined ? {} : { ownerCacheSeconds: options.ownerCacheSeconds }),
    });
    /** The load balancer's own ports: its sign-ins and rejections are audited, its verifier is the functions'. */
    const edge = sharedPortsOf(adapters);
    // The users file is the local pool: changes made with the CLI while the service runs reach
    // the owner directory within the poll interval.
    stopSync = await startDirectorySync({
      issuer,
      directory: edge.owners,
      onError: (error) => logError(`Directory sync failed (retried): ${String(error)}`),
    });
    const handlerOf = async (name: ApiFunctionName) => (await composeFunction(name, adapters)).handler;
    const chat = await composeFunction('chat', adapters);
    const targets: LocalTargets = {
      health,
      web: await handlerOf('web'),
      chat: chat.handler,
      history: await handlerOf('history'),
      keys: await handlerOf('keys'),
      admin: await handlerOf('admin'),
    };
    server = createLocalServer({
      targets,
      issuer,
      verifier: edge.verifier,
      loginStylesheet: assets.get('app.css') ?? '',
      audit: edge.audit,
      directory: edge.owners,
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
      // The same composed chat function's streaming route, behind the same edge checks.
      ...(chat.stream ? { chatStream: chat.stream } : {}),
    });
    const host = options.host ?? '127.0.0.1';
    const port = await listen(server, options.port, host);
    const listening = server;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${port}`,
      port,
      mode,
      modelLabel: model.label,
      issuer,
      environment: config.name,
      startupMs: Date.now() - started,
      close: () => {
        // The edge first, so no request reaches a closed store; then the store, which
        // waits for its pending writes and closes LevelDB.
        closing ??= closeServer(listening, 5_000).then(async () => {
          await stopSync?.();
          options.hybrid?.client.destroy();
          await stopStore();
        });
        return closing;
      },
    };
  } catch (error) {
    if (server?.listening) await closeServer(server, 0);
    await stopSync?.();
    await stopStore();
    throw error;
  }
}
