/**
 * The chat, history and admin ports over DynamoDB-API stores, built once per container.
 * AWS mode passes the KMS key provider and Bedrock; local mode passes the local master key
 * and the local stand-in model. Everything else is the same code.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadCursorSecret } from '../audit/cursor-secret';
import { createDynamoAuditQueryStore } from '../audit/query';
import type { DynamoDbApiKeyStore } from '../auth/api-key-store-dynamodb';
import type { ChatDeps } from '../chat/chat-service';
import { DynamoDbConversationStore } from '../chat/conversation-store';
import type { HistoryDeps } from '../chat/history-service';
import type { ChatGuard, ChatModel, Clock } from '../chat/ports';
import type { DataKeyProvider } from '../crypto/data-keys';
import { createEnvelopeCipher, type EnvelopeCipher } from '../crypto/envelope-cipher';
import { createPolicyEngine } from '../guardrail/engine';
import { createDynamoDbLimitStore } from '../limits/dynamodb-limit-store';
import type { AuditSink, CountMetric } from '../runtime/audit-sink';
import { createSettingsStore, type SettingsStore, toChatSettings } from '../settings/settings-store';
import type { MetricName } from '../shared/metric-names';
import type { DeployConfig } from './deploy-config';
import type { AdminDeps } from './handlers/admin';
import type { BaseDeps } from './handlers/base';

/** Table names by role. */
export interface ServiceTables {
  readonly conversations: string;
  readonly limits: string;
  readonly settings: string;
  readonly audit: string;
}

/** How long a cached settings version may be served (admins' changes apply within this). */
export const SETTINGS_CACHE_MS = 30_000;
/** Data keys: at most 5 minutes and 1,000 messages each (DESIGN.md section 8). */
export const DATA_KEY_MAX_AGE_MS = 5 * 60_000;
export const DATA_KEY_MAX_USES = 1000;

/** Options of {@link composeServices}. */
export interface ServicesOptions {
  readonly dynamo: DynamoDBClient;
  readonly tables: ServiceTables;
  readonly keys: DataKeyProvider;
  readonly deploy: DeployConfig;
  readonly base: Pick<BaseDeps, 'claimCheck' | 'audit'>;
  readonly apiKeyStore: DynamoDbApiKeyStore;
  readonly count: CountMetric;
  readonly countWith?: (name: MetricName, dimensions: Record<string, string>, value?: number) => void;
  readonly clock?: Clock;
}

/** The ports of the chat, history and admin functions. */
export interface Services {
  readonly cipher: EnvelopeCipher;
  readonly settings: SettingsStore;
  readonly history: HistoryDeps;
  /** The chat pipeline's ports, given the model. */
  chat(model: ChatModel): ChatDeps;
  readonly admin: Omit<AdminDeps, keyof BaseDeps>;
}

/** Builds the ports. Nothing here talks to the network until a request needs it. */
export function composeServices(options: ServicesOptions): Services {
  const clock = options.clock ?? { now: () => Date.now() };
  const { dynamo, tables, deploy } = options;
  const cipher = createEnvelopeCipher({
    keys: options.keys,
    clock,
    maxKeyAgeMs: DATA_KEY_MAX_AGE_MS,
    maxKeyUses: DATA_KEY_MAX_USES,
  });
  const conversations = new DynamoDbConversationStore(dynamo, tables.conversations);
  const limits = createDynamoDbLimitStore({ client: dynamo, tableName: tables.limits, clock });
  const settings = createSettingsStore({
    client: dynamo,
    tableName: tables.settings,
    clock,
    defaults: deploy.runtimeDefaults,
    allowList: deploy.modelAllowList,
    cacheTtlMs: SETTINGS_CACHE_MS,
  });
  const audit: AuditSink = options.base.audit;
  // Compiled only where the chat pipeline runs: history and admin never use it, and the
  // phrase lexicon and classifier are a measurable part of a cold start.
  let guard: ChatGuard | undefined;
  /** Built on first use: only the chat function compiles the policy engine. */
  const policyEngine = () => {
    guard ??= createPolicyEngine(deploy.localPolicy);
    return guard;
  };
  let cursorKey: Promise<Uint8Array> | undefined;
  return {
    cipher,
    settings,
    history: {
      conversations,
      cipher,
      limits,
      apiKeys: options.apiKeyStore,
      audit,
      clock,
      count: options.count,
    },
    chat: (model) => ({
      conversations,
      cipher,
      model,
      limits,
      guard: policyEngine(),
      audit,
      settings: async () => toChatSettings((await settings.current()).settings),
      clock,
      metrics: {
        count: (name, dimensions, value) =>
          dimensions && options.countWith
            ? options.countWith(name as MetricName, dimensions, value)
            : options.count(name as MetricName, value),
      },
      dataRetentionDays: deploy.dataRetentionDays,
      modelNames: deploy.modelNames,
    }),
    admin: {
      settings,
      auditQuery: createDynamoAuditQueryStore({ client: dynamo, tableName: tables.audit }),
      cursorKey: () => {
        // Loaded once per container; a failure is retried on the next request.
        cursorKey ??= loadCursorSecret({ client: dynamo, tableName: tables.settings, cipher }).catch(
          (error) => {
            cursorKey = undefined;
            throw error;
          },
        );
        return cursorKey;
      },
    },
  };
}
