/**
 * The API functions of the Api stack, split by privilege (DESIGN.md section 5): each role
 * reaches only the tables, keys and models its routes need, and each function's environment
 * is exactly what its reader reads (lambda/compose/function-env.ts). Construct ids are the
 * stack's own (scope = the stack), so logical ids are those of the single-file stack.
 */
import { Duration, Fn, type Stack } from 'aws-cdk-lib';
import { DEFAULT_OWNER_CACHE_SECONDS } from '../../../lambda/auth/owner-directory';
import { toLambdaEnvironment } from '../../../lambda/compose/function-env';
import { METRIC_NAMESPACE } from '../../../lambda/shared/metric-names';
import { deployConfigDefine } from '../../config/deploy-config';
import type { EnvironmentConfig } from '../../config/schema';
import { ApiFunction } from '../../constructs/api-function';
import { grantTable } from '../../constructs/data-access';
import type { BedrockGuardrail } from '../../constructs/guardrail/bedrock-guardrail';
import { grantGuardedModelAccess } from '../../constructs/guardrail/model-access';
import { TOKEN_VALIDITY } from '../../constructs/identity/clients';
import {
  apiKeysTable,
  auditTable,
  conversationsTable,
  limitsTable,
  settingsTable,
} from '../../data/table-schemas';
import type { DataStack } from '../data-stack';
import type { IdentityStack } from '../identity-stack';

/** What every function of the stack is built with (network, log encryption and retention). */
export type FunctionBase = Pick<
  ConstructorParameters<typeof ApiFunction>[2],
  'vpc' | 'subnets' | 'logsKey' | 'logRetention' | 'environmentKey'
>;

/** Inputs of {@link createApiFunctions}. */
export interface ApiFunctionsProps {
  readonly config: EnvironmentConfig;
  readonly base: FunctionBase;
  readonly data: DataStack;
  readonly identity: IdentityStack;
  /** Builds the guardrail; called after the keys function, before chat (construct order kept). */
  readonly guardrail: () => BedrockGuardrail;
}

/** The API functions by name. */
export interface ApiFunctions {
  readonly health: ApiFunction;
  readonly keys: ApiFunction;
  readonly chat: ApiFunction;
  /** The streaming twin of chat (config `chat.streaming`), behind the private REST API. */
  readonly chatStream?: ApiFunction;
  readonly history: ApiFunction;
  readonly admin: ApiFunction;
  readonly web: ApiFunction;
  readonly guardrail: BedrockGuardrail;
}

type ApiFunctionProps = Pick<
  ConstructorParameters<typeof ApiFunction>[2],
  | 'entry'
  | 'description'
  | 'reservedConcurrency'
  | 'memorySize'
  | 'timeout'
  | 'define'
  | 'assetsDir'
  | 'environment'
>;

