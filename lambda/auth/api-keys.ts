/**
 * Personal API keys: `ak_` + 256 random bits, shown once. Only the SHA-256 hash is stored, so a
 * leaked table does not leak usable keys. A key never grants more than its owner has NOW: at
 * use time its permissions are intersected with the owner's current groups from the directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import '../shared/validation-config';
import { ForbiddenError, NotFoundError, ValidationError } from '../shared/errors';
import type { OwnerDirectory } from './owner-directory';
import { PERMISSIONS, type Permission, permissionsForGroups } from './permissions';
import type { AuthnFailureReason, Principal } from './principal';

/** A presented key: `ak_` + 43 base64url characters (32 random bytes). */
export const API_KEY_PATTERN = /^ak_[A-Za-z0-9_-]{43}$/;
/** A key id: `key_` + 22 base64url characters (16 random bytes); public, safe to show and log. */
export const KEY_ID_PATTERN = /^key_[A-Za-z0-9_-]{22}$/;
/** Default and maximum key lifetime, days. */
export const DEFAULT_KEY_DAYS = 90;
export const MAX_KEY_DAYS = 365;
/** Active (neither revoked nor expired) keys one owner may hold. */
export const MAX_KEYS_PER_OWNER = 25;

/** A stored key: everything but the key itself. */
export interface ApiKeyRecord {
  /** SHA-256 hex of the full key string. */
  readonly hash: string;
  readonly keyId: string;
  /** Owner's sub (the `byOwner` index key). */
  readonly owner: string;
  /** Owner's Cognito username, for directory look-ups. */
  readonly ownerUsername: string;
  readonly name: string;
  readonly permissions: readonly Permission[];
  /** ISO-8601. */
  readonly createdAt: string;
  /** Epoch seconds (also the table's TTL attribute). */
  readonly expiresAt: number;
  readonly lastUsedAt?: string;
  readonly revokedAt?: string;
}

/** What listing returns: never the hash. */
export type ApiKeySummary = Omit<ApiKeyRecord, 'hash' | 'owner' | 'ownerUsername'>;

/** Storage port for API keys (DynamoDB in AWS and local mode, via dynalite). */
export interface ApiKeyStore {
  /** Inserts a new key; fails if the hash already exists. */
  create(record: ApiKeyRecord): Promise<void>;
  /** Strongly consistent read by hash. */
  getByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** The owner's keys, newest first, without hashes. */
  listByOwner(owner: string): Promise<ApiKeySummary[]>;
  /**
   * Marks the owner's key revoked; `undefined` if the owner has no key with that id. A key
   * revoked before keeps its first `revokedAt` and answers `newlyRevoked: false`.
   */
  revoke(
    owner: string,
    keyId: string,
    revokedAt: string,
  ): Promise<{ summary: ApiKeySummary; newlyRevoked: boolean } | undefined>;
  /** Records use, at most once per `minIntervalMs`; best effort. */
  touch(hash: string, usedAt: string, minIntervalMs: number): Promise<void>;
}

/** Hex SHA-256 of a key, the only form that is stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Draws a new key and its id. */
export function generateApiKey(random: (size: number) => Buffer = randomBytes): {
  key: string;
  keyId: string;
} {
  return {
    key: `ak_${random(32).toString('base64url')}`,
    keyId: `key_${random(16).toString('base64url')}`,
  };
}

const createKeyInput = z.strictObject({
  name: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(64),
      z.regex(/^[\p{L}\p{N} ._-]+$/u, 'name may contain letters, digits, spaces, dot, dash and underscore'),
    ),
  permissions: z.array(z.enum(PERMISSIONS)).check(
    z.minLength(1),
    z.refine((list) => new Set(list).size === list.length, 'permissions must not repeat'),
  ),
  expiresInDays: z._default(z.int().check(z.minimum(1), z.maximum(MAX_KEY_DAYS)), DEFAULT_KEY_DAYS),
});

/** Dependencies of the key routes. */
export interface ApiKeyDeps {
  readonly store: ApiKeyStore;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  readonly random?: (size: number) => Buffer;
}

function requireUserSession(principal: Principal): asserts principal is Principal & { username: string } {
  // A key cannot mint or manage keys (a leaked key must not be able to extend itself),
  // and machine clients have no owner to hold personal keys.
  if (principal.kind !== 'user' || principal.username === undefined) {
    throw new ForbiddenError('API keys are managed from a signed-in user session.');
  }
}

