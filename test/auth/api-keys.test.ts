import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbApiKeyStore } from '../../lambda/auth/api-key-store-dynamodb';
import {
  API_KEY_PATTERN,
  type ApiKeyDeps,
  authenticateApiKey,
  createApiKey,
  hashApiKey,
  KEY_ID_PATTERN,
  listApiKeys,
  MAX_KEYS_PER_OWNER,
  revokeApiKey,
} from '../../lambda/auth/api-keys';
import { cachedOwnerDirectory, InMemoryOwnerDirectory } from '../../lambda/auth/owner-directory';
import { DynamoDbOwnerDirectory } from '../../lambda/auth/owner-directory-dynamodb';
import { type Group, permissionsForGroups } from '../../lambda/auth/permissions';
import type { Principal } from '../../lambda/auth/principal';
import { createAccessTokenVerifier } from '../../lambda/auth/token-verifier';
import { ForbiddenError, NotFoundError, ValidationError } from '../../lambda/shared/errors';
import { apiKeysTable } from '../../lib/data/table-schemas';
import { type DynaliteHandle, startDynalite } from '../support/dynalite';
import { generateSigningKey, jwksOf, TEST_CLIENT_ID, TEST_ISSUER } from '../support/tokens';
import { albEvent, protectedHandler } from './harness';

let dynamo: DynaliteHandle;
let tableCounter = 0;
let store: DynamoDbApiKeyStore;
let tableName: string;
let owners: InMemoryOwnerDirectory;
let clock: number;
const now = () => clock;
const verifier = createAccessTokenVerifier({
  issuer: TEST_ISSUER,
  jwks: jwksOf(generateSigningKey('k')),
  clientIds: [TEST_CLIENT_ID],
});

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});
beforeEach(async () => {
  // A fresh table per test: no test sees another's keys.
  const names = await dynamo.createTables([apiKeysTable], `t${++tableCounter}-`);
  tableName = names[apiKeysTable.id]!;
  store = new DynamoDbApiKeyStore(dynamo.client, tableName);
  owners = new InMemoryOwnerDirectory();
  clock = Date.parse('2026-01-10T12:00:00Z');
});

function userPrincipal(sub: string, groups: Group[]): Principal {
  owners.set(sub, groups);
  return {
    kind: 'user',
    sub,
    username: `user-${sub}`,
    groups,
    clientId: TEST_CLIENT_ID,
    permissions: permissionsForGroups(groups),
  };
}
const deps = (): ApiKeyDeps => ({ store, now });
const authDeps = () => ({ store, owners, now });
const callWithKey = (key: string, method = 'POST', path = '/api/v1/chat') => {
  const { invoke, decisions } = protectedHandler({ verifier, apiKeys: authDeps(), now });
  return invoke(albEvent(method, path, { 'x-api-key': key })).then((response) => ({ response, decisions }));
};