/** Builds the API functions and their grants in `stack`. */
export function createApiFunctions(stack: Stack, props: ApiFunctionsProps): ApiFunctions {
  const { config, base, data, identity } = props;
  const keysTable = data.table(apiKeysTable);
  const audit = data.table(auditTable);

  /** What every API function reads: identity, key authentication and the audit writer. */
  const apiEnvironment = {
    authIssuer: identity.issuer,
    authJwks: identity.jwksJson,
    authClientIds: Fn.join(',', [...identity.allowedClientIds]),
    // A token living longer than the clients issue them is refused (issue 17).
    authMaxTokenSeconds: TOKEN_VALIDITY.toSeconds(),
    apiKeysTable: keysTable.tableName,
    auditTable: audit.tableName,
    auditRetentionDays: config.audit.tableRetentionDays,
    metricsNamespace: METRIC_NAMESPACE,
    // The owner-directory cache: how long a demotion, disable or erasure takes to reach
    // every credential (at most 60 s; lambda/auth/owner-directory.ts, README "Permissions").
    ownerCacheSeconds: DEFAULT_OWNER_CACHE_SECONDS,
  };
  const apiFunction = (name: string, fnProps: ApiFunctionProps): ApiFunction => {
    const fn = new ApiFunction(stack, name, { ...base, ...fnProps });
    grantTable(fn, { sid: 'ApiKeysRead', table: keysTable, key: data.keys.dataKey, actions: ['GetItem'] });
    // A used key records when it was last used, and that attribute is all it may change.
    grantTable(fn, {
      sid: 'ApiKeysTouch',
      table: keysTable,
      key: data.keys.dataKey,
      actions: ['UpdateItem'],
      conditions: {
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'lastUsedAt'] },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
      },
    });
    // Append-only: PutItem alone (every write carries attribute_not_exists on the key).
    grantTable(fn, { sid: 'AuditAppend', table: audit, key: data.keys.auditKey, actions: ['PutItem'] });
    return fn;
  };

  const concurrency = config.reservedConcurrency;
  const health = new ApiFunction(stack, 'Health', {
    ...base,
    entry: 'health',
    description: 'GET /healthz for the load balancer; touches no dependency',
    environment: toLambdaEnvironment('health', {}),
    reservedConcurrency: concurrency?.health,
    memorySize: 256,
  });

  const keys = apiFunction('Keys', {
    entry: 'keys',
    description: 'GET/POST /api/v1/keys, DELETE /api/v1/keys/{id}: personal API keys (hashes only)',
    environment: toLambdaEnvironment('keys', apiEnvironment),
    reservedConcurrency: concurrency?.keys,
  });
  grantTable(keys, {
    sid: 'ApiKeysWrite',
    table: keysTable,
    key: data.keys.dataKey,
    actions: ['Query', 'PutItem', 'UpdateItem'],
    indexes: ['byOwner'],
  });

  const conversations = data.table(conversationsTable);
  const limits = data.table(limitsTable);
  const settings = data.table(settingsTable);
  /** What the chat, history and admin functions compose their services from (lambda/compose/). */
  const serviceEnvironment = {
    ...apiEnvironment,
    conversationsTable: conversations.tableName,
    limitsTable: limits.tableName,
    settingsTable: settings.tableName,
    dataKeyArn: data.keys.dataKey.keyArn,
  };
  // The allow-list, the default system prompt, the data retention and the local policy are
  // compiled into the bundles: a change to them is a deployment, reviewed like code.
  const define = deployConfigDefine(config);

  const guardrail = props.guardrail();
  const chatEnvironment = {
    ...serviceEnvironment,
    // The ARN, not the bare id: bedrock:GuardrailIdentifier is compared with `<ARN>:<version>`.
    guardrailId: guardrail.guardrailArn,
    guardrailVersion: guardrail.versionNumber,
  };
  /** What serving a chat message reaches besides the model: the same for both chat functions. */
  const grantChatData = (fn: ApiFunction): void => {
    grantTable(fn, {
      sid: 'ConversationsChat',
      table: conversations,
      key: data.keys.dataKey,
      actions: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
    });
    grantTable(fn, {
      sid: 'LimitsChat',
      table: limits,
      key: data.keys.dataKey,
      actions: ['GetItem', 'UpdateItem'],
    });
    grantTable(fn, { sid: 'SettingsRead', table: settings, key: data.keys.dataKey, actions: ['Query'] });
    grantDataKeys(fn, data, ['kms:GenerateDataKey', 'kms:Decrypt']);
  };
  const chat = apiFunction('Chat', {
    entry: 'chat',
    description: 'POST /api/v1/chat, GET /api/v1/models: the only function that may call Bedrock',
    environment: toLambdaEnvironment('chat', chatEnvironment),
    reservedConcurrency: concurrency?.chat,
    // Most of a request is spent waiting for the model, and Lambda bills memory x duration,
    // so memory is the chat path's largest cost line (`npm run cost`). The handler under the
    // bench's load, with dynalite and the Converse stand-in in the same process, peaks at
    // 204-220 MiB resident (`npx tsx scripts/cost-chat-memory.ts`, an upper bound): 256 MB
    // holds it. CPU scales with memory (one vCPU at 1,769 MB,
    // https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), so the few
    // milliseconds of policy engine, AES and token checks take about twice as long as at
    // 512 MB; against ~4 s of waiting that is noise. Check `Max Memory Used` in the REPORT
    // lines after the first deployment (docs/first-deploy.md).
    memorySize: 256,
    // Converse with bounded retries plus the audit and limit writes; the ALB waits longer.
    timeout: Duration.seconds(60),
    define,
  });
  grantChatData(chat);
  grantGuardedModelAccess(chat, {
    models: config.models.allowList,
    guardrail,
    account: stack.account,
    region: stack.region,
  });

  let chatStream: ApiFunction | undefined;
  if (config.chat.streaming) {
    chatStream = apiFunction('ChatStream', {
      entry: 'chat-stream',
      description:
        'POST /api/v1/chat with Accept: text/event-stream, through the private REST API: streams the reply',
      environment: toLambdaEnvironment('chat-stream', chatEnvironment),
      // Its own reservation of chat's size: a flood of streams cannot starve whole replies.
      reservedConcurrency: concurrency?.chat,
      memorySize: 512,
      // A long reply streams for longer than a whole reply is waited for; API Gateway keeps
      // a stream open up to 15 minutes (response-transfer-mode.html), the function stops here.
      timeout: Duration.seconds(180),
      define,
    });
    grantChatData(chatStream);
    grantGuardedModelAccess(chatStream, {
      models: config.models.allowList,
      guardrail,
      account: stack.account,
      region: stack.region,
      mode: 'stream',
    });
  }

  const history = apiFunction('History', {
    entry: 'history',
    description:
      'Conversations (list, get, delete), GET /api/v1/me, GET /api/v1/me/export and DELETE /api/v1/me',
    environment: toLambdaEnvironment('history', serviceEnvironment),
    reservedConcurrency: concurrency?.history,
    memorySize: 512,
    timeout: Duration.seconds(30),
    define,
  });
  grantTable(history, {
    sid: 'ConversationsHistory',
    table: conversations,
    key: data.keys.dataKey,
    actions: ['GetItem', 'Query', 'DeleteItem', 'BatchWriteItem'],
  });
  // Erasure: the caller's keys (found by owner) and limit counters go with their data.
  grantTable(history, {
    sid: 'ApiKeysErase',
    table: keysTable,
    key: data.keys.dataKey,
    actions: ['Query', 'DeleteItem'],
    indexes: ['byOwner'],
  });
  // The last step of an erasure: the owner-directory tombstone (OWNER# items only).
  grantTable(history, {
    sid: 'OwnerTombstone',
    table: keysTable,
    key: data.keys.dataKey,
    actions: ['UpdateItem'],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['OWNER#*'] } },
  });
  grantTable(history, {
    sid: 'LimitsErase',
    table: limits,
    key: data.keys.dataKey,
    actions: ['Query', 'BatchWriteItem'],
  });
  grantTable(history, { sid: 'SettingsRead', table: settings, key: data.keys.dataKey, actions: ['Query'] });
  grantDataKeys(history, data, ['kms:Decrypt']);

  const admin = apiFunction('Admin', {
    entry: 'admin',
    description: 'Runtime settings, the model allow-list and the audit query (admin group only)',
    environment: toLambdaEnvironment('admin', serviceEnvironment),
    reservedConcurrency: concurrency?.admin,
    memorySize: 512,
    timeout: Duration.seconds(30),
    define,
  });
  // Settings versions are appended, never overwritten (PutItem with attribute_not_exists);
  // the audit-cursor secret lives in the same table.
  grantTable(admin, {
    sid: 'SettingsAdmin',
    table: settings,
    key: data.keys.dataKey,
    actions: ['GetItem', 'Query', 'PutItem'],
  });
  // The only reader of the audit table.
  grantTable(admin, {
    sid: 'AuditQuery',
    table: audit,
    key: data.keys.auditKey,
    actions: ['Query'],
    indexes: ['byTime'],
  });
  // The cursor secret is sealed with a data key like messages are.
  grantDataKeys(admin, data, ['kms:GenerateDataKey', 'kms:Decrypt']);

  const web = apiFunction('Web', {
    entry: 'web',
    description: "The web chat page (GET /, GET /app/*) behind the load balancer's Cognito login",
    environment: toLambdaEnvironment('web', {
      ...apiEnvironment,
      cognitoLogoutUrl: Fn.join('', [
        identity.domain.baseUrl(),
        '/logout?client_id=',
        identity.albClient.userPoolClientId,
        `&logout_uri=${encodeURIComponent(config.identity.logoutUrls[0]!)}`,
      ]),
    }),
    reservedConcurrency: concurrency?.web,
    memorySize: 256,
    assetsDir: 'lambda/web/assets',
  });

  return { health, keys, chat, ...(chatStream ? { chatStream } : {}), history, admin, web, guardrail };
}

/**
 * Data keys under the data CMK, called by the function itself (not through DynamoDB), and
 * only with the encryption context the envelope cipher binds every message to.
 */
function grantDataKeys(fn: ApiFunction, data: DataStack, actions: string[]): void {
  fn.grant('DataKeys', actions, [data.keys.dataKey.keyArn], {
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['user', 'conversation'] },
    Null: { 'kms:EncryptionContextKeys': 'false' },
  });
}
