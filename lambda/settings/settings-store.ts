/**
 * Versioned runtime settings, edited by admins through `GET/PUT /api/v1/admin/settings`
 * (system:configure) and `PUT /api/v1/admin/models` (model:manage).
 *
 * Every change writes a new immutable item (settings table, pk `SETTINGS`, sk
 * `v#<zero-padded version>`) with a create-only condition, so two admins editing at once
 * get a 409 instead of silently overwriting each other, and the full history stays
 * available to auditors. Readers take the newest version and cache it briefly.
 *
 * The deploy-time model allow-list (config, also baked into the chat role's IAM policy) is
 * the ceiling: admins can only narrow it. It is enforced on write and again on read, so a
 * redeploy that drops a model from the allow-list takes effect even for stored versions.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';
import '../shared/validation-config';
import { GROUPS, type Group, isGroup } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import type { ChatSettings, Clock, UserLimits } from '../chat/ports';
import { callStore } from '../shared/dynamodb-failures';
import { ConflictError, ValidationError } from '../shared/errors';

/** Longest system prompt an admin may set; it is sent (and paid for) with every request. */
export const MAX_SYSTEM_PROMPT_CHARS = 8_000;

/** Who limits apply to: each Cognito group, machine clients, and personal API keys. */
export const LIMIT_CLASSES = [...GROUPS, 'machine', 'apiKey'] as const;
/** One row of the limits table. */
export type LimitClass = (typeof LIMIT_CLASSES)[number];

/** An integer in [min, max]. */
const boundedInt = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));

const groupLimitsSchema = z.strictObject({
  // 60 000/min is one request per millisecond, the limit store's resolution.
  requestsPerMinute: boundedInt(1, 60_000),
  burst: boundedInt(1, 10_000),
  // Zero is allowed: it switches model use off for a class without touching permissions.
  dailyTokens: boundedInt(0, 1_000_000_000),
});

const modelIdSchema = z.string().check(z.minLength(1), z.maxLength(256));

/**
 * C0 controls other than tab, LF and CR, DEL, and bidi embedding/override/isolate marks: they
 * have no business in a prompt and can make what the model reads differ from what a reviewer sees.
 */
function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return true;
    if (code === 0x7f || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069))
      return true;
  }
  return false;
}

const systemPromptSchema = z.string().check(
  z.trim(),
  z.minLength(1),
  z.maxLength(MAX_SYSTEM_PROMPT_CHARS),
  z.refine((text) => !hasControlCharacters(text), 'must not contain control characters'),
);

const limitsShape = {
  admin: groupLimitsSchema,
  operator: groupLimitsSchema,
  developer: groupLimitsSchema,
  user: groupLimitsSchema,
  auditor: groupLimitsSchema,
  machine: groupLimitsSchema,
  apiKey: groupLimitsSchema,
} satisfies Record<LimitClass, typeof groupLimitsSchema>;

/** Shape and bounds of the runtime settings (the allow-list ceiling is checked by the store). */
export const runtimeSettingsSchema = z
  .strictObject({
    systemPrompt: systemPromptSchema,
    maxOutputTokens: boundedInt(1, 64_000),
    /** Estimated tokens of earlier turns sent as context. */
    historyTokenBudget: boundedInt(0, 200_000),
    limits: z.strictObject(limitsShape),
    /** Models users may pick; a subset of the deploy-time allow-list. */
    enabledModelIds: z.array(modelIdSchema).check(z.minLength(1), z.maxLength(100)),
    defaultModelId: modelIdSchema,
  })
  .check(
    z.superRefine((settings, ctx) => {
      if (new Set(settings.enabledModelIds).size !== settings.enabledModelIds.length) {
        ctx.addIssue({ code: 'custom', path: ['enabledModelIds'], message: 'must not repeat a model id' });
      }
      if (!settings.enabledModelIds.includes(settings.defaultModelId)) {
        ctx.addIssue({ code: 'custom', path: ['defaultModelId'], message: 'must be one of enabledModelIds' });
      }
    }),
  );
/** Admin-editable runtime settings. */
export type RuntimeSettings = z.infer<typeof runtimeSettingsSchema>;

const limitsPatchShape = Object.fromEntries(
  LIMIT_CLASSES.map((limitClass) => [limitClass, z.optional(z.partial(groupLimitsSchema))]),
) as { [K in LimitClass]: z.ZodMiniOptional<ReturnType<typeof z.partial<typeof groupLimitsSchema>>> };