describe('creating keys', () => {
  it('returns the key once and stores only its SHA-256 hash', async () => {
    // Prepare
    const alice = userPrincipal('alice', ['developer']);

    // Act
    const { key, summary } = await createApiKey(
      { name: 'laptop cli', permissions: ['chat:write', 'chat:read'] },
      alice,
      deps(),
    );
    const { Items: items = [] } = await dynamo.client.send(new ScanCommand({ TableName: tableName }));

    // Assess
    expect(key).toMatch(API_KEY_PATTERN);
    expect(Buffer.from(key.slice(3), 'base64url')).toHaveLength(32);
    expect(summary.keyId).toMatch(KEY_ID_PATTERN);
    expect(summary).toEqual({
      keyId: summary.keyId,
      name: 'laptop cli',
      permissions: ['chat:read', 'chat:write'],
      createdAt: '2026-01-10T12:00:00.000Z',
      expiresAt: Date.parse('2026-04-10T12:00:00Z') / 1000,
    });
    const stored = JSON.stringify(items);
    expect(items).toHaveLength(1);
    expect(items[0]?.pk?.S).toBe(`KEY#${hashApiKey(key)}`);
    expect(stored).not.toContain(key);
    expect(stored).not.toContain(key.slice(3));
    expect(stored).not.toContain(key.slice(3, 20));
  });

  it('two keys never share a value, a hash or an id', async () => {
    // Prepare
    const alice = userPrincipal('alice', ['user']);

    // Act
    const first = await createApiKey({ name: 'a', permissions: ['chat:read'] }, alice, deps());
    const second = await createApiKey({ name: 'b', permissions: ['chat:read'] }, alice, deps());

    // Assess
    expect(first.key).not.toBe(second.key);
    expect(first.summary.keyId).not.toBe(second.summary.keyId);
  });

  it.each([
    ['no body', undefined],
    ['not an object', 'chat:read'],
    ['empty name', { name: '', permissions: ['chat:read'] }],
    ['name too long', { name: 'x'.repeat(65), permissions: ['chat:read'] }],
    ['name with markup', { name: '<script>', permissions: ['chat:read'] }],
    ['no permissions', { name: 'k', permissions: [] }],
    ['unknown permission', { name: 'k', permissions: ['chat:admin'] }],
    ['repeated permission', { name: 'k', permissions: ['chat:read', 'chat:read'] }],
    ['zero days', { name: 'k', permissions: ['chat:read'], expiresInDays: 0 }],
    ['more than a year', { name: 'k', permissions: ['chat:read'], expiresInDays: 366 }],
    ['fractional days', { name: 'k', permissions: ['chat:read'], expiresInDays: 1.5 }],
    ['an extra field', { name: 'k', permissions: ['chat:read'], owner: 'mallory' }],
  ])('rejects %s with a validation error and writes nothing', async (_name, body) => {
    // Prepare
    const alice = userPrincipal('alice', ['admin']);

    // Act
    const attempt = createApiKey(body, alice, deps());

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    const { Count: count } = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
    expect(count).toBe(0);
  });

  it('refuses permissions the owner does not have', async () => {
    // Prepare
    const bob = userPrincipal('bob', ['user']);

    // Act
    const attempt = createApiKey({ name: 'k', permissions: ['chat:read', 'audit:read'] }, bob, deps());

    // Assess
    await expect(attempt).rejects.toThrow(ForbiddenError);
    await expect(attempt).rejects.toThrow(/audit:read/);
  });

  it.each([
    ['an API key', { kind: 'apiKey', keyId: 'key_AAAAAAAAAAAAAAAAAAAAAA', clientId: null } as const],
    ['a machine client', { kind: 'machine', clientId: 'machine', username: undefined } as const],
  ])('refuses key management from %s', async (_name, override) => {
    // Prepare
    const principal: Principal = { ...userPrincipal('alice', ['admin']), ...override };

    // Act + Assess
    await expect(createApiKey({ name: 'k', permissions: ['chat:read'] }, principal, deps())).rejects.toThrow(
      ForbiddenError,
    );
    await expect(listApiKeys(principal, deps())).rejects.toThrow(ForbiddenError);
  });

  it(`caps active keys at ${MAX_KEYS_PER_OWNER} per owner; a revoked key frees its place`, async () => {
    // Prepare
    const alice = userPrincipal('alice', ['user']);
    for (let index = 0; index < MAX_KEYS_PER_OWNER; index++) {
      await createApiKey({ name: `k${index}`, permissions: ['chat:read'] }, alice, deps());
    }

    // Act
    const overCap = createApiKey({ name: 'one too many', permissions: ['chat:read'] }, alice, deps());
    await expect(overCap).rejects.toThrow(/At most 25 active keys/);
    const [oldest] = await listApiKeys(alice, deps());
    await revokeApiKey(oldest!.keyId, alice, deps());
    const afterRevoking = createApiKey({ name: 'replacement', permissions: ['chat:read'] }, alice, deps());

    // Assess
    await expect(afterRevoking).resolves.toMatchObject({ summary: { name: 'replacement' } });
  });
});

describe('erasing an owner', () => {
  it("deletes every key of the owner, tombstones the owner's directory item, and touches nobody else's", async () => {
    // Prepare
    const alice = userPrincipal('alice', ['user']);
    const bob = userPrincipal('bob', ['user']);
    const first = await createApiKey({ name: 'a1', permissions: ['chat:read'] }, alice, deps());
    const second = await createApiKey({ name: 'a2', permissions: ['chat:write'] }, alice, deps());
    await revokeApiKey(second.summary.keyId, alice, deps());
    const bobs = await createApiKey({ name: 'b1', permissions: ['chat:read'] }, bob, deps());
    const directory = new DynamoDbOwnerDirectory(dynamo.client, tableName);
    await directory.record('alice', { groups: ['user'], status: 'active', at: new Date(clock) });

    // Act
    const erased = await store.eraseOwner('alice');
    await store.revokeOwner('alice');

    // Assess
    expect(erased).toBe(2);
    expect(await listApiKeys(alice, deps())).toEqual([]);
    expect((await callWithKey(first.key)).response.statusCode).toBe(401);
    expect(await directory.lookup('alice')).toEqual({
      groups: [],
      status: 'erased',
      validAfter: expect.any(Number),
    });
    expect((await directory.lookup('alice'))!.validAfter).toBeGreaterThanOrEqual(
      Math.floor(Date.now() / 1000),
    );
    expect((await listApiKeys(bob, deps())).map((k) => k.keyId)).toEqual([bobs.summary.keyId]);
    expect(await store.eraseOwner('alice')).toBe(0);
  });
});

