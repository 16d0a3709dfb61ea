import { randomUUID } from 'node:crypto';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../lambda/auth/principal';
import {
  createSettingsStore,
  limitsFor,
  type RuntimeSettings,
  type SettingsStore,
  type SettingsStoreOptions,
  toChatSettings,
} from '../../lambda/settings/settings-store';
import { ConflictError, ServiceUnavailableError, ValidationError } from '../../lambda/shared/errors';
import { settingsTable } from '../../lib/data/table-schemas';
import { closedPort, freshConnectionClient, shortTimeoutClient } from '../limits/dynamodb-clients';
import { createTableInput, type DynaliteHandle, startDynalite } from '../support/dynalite';

const ALLOW_LIST = ['model-a', 'model-b', 'model-c'];
const T0 = Date.UTC(2025, 2, 10, 12);

const row = (requestsPerMinute: number, burst: number, dailyTokens: number) => ({
  requestsPerMinute,
  burst,
  dailyTokens,
});

const DEFAULTS: RuntimeSettings = {
  systemPrompt: 'You are a careful assistant.',
  maxOutputTokens: 1_024,
  historyTokenBudget: 4_000,
  limits: {
    admin: row(120, 20, 500_000),
    operator: row(60, 10, 200_000),
    developer: row(90, 5, 300_000),
    user: row(20, 8, 100_000),
    auditor: row(10, 2, 10_000),
    machine: row(300, 30, 1_000_000),
    apiKey: row(30, 6, 150_000),
  },
  enabledModelIds: ['model-a', 'model-b'],
  defaultModelId: 'model-a',
};

class ManualClock {
  constructor(private at: number) {}
  now(): number {
    return this.at;
  }
  advance(ms: number): void {
    this.at += ms;
  }
}

const principal = (kind: Principal['kind'], groups: string[]): Principal => ({
  kind,
  sub: 'sub-1',
  groups,
  clientId: null,
  permissions: new Set(),
});