/** Body of `PUT /api/v1/admin/settings`: any subset of the fields, models excluded (model:manage). */
export const settingsPatchSchema = z.strictObject({
  systemPrompt: z.optional(systemPromptSchema),
  maxOutputTokens: z.optional(z.number()),
  historyTokenBudget: z.optional(z.number()),
  limits: z.optional(z.strictObject(limitsPatchShape)),
});

/** Body of `PUT /api/v1/admin/models`. */
export const modelsPatchSchema = z.strictObject({
  enabledModelIds: z.optional(z.array(modelIdSchema)),
  defaultModelId: z.optional(modelIdSchema),
});

type SettingsPatch = z.infer<typeof settingsPatchSchema> & z.infer<typeof modelsPatchSchema>;

/** One stored version of the settings. */
export interface SettingsVersion {
  /** 0 for the built-in defaults (nothing stored yet). */
  readonly version: number;
  readonly settings: RuntimeSettings;
  /** Epoch ms of the change; `null` for the defaults. */
  readonly updatedAt: number | null;
  /** Sub of the admin who made the change; `null` for the defaults. */
  readonly actor: string | null;
  /** Dotted paths of the fields this version changed, for the audit trail. */
  readonly changedFields: readonly string[];
}

/** Options of {@link SettingsStore.update}. */
export interface SettingsUpdateOptions {
  /** The version the admin edited; anything else answers 409. */
  readonly expectedVersion: number;
  /** Sub of the admin making the change. */
  readonly actor: string;
  /** Which route: `settings` may not touch models, `models` may touch nothing else. */
  readonly scope: 'settings' | 'models';
}

/** Port of the settings store. */
export interface SettingsStore {
  /** The newest version (cached for `cacheTtlMs`), or the defaults as version 0. */
  current(): Promise<SettingsVersion>;
  /** Validates a patch, then writes version `expectedVersion + 1`; ConflictError if it exists. */
  update(patch: unknown, options: SettingsUpdateOptions): Promise<SettingsVersion>;
  /** The newest `limit` stored versions, newest first (1..100). */
  history(limit: number): Promise<SettingsVersion[]>;
}

/** Dependencies of {@link createSettingsStore}. */
export interface SettingsStoreOptions {
  readonly client: DynamoDBClient;
  /** Physical name of the settings table (`settingsTable` schema). */
  readonly tableName: string;
  readonly clock: Clock;
  /** Settings in force while no version is stored; validated against the allow-list at creation. */
  readonly defaults: RuntimeSettings;
  /** Deploy-time model allow-list: the ceiling of `enabledModelIds`. */
  readonly allowList: readonly string[];
  /** How long `current()` may serve a cached version; 0 reads every time. */
  readonly cacheTtlMs: number;
}

const PARTITION = 'SETTINGS';
const SORT_PREFIX = 'v#';
const VERSION_DIGITS = 10;
const MAX_HISTORY = 100;

const sortKeyOf = (version: number): string =>
  `${SORT_PREFIX}${String(version).padStart(VERSION_DIGITS, '0')}`;

/** The first few issues, each naming its field, e.g. `limits.user.burst: Too big: ...`. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'settings'}: ${issue.message}`)
    .join('; ');
}

function parseOrThrow<T>(schema: z.ZodMiniType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new ValidationError(`Invalid ${what}: ${describeIssues(result.error.issues)}`, result.error);
  return result.data;
}

/** Full validation including the allow-list ceiling. */
function validateSettings(value: unknown, allowList: ReadonlySet<string>, what: string): RuntimeSettings {
  const settings = parseOrThrow(runtimeSettingsSchema, value, what);
  const outside = settings.enabledModelIds.filter((id) => !allowList.has(id));
  if (outside.length > 0) {
    throw new ValidationError(
      `Invalid ${what}: enabledModelIds: ${outside.map((id) => JSON.stringify(id)).join(', ')} not in the deploy-time allow-list`,
    );
  }
  return settings;
}

function applyPatch(base: RuntimeSettings, patch: SettingsPatch): RuntimeSettings {
  const limits = { ...base.limits };
  for (const limitClass of LIMIT_CLASSES) {
    const change = patch.limits?.[limitClass];
    if (change) limits[limitClass] = { ...limits[limitClass], ...change };
  }
  return {
    systemPrompt: patch.systemPrompt ?? base.systemPrompt,
    maxOutputTokens: patch.maxOutputTokens ?? base.maxOutputTokens,
    historyTokenBudget: patch.historyTokenBudget ?? base.historyTokenBudget,
    limits,
    enabledModelIds: patch.enabledModelIds ?? base.enabledModelIds,
    defaultModelId: patch.defaultModelId ?? base.defaultModelId,
  };
}