describe('listing and revoking', () => {
  it("lists only the caller's keys, newest first, without hashes", async () => {
    // Prepare
    const alice = userPrincipal('alice', ['user']);
    const bob = userPrincipal('bob', ['user']);
    const older = await createApiKey({ name: 'older', permissions: ['chat:read'] }, alice, deps());
    clock += 60_000;
    const newer = await createApiKey({ name: 'newer', permissions: ['chat:write'] }, alice, deps());
    await createApiKey({ name: 'bobs', permissions: ['chat:read'] }, bob, deps());

    // Act
    const listed = await listApiKeys(alice, deps());

    // Assess
    expect(listed.map((summary) => summary.name)).toEqual(['newer', 'older']);
    expect(JSON.stringify(listed)).not.toMatch(/KEY#|hash|owner|[0-9a-f]{64}/);
    expect(JSON.stringify(listed)).not.toContain(older.key);
    expect(JSON.stringify(listed)).not.toContain(newer.key);
  });

  it('a revoked key answers 401 and shows as revoked', async () => {
    // Prepare
    const alice = userPrincipal('alice', ['user']);
    const { key, summary } = await createApiKey({ name: 'k', permissions: ['chat:write'] }, alice, deps());
    expect((await callWithKey(key)).response.statusCode).toBe(200);

    // Act
    const revoked = await revokeApiKey(summary.keyId, alice, deps());
    const { response, decisions } = await callWithKey(key);

    // Assess
    expect(revoked.summary.revokedAt).toBe('2026-01-10T12:00:00.000Z');
    expect(revoked.newlyRevoked).toBe(true);
    expect(response.statusCode).toBe(401);
    expect(decisions).toEqual([
      expect.objectContaining({ outcome: 'failure', reason: 'api_key_revoked', source: 'api-key' }),
    ]);
    expect((await listApiKeys(alice, deps()))[0]?.revokedAt).toBe('2026-01-10T12:00:00.000Z');
  });

  it("someone else's key id answers not found and their key keeps working", async () => {
    // Prepare
    const alice = userPrincipal('alice', ['user']);
    const mallory = userPrincipal('mallory', ['admin']);
    const { key, summary } = await createApiKey({ name: 'k', permissions: ['chat:write'] }, alice, deps());

    // Act
    const attempt = revokeApiKey(summary.keyId, mallory, deps());

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
    expect((await callWithKey(key)).response.statusCode).toBe(200);
  });

  it.each([
    ['key_short'],
    ['ak_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['key_AAAAAAAAAAAAAAAAAAAAA/'],
    [''],
  ])('a malformed key id %j answers not found', async (keyId) => {
    const alice = userPrincipal('alice', ['user']);
    await expect(revokeApiKey(keyId, alice, deps())).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('using keys', () => {
  it('an expired key answers 401', async () => {
    // Prepare
    const alice = userPrincipal('alice', ['user']);
    const { key } = await createApiKey(
      { name: 'k', permissions: ['chat:write'], expiresInDays: 1 },
      alice,
      deps(),
    );
    clock += 86_400_000;

    // Act
    const { response, decisions } = await callWithKey(key);

    // Assess
    expect(response.statusCode).toBe(401);
    expect(decisions[0]).toMatchObject({ reason: 'api_key_expired' });
  });

  it("an owner's downgrade reduces the key's permissions at once", async () => {
    // Prepare
    const admin = userPrincipal('ada', ['admin']);
    const { key } = await createApiKey(
      { name: 'ops', permissions: ['chat:read', 'audit:read'] },
      admin,
      deps(),
    );
    expect((await callWithKey(key, 'GET', '/api/v1/admin/audit')).response.statusCode).toBe(200);

    // Act
    owners.set('ada', ['user']);
    const audit = await callWithKey(key, 'GET', '/api/v1/admin/audit');
    const models = await callWithKey(key, 'GET', '/api/v1/models');

    // Assess
    expect(audit.response.statusCode).toBe(403);
    expect(audit.decisions.at(-1)).toMatchObject({
      outcome: 'deny',
      principal: { kind: 'apiKey', permissions: ['chat:read'] },
    });
    expect(models.response.statusCode).toBe(200);
  });

  it('a key never gains what its owner gains later', async () => {
    // Prepare
    const bob = userPrincipal('bob', ['user']);
    const { key } = await createApiKey({ name: 'k', permissions: ['chat:read'] }, bob, deps());
    owners.set('bob', ['admin']);

    // Act
    const result = await authenticateApiKey(key, authDeps());

    // Assess
    expect(result.ok && [...result.principal.permissions]).toEqual(['chat:read']);
  });

  it("a disabled or deleted owner's key answers 401", async () => {
    // Prepare
    const alice = userPrincipal('alice', ['user']);
    const { key } = await createApiKey({ name: 'k', permissions: ['chat:write'] }, alice, deps());
    owners.set('alice', null);

    // Act
    const { response, decisions } = await callWithKey(key);

    // Assess
    expect(response.statusCode).toBe(401);
    expect(decisions[0]).toMatchObject({ reason: 'api_key_owner_inactive' });
  });

  it.each([
    ['well-formed but unknown', `ak_${'B'.repeat(43)}`, 'unknown_api_key'],
    ['too short', 'ak_abc', 'malformed_api_key'],
    ['wrong prefix', `sk_${'B'.repeat(43)}`, 'malformed_api_key'],
    ['a bearer token in x-api-key', 'eyJhbGciOiJSUzI1NiJ9.e30.sig', 'malformed_api_key'],
  ])('a %s key answers 401', async (_name, key, reason) => {
    // Act
    const { response, decisions } = await callWithKey(key);

    // Assess
    expect(response.statusCode).toBe(401);
    expect(decisions[0]).toMatchObject({ reason });
    expect(response.body).not.toContain(key);
  });

  it('records lastUsedAt at most once per interval', async () => {
    // Prepare
    const alice = userPrincipal('alice', ['user']);
    const { key } = await createApiKey({ name: 'k', permissions: ['chat:write'] }, alice, deps());
    const lastUsed = async () => (await listApiKeys(alice, deps()))[0]?.lastUsedAt;

    // Act + Assess
    await authenticateApiKey(key, authDeps());
    expect(await lastUsed()).toBe('2026-01-10T12:00:00.000Z');
    clock += 60_000;
    await authenticateApiKey(key, authDeps());
    expect(await lastUsed()).toBe('2026-01-10T12:00:00.000Z');
    clock += 300_000;
    await authenticateApiKey(key, authDeps());
    expect(await lastUsed()).toBe('2026-01-10T12:06:00.000Z');
  });

  it('a store outage answers 503, not 401', async () => {
    // Prepare
    const brokenStore = new DynamoDbApiKeyStore(dynamo.client, 'no-such-table');
    const { invoke } = protectedHandler({ verifier, apiKeys: { store: brokenStore, owners, now } });

    // Act
    const response = await invoke(albEvent('POST', '/api/v1/chat', { 'x-api-key': `ak_${'C'.repeat(43)}` }));

    // Assess
    expect(response.statusCode).toBe(503);
  });
});

describe('owner directory cache', () => {
  it('serves a cached answer within the TTL and a fresh one after', async () => {
    // Prepare
    let time = 0;
    const inner = new InMemoryOwnerDirectory();
    inner.set('alice', ['admin']);
    const cached = cachedOwnerDirectory(inner, { ttlMs: 30_000, now: () => time });
    await cached.lookup('alice');
    inner.set('alice', ['user']);

    // Act
    time = 29_000;
    const withinTtl = await cached.lookup('alice');
    time = 31_000;
    const afterTtl = await cached.lookup('alice');

    // Assess
    expect(withinTtl?.groups).toEqual(['admin']);
    expect(afterTtl?.groups).toEqual(['user']);
  });

  it('reads again for a token issued after the cached read (a fresh sign-in wrote the directory)', async () => {
    // Prepare
    let time = 1_000;
    const inner = new InMemoryOwnerDirectory();
    inner.set('alice', ['user']);
    const cached = cachedOwnerDirectory(inner, { ttlMs: 30_000, now: () => time });
    await cached.lookup('alice');
    inner.set('alice', ['admin']);

    // Act
    time = 2_000;
    const olderToken = await cached.lookup('alice', { freshAfterMs: 500 });
    const newerToken = await cached.lookup('alice', { freshAfterMs: 1_500 });

    // Assess
    expect(olderToken?.groups).toEqual(['user']);
    expect(newerToken?.groups).toEqual(['admin']);
  });
});