describe('settings store (dynalite)', () => {
  let dynalite: DynaliteHandle;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynalite = await startDynalite();
    client = freshConnectionClient(dynalite.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await dynalite.stop();
  });

  /** A fresh table per test (versions are global to a table), and a store factory on it. */
  const setup = async (overrides: Partial<SettingsStoreOptions> = {}) => {
    const tableName = `${randomUUID()}-${settingsTable.id}`;
    await client.send(new CreateTableCommand(createTableInput(settingsTable, tableName)));
    const clock = new ManualClock(T0);
    const open = (more: Partial<SettingsStoreOptions> = {}): SettingsStore =>
      createSettingsStore({
        client,
        tableName,
        clock,
        defaults: DEFAULTS,
        allowList: ALLOW_LIST,
        cacheTtlMs: 0,
        ...overrides,
        ...more,
      });
    return { store: open(), open, clock, tableName };
  };

  const asAdmin = (expectedVersion: number, scope: 'settings' | 'models' = 'settings') => ({
    expectedVersion,
    actor: 'admin-sub',
    scope,
  });

  describe('versions', () => {
    it('serves the defaults as version 0 while nothing is stored', async () => {
      const { store } = await setup();

      expect(await store.current()).toEqual({
        version: 0,
        settings: DEFAULTS,
        updatedAt: null,
        actor: null,
        changedFields: [],
      });
      expect(await store.history(10)).toEqual([]);
    });

    it('writes each change as the next version, merges partial patches, and keeps the history', async () => {
      const { store, clock } = await setup();

      const v1 = await store.update({ limits: { user: { burst: 12 } } }, asAdmin(0));
      clock.advance(1_000);
      const v2 = await store.update(
        { enabledModelIds: ['model-c'], defaultModelId: 'model-c' },
        asAdmin(1, 'models'),
      );

      expect(v1).toMatchObject({
        version: 1,
        actor: 'admin-sub',
        updatedAt: T0,
        changedFields: ['limits.user.burst'],
      });
      expect(v1.settings.limits.user).toEqual({ ...DEFAULTS.limits.user, burst: 12 });
      expect(v2.changedFields).toEqual(['defaultModelId', 'enabledModelIds']);
      expect(await store.current()).toEqual(v2);
      expect(v2.settings.limits.user.burst).toBe(12);
      expect((await store.history(10)).map((v) => v.version)).toEqual([2, 1]);
      expect((await store.history(1)).map((v) => v.version)).toEqual([2]);
    });

    it('answers 409 when the admin edited an older version', async () => {
      const { store } = await setup();
      await store.update({ maxOutputTokens: 2_000 }, asAdmin(0));

      const error = await store.update({ maxOutputTokens: 3_000 }, asAdmin(0)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ status: 409 });
      expect((await store.current()).settings.maxOutputTokens).toBe(2_000);
    });

    it('lets exactly one of several concurrent admins on different containers win', async () => {
      const { open } = await setup();
      const containers = Array.from({ length: 6 }, () => open());

      const results = await Promise.allSettled(
        containers.map((store, i) => store.update({ maxOutputTokens: 1_000 + i }, asAdmin(0))),
      );

      const winners = results.filter((r) => r.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
      const history = await open().history(10);
      expect(history).toHaveLength(1);
      expect(history[0]!.settings.maxOutputTokens).toBe(
        (winners[0] as PromiseFulfilledResult<{ settings: RuntimeSettings }>).value.settings.maxOutputTokens,
      );
    });

    it('refuses a patch that changes nothing, so the history holds only real changes', async () => {
      const { store } = await setup();

      await expect(store.update({ maxOutputTokens: DEFAULTS.maxOutputTokens }, asAdmin(0))).rejects.toThrow(
        /changes nothing/,
      );
      expect(await store.history(10)).toEqual([]);
    });

    it.each([0, 101, 1.5])('refuses a history limit of %s', async (limit) => {
      const { store } = await setup();
      await expect(store.history(limit)).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe('validation names the field', () => {
    it.each([
      ['a burst of zero', 'settings', { limits: { user: { burst: 0 } } }, /limits\.user\.burst/],
      [
        'a fractional rate',
        'settings',
        { limits: { apiKey: { requestsPerMinute: 1.5 } } },
        /limits\.apiKey\.requestsPerMinute/,
      ],
      ['an unknown limit class', 'settings', { limits: { guest: { burst: 1 } } }, /limits: .*"guest"/],
      ['too many output tokens', 'settings', { maxOutputTokens: 1_000_000 }, /maxOutputTokens/],
      ['a negative history budget', 'settings', { historyTokenBudget: -1 }, /historyTokenBudget/],
      ['an over-long system prompt', 'settings', { systemPrompt: 'x'.repeat(8_001) }, /systemPrompt/],
      ['an empty system prompt', 'settings', { systemPrompt: '   ' }, /systemPrompt/],
      [
        'a NUL in the system prompt',
        'settings',
        { systemPrompt: 'a\u0000b' },
        /systemPrompt: must not contain control/,
      ],
      ['a bidi override in the system prompt', 'settings', { systemPrompt: 'a\u202eb' }, /systemPrompt/],
      ['an unknown field', 'settings', { temperature: 2 }, /"temperature"/],
      [
        'models through the settings route',
        'settings',
        { enabledModelIds: ['model-a'] },
        /"enabledModelIds"/,
      ],
      ['settings through the models route', 'models', { systemPrompt: 'x' }, /"systemPrompt"/],
      [
        'a model outside the allow-list',
        'models',
        { enabledModelIds: ['model-a', 'model-x'] },
        /enabledModelIds: "model-x" not in the deploy-time allow-list/,
      ],
      [
        'a default that is not enabled',
        'models',
        { defaultModelId: 'model-c' },
        /defaultModelId: must be one of enabledModelIds/,
      ],
      ['no enabled model', 'models', { enabledModelIds: [] }, /enabledModelIds/],
      [
        'a repeated model',
        'models',
        { enabledModelIds: ['model-a', 'model-a'] },
        /enabledModelIds: must not repeat/,
      ],
      ['a body that is not an object', 'settings', ['maxOutputTokens'], /settings: /],
      ['a null body', 'models', null, /models: /],
    ] as const)('refuses %s and stores nothing', async (_name, scope, patch, message) => {
      const { store } = await setup();

      const error = await store.update(patch, asAdmin(0, scope)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toMatch(message);
      expect(await store.history(10)).toEqual([]);
    });

    it('refuses a bad expectedVersion', async () => {
      const { store } = await setup();
      await expect(store.update({ maxOutputTokens: 5 }, asAdmin(-1))).rejects.toThrow(/expectedVersion/);
    });

    it('refuses defaults that break the allow-list at creation', async () => {
      const { open } = await setup();
      expect(() => open({ allowList: ['model-a'] })).toThrow(
        /enabledModelIds: "model-b" not in the deploy-time allow-list/,
      );
      expect(() => open({ defaults: { ...DEFAULTS, maxOutputTokens: 0 } })).toThrow(/maxOutputTokens/);
    });
  });

  describe('allow-list ceiling on read', () => {
    it('disables models a later deploy removed from the allow-list, moving the default if needed', async () => {
      const { open } = await setup();
      await open().update(
        { enabledModelIds: ['model-b', 'model-c'], defaultModelId: 'model-c' },
        asAdmin(0, 'models'),
      );

      const narrowed = await open({ allowList: ['model-a', 'model-b'] }).current();
      const audited = await open({ allowList: ['model-a', 'model-b'] }).history(1);

      expect(narrowed.settings).toMatchObject({ enabledModelIds: ['model-b'], defaultModelId: 'model-b' });
      // The audit view shows what the admin stored.
      expect(audited[0]!.settings).toMatchObject({
        enabledModelIds: ['model-b', 'model-c'],
        defaultModelId: 'model-c',
      });
    });

    it('falls back to the default models when none of the stored ones is allowed any more', async () => {
      const { open } = await setup();
      await open().update({ enabledModelIds: ['model-c'], defaultModelId: 'model-c' }, asAdmin(0, 'models'));

      const narrowed = await open({ allowList: ['model-a', 'model-b'] }).current();

      expect(narrowed.settings).toMatchObject({
        enabledModelIds: ['model-a', 'model-b'],
        defaultModelId: 'model-a',
      });
    });
  });

  describe('cache', () => {
    it('serves a cached version for cacheTtlMs, then reads the newest', async () => {
      const { open, clock } = await setup();
      const reader = open({ cacheTtlMs: 30_000 });
      const writer = open();
      expect((await reader.current()).version).toBe(0);

      await writer.update({ maxOutputTokens: 2_048 }, asAdmin(0));
      clock.advance(29_999);
      const beforeExpiry = await reader.current();
      clock.advance(1);
      const afterExpiry = await reader.current();

      expect(beforeExpiry.version).toBe(0);
      expect(afterExpiry).toMatchObject({ version: 1, settings: { maxOutputTokens: 2_048 } });
    });

    it('shows a container its own update at once', async () => {
      const { open } = await setup();
      const store = open({ cacheTtlMs: 60_000 });
      await store.current();

      await store.update({ historyTokenBudget: 0 }, asAdmin(0));

      expect(await store.current()).toMatchObject({ version: 1, settings: { historyTokenBudget: 0 } });
    });

    it('shares one read among concurrent callers on a cold cache', async () => {
      const { tableName } = await setup();
      const counted = freshConnectionClient(dynalite.endpoint);
      let sent = 0;
      counted.middlewareStack.add(
        (next) => async (args) => {
          sent += 1;
          return next(args);
        },
        { step: 'initialize' },
      );
      const store = createSettingsStore({
        client: counted,
        tableName,
        clock: new ManualClock(T0),
        defaults: DEFAULTS,
        allowList: ALLOW_LIST,
        cacheTtlMs: 10_000,
      });
      try {
        await Promise.all(Array.from({ length: 10 }, () => store.current()));
        await store.current();
        expect(sent).toBe(1);
      } finally {
        counted.destroy();
      }
    });
  });

  it('answers ServiceUnavailableError when DynamoDB cannot be reached', async () => {
    const unreachable = shortTimeoutClient(`http://127.0.0.1:${await closedPort()}`);
    const store = createSettingsStore({
      client: unreachable,
      tableName: 'Settings',
      clock: new ManualClock(T0),
      defaults: DEFAULTS,
      allowList: ALLOW_LIST,
      cacheTtlMs: 0,
    });
    try {
      await expect(store.current()).rejects.toBeInstanceOf(ServiceUnavailableError);
      await expect(store.update({ maxOutputTokens: 5 }, asAdmin(0))).rejects.toBeInstanceOf(
        ServiceUnavailableError,
      );
    } finally {
      unreachable.destroy();
    }
  });
});

describe('limitsFor', () => {
  const L = DEFAULTS.limits;

  it.each([
    ['a user', principal('user', ['user']), L.user],
    ['an auditor', principal('user', ['auditor']), L.auditor],
    // Field by field: operator has the higher rate and budget, user the higher burst.
    [
      'operator + user (most generous per field)',
      principal('user', ['operator', 'user']),
      row(60, 10, 200_000),
    ],
    ['developer + user', principal('user', ['user', 'developer']), row(90, 8, 300_000)],
    ['unknown groups are ignored', principal('user', ['user', 'superadmin']), L.user],
    ['no known group gets the tightest row', principal('user', ['eu-west-1_x_Google']), row(10, 2, 10_000)],
    ['a machine client', principal('machine', []), L.machine],
    ['a machine client ignores groups', principal('machine', ['admin']), L.machine],
    ['an API key of a user is capped by the user row', principal('apiKey', ['user']), row(20, 6, 100_000)],
    ['an API key of an admin is capped by the apiKey row', principal('apiKey', ['admin']), L.apiKey],
  ])('%s', (_name, who, expected) => {
    expect(limitsFor(DEFAULTS, who)).toEqual(expected);
  });

  it('is what the chat pipeline sees through toChatSettings', () => {
    const chat = toChatSettings(DEFAULTS);

    expect(chat).toMatchObject({
      systemPrompt: DEFAULTS.systemPrompt,
      modelAllowList: DEFAULTS.enabledModelIds,
      defaultModelId: 'model-a',
      maxOutputTokens: 1_024,
      historyTokenBudget: 4_000,
    });
    expect(chat.limitsFor(principal('user', ['admin']))).toEqual(L.admin);
  });
});