/** Dotted paths of leaves that differ (arrays compared whole). */
function changedPaths(before: unknown, after: unknown, prefix = ''): string[] {
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isRecord(before) && isRecord(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((key) =>
      changedPaths(before[key], after[key], prefix ? `${prefix}.${key}` : key),
    );
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix];
}

/**
 * Reads a stored version onto the defaults' shape: fields added to the schema after the
 * version was written take the defaults, fields since removed are dropped.
 */
function overlayOnDefaults(stored: unknown, defaults: RuntimeSettings): unknown {
  if (typeof stored !== 'object' || stored === null) return stored;
  const record = stored as Partial<Record<keyof RuntimeSettings, unknown>>;
  const storedLimits = (record.limits ?? {}) as Partial<Record<LimitClass, object>>;
  return {
    systemPrompt: record.systemPrompt ?? defaults.systemPrompt,
    maxOutputTokens: record.maxOutputTokens ?? defaults.maxOutputTokens,
    historyTokenBudget: record.historyTokenBudget ?? defaults.historyTokenBudget,
    limits: Object.fromEntries(
      LIMIT_CLASSES.map((limitClass) => [
        limitClass,
        { ...defaults.limits[limitClass], ...storedLimits[limitClass] },
      ]),
    ),
    enabledModelIds: record.enabledModelIds ?? defaults.enabledModelIds,
    defaultModelId: record.defaultModelId ?? defaults.defaultModelId,
  };
}

/**
 * Applies the allow-list ceiling to a stored version: models dropped from the allow-list
 * since are disabled; if the default went with them the first remaining model takes over,
 * and if none remain the defaults' models apply.
 */
function narrowToAllowList(
  settings: RuntimeSettings,
  allowList: ReadonlySet<string>,
  defaults: RuntimeSettings,
): RuntimeSettings {
  const enabled = settings.enabledModelIds.filter((id) => allowList.has(id));
  const [first] = enabled;
  if (first === undefined) {
    return {
      ...settings,
      enabledModelIds: defaults.enabledModelIds,
      defaultModelId: defaults.defaultModelId,
    };
  }
  return {
    ...settings,
    enabledModelIds: enabled,
    defaultModelId: enabled.includes(settings.defaultModelId) ? settings.defaultModelId : first,
  };
}