/** `POST /api/v1/keys`: creates a key; the plaintext is returned here and never again. */
export async function createApiKey(
  body: unknown,
  principal: Principal,
  deps: ApiKeyDeps,
): Promise<{ key: string; summary: ApiKeySummary }> {
  requireUserSession(principal);
  const parsed = createKeyInput.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(
      `Invalid key request: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const excess = parsed.data.permissions.filter((permission) => !principal.permissions.has(permission));
  if (excess.length > 0) {
    throw new ForbiddenError(`A key cannot carry permissions you do not have: ${excess.join(', ')}.`);
  }
  const nowMs = (deps.now ?? Date.now)();
  // Only live keys count: revoked and expired ones wait for the TTL sweep but grant nothing.
  const live = (await deps.store.listByOwner(principal.sub)).filter(
    (key) => key.revokedAt === undefined && key.expiresAt * 1000 > nowMs,
  );
  if (live.length >= MAX_KEYS_PER_OWNER) {
    throw new ValidationError(`At most ${MAX_KEYS_PER_OWNER} active keys per user; revoke one first.`);
  }
  const { key, keyId } = generateApiKey(deps.random);
  const record: ApiKeyRecord = {
    hash: hashApiKey(key),
    keyId,
    owner: principal.sub,
    ownerUsername: principal.username,
    name: parsed.data.name,
    permissions: [...parsed.data.permissions].sort(),
    createdAt: new Date(nowMs).toISOString(),
    expiresAt: Math.floor(nowMs / 1000) + parsed.data.expiresInDays * 86_400,
  };
  await deps.store.create(record);
  const { hash: _hash, owner: _owner, ownerUsername: _username, ...summary } = record;
  return { key, summary };
}

/** `GET /api/v1/keys`: the caller's keys, without secrets. */
export async function listApiKeys(principal: Principal, deps: ApiKeyDeps): Promise<ApiKeySummary[]> {
  requireUserSession(principal);
  return deps.store.listByOwner(principal.sub);
}

/**
 * `DELETE /api/v1/keys/{id}`: revokes one of the caller's keys; anyone else's id answers 404.
 * Idempotent: revoking a revoked key answers the same summary with `newlyRevoked: false`, so
 * the caller records the revocation once.
 */
export async function revokeApiKey(
  keyId: string,
  principal: Principal,
  deps: ApiKeyDeps,
): Promise<{ summary: ApiKeySummary; newlyRevoked: boolean }> {
  requireUserSession(principal);
  if (!KEY_ID_PATTERN.test(keyId)) throw new NotFoundError();
  const revokedAt = new Date((deps.now ?? Date.now)()).toISOString();
  const revoked = await deps.store.revoke(principal.sub, keyId, revokedAt);
  if (!revoked) throw new NotFoundError();
  return revoked;
}

/** Outcome of presenting a key. */
export type ApiKeyAuthentication =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: AuthnFailureReason };

/** Dependencies of key authentication (the hot path). */
export interface ApiKeyAuthDeps {
  readonly store: ApiKeyStore;
  readonly owners: OwnerDirectory;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  /** Minimum time between two `lastUsedAt` writes for one key. @default 300000 */
  readonly touchIntervalMs?: number;
}

/** Authenticates a presented key; the principal carries key permissions ∩ the owner's current ones. */
export async function authenticateApiKey(
  presented: string,
  deps: ApiKeyAuthDeps,
): Promise<ApiKeyAuthentication> {
  if (!API_KEY_PATTERN.test(presented)) return { ok: false, reason: 'malformed_api_key' };
  const hash = hashApiKey(presented);
  const record = await deps.store.getByHash(hash);
  if (!record) return { ok: false, reason: 'unknown_api_key' };
  const nowMs = (deps.now ?? Date.now)();
  if (record.revokedAt !== undefined) return { ok: false, reason: 'api_key_revoked' };
  if (record.expiresAt * 1000 <= nowMs) return { ok: false, reason: 'api_key_expired' };
  // The owner's record NOW (through the short cache): a disabled, deleted or erased owner's
  // keys all stop, and a demoted owner's keys keep only what the owner still holds.
  const owner = await deps.owners.lookup(record.owner);
  if (owner === null || owner.status !== 'active') return { ok: false, reason: 'api_key_owner_inactive' };
  const groups = owner.groups;
  const ownerNow = permissionsForGroups(groups);
  const effective = new Set(record.permissions.filter((permission) => ownerNow.has(permission)));
  await deps.store.touch(hash, new Date(nowMs).toISOString(), deps.touchIntervalMs ?? 300_000).catch(() => {
    // lastUsedAt is informational; a failed write must not fail an authenticated request.
  });
  return {
    ok: true,
    principal: {
      kind: 'apiKey',
      sub: record.owner,
      username: record.ownerUsername,
      groups: [...groups],
      clientId: null,
      keyId: record.keyId,
      permissions: effective,
    },
  };
}