/** Creates the DynamoDB-backed settings store. Throws if the defaults break the schema or the allow-list. */
export function createSettingsStore(options: SettingsStoreOptions): SettingsStore {
  const { client, tableName, clock, cacheTtlMs } = options;
  if (!Number.isFinite(cacheTtlMs) || cacheTtlMs < 0) throw new RangeError('cacheTtlMs must be >= 0');
  const allowList = new Set(options.allowList);
  if (allowList.size === 0) throw new Error('The model allow-list must not be empty');
  const defaults = validateSettings(options.defaults, allowList, 'default settings');
  const defaultVersion: SettingsVersion = {
    version: 0,
    settings: defaults,
    updatedAt: null,
    actor: null,
    changedFields: [],
  };

  function decode(item: Record<string, AttributeValue>, narrow: boolean): SettingsVersion {
    const version = Number(item.version?.N);
    let stored: unknown;
    try {
      stored = JSON.parse(item.settings?.S ?? '');
    } catch (error) {
      throw new Error(`Stored settings version ${version} is not JSON`, { cause: error });
    }
    const parsed = runtimeSettingsSchema.safeParse(overlayOnDefaults(stored, defaults));
    // A stored version that no longer validates is a defect to fix, not something to guess around.
    if (!parsed.success) {
      throw new Error(
        `Stored settings version ${version} is invalid: ${describeIssues(parsed.error.issues)}`,
      );
    }
    return {
      version,
      settings: narrow ? narrowToAllowList(parsed.data, allowList, defaults) : parsed.data,
      updatedAt: Number(item.updatedAt?.N ?? 0),
      actor: item.actor?.S ?? null,
      changedFields: (item.changedFields?.L ?? []).flatMap((entry) =>
        entry.S === undefined ? [] : [entry.S],
      ),
    };
  }

  async function readVersions(limit: number, narrow: boolean): Promise<SettingsVersion[]> {
    const page = await callStore(() =>
      client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': { S: PARTITION }, ':prefix': { S: SORT_PREFIX } },
          ScanIndexForward: false,
          Limit: limit,
          // The version check of an update must see the latest write, not an eventually consistent copy.
          ConsistentRead: true,
        }),
      ),
    );
    return (page.Items ?? []).map((item) => decode(item, narrow));
  }

  const readLatest = async (): Promise<SettingsVersion> => (await readVersions(1, true))[0] ?? defaultVersion;

  let cached: { value: SettingsVersion; until: number } | undefined;
  let inflight: Promise<SettingsVersion> | undefined;

  return {
    async current() {
      if (cached && clock.now() < cached.until) return cached.value;
      // Concurrent requests on a warm container share one read instead of each querying.
      inflight ??= readLatest()
        .then((value) => {
          // An update made meanwhile on this container is newer than what this read saw.
          if (cached === undefined || value.version >= cached.value.version) {
            cached = { value, until: clock.now() + cacheTtlMs };
          }
          return cached.value;
        })
        .finally(() => {
          inflight = undefined;
        });
      return inflight;
    },

    async update(patch, { expectedVersion, actor, scope }) {
      const parsedPatch: SettingsPatch =
        scope === 'models'
          ? parseOrThrow(modelsPatchSchema, patch, 'models')
          : parseOrThrow(settingsPatchSchema, patch, 'settings');
      if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
        throw new ValidationError('Invalid settings: expectedVersion: must be an integer >= 0');
      }
      if (actor.trim().length === 0) throw new Error('update needs the acting admin');
      const latest = await readLatest();
      if (latest.version !== expectedVersion) {
        throw new ConflictError(
          `Settings are at version ${latest.version}, not ${expectedVersion}. Reload them and apply the change again.`,
        );
      }
      const next = validateSettings(applyPatch(latest.settings, parsedPatch), allowList, 'settings');
      const changedFields = changedPaths(latest.settings, next).sort();
      if (changedFields.length === 0)
        throw new ValidationError('Invalid settings: the patch changes nothing');
      const written: SettingsVersion = {
        version: expectedVersion + 1,
        settings: next,
        updatedAt: clock.now(),
        actor,
        changedFields,
      };
      try {
        await callStore(() =>
          client.send(
            new PutItemCommand({
              TableName: tableName,
              Item: {
                pk: { S: PARTITION },
                sk: { S: sortKeyOf(written.version) },
                version: { N: String(written.version) },
                settings: { S: JSON.stringify(next) },
                actor: { S: actor },
                updatedAt: { N: String(written.updatedAt) },
                changedFields: { L: changedFields.map((path) => ({ S: path })) },
              },
              // Versions are immutable: the loser of a race between two admins gets a 409.
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          ),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          throw new ConflictError(
            `Settings version ${written.version} was written by someone else meanwhile. Reload them and apply the change again.`,
            error,
          );
        }
        throw error;
      }
      // This container sees its own change at once; others within cacheTtlMs.
      cached = { value: written, until: clock.now() + cacheTtlMs };
      return written;
    },

    async history(limit) {
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_HISTORY) {
        throw new ValidationError(
          `Invalid history request: limit: must be an integer from 1 to ${MAX_HISTORY}`,
        );
      }
      // The audit view shows what admins stored: the allow-list narrowing of current() is not applied.
      return readVersions(limit, false);
    },
  };
}

const LIMIT_FIELDS = ['burst', 'requestsPerMinute', 'dailyTokens'] as const;

function combine(rows: readonly UserLimits[], pick: (...values: number[]) => number): UserLimits {
  return Object.fromEntries(
    LIMIT_FIELDS.map((field) => [field, pick(...rows.map((row) => row[field]))]),
  ) as unknown as UserLimits;
}

/**
 * The limits of a caller. Users get, field by field, the most generous limit among their
 * known groups. API keys get the `apiKey` row, never more than their owner's groups allow
 * (a key carries a subset of its owner's rights, limits included). Machine clients get the
 * `machine` row. A user in no known group gets the tightest row of all groups: unknown is
 * never a reason to be generous.
 */
export function limitsFor(
  settings: RuntimeSettings,
  principal: Pick<Principal, 'kind' | 'groups'>,
): UserLimits {
  if (principal.kind === 'machine') return settings.limits.machine;
  const groups: Group[] = principal.groups.filter(isGroup);
  const ownLimits =
    groups.length > 0
      ? combine(
          groups.map((group) => settings.limits[group]),
          Math.max,
        )
      : combine(
          GROUPS.map((group) => settings.limits[group]),
          Math.min,
        );
  return principal.kind === 'apiKey' ? combine([settings.limits.apiKey, ownLimits], Math.min) : ownLimits;
}

/** The view the chat pipeline reads (`ChatSettings`), bound to one settings version. */
export function toChatSettings(settings: RuntimeSettings): ChatSettings {
  return {
    systemPrompt: settings.systemPrompt,
    modelAllowList: settings.enabledModelIds,
    defaultModelId: settings.defaultModelId,
    maxOutputTokens: settings.maxOutputTokens,
    historyTokenBudget: settings.historyTokenBudget,
    limitsFor: (principal) => limitsFor(settings, principal),
  };
}
