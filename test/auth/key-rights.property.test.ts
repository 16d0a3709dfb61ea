/**
 * Property (issue 17): for random sequences of group changes, disables, re-enables and key
 * creations, once the directory cache time has passed an API key never grants a permission
 * its owner does not hold at that moment, nor one outside its scopes, and a disabled owner's
 * keys grant nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ApiKeyRecord,
  type ApiKeyStore,
  type ApiKeySummary,
  authenticateApiKey,
  createApiKey,
} from '../../lambda/auth/api-keys';
import { cachedOwnerDirectory, InMemoryOwnerDirectory } from '../../lambda/auth/owner-directory';
import { GROUPS, PERMISSIONS, type Permission, permissionsForGroups } from '../../lambda/auth/permissions';
import type { Principal } from '../../lambda/auth/principal';

const TTL_MS = 30_000;

/** The key store port in memory: the property is about the rule, not about DynamoDB. */
class MemoryKeyStore implements ApiKeyStore {
  readonly records = new Map<string, ApiKeyRecord>();
  async create(record: ApiKeyRecord) {
    this.records.set(record.hash, record);
  }
  async getByHash(hash: string) {
    return this.records.get(hash);
  }
  async listByOwner(owner: string): Promise<ApiKeySummary[]> {
    return [...this.records.values()]
      .filter((r) => r.owner === owner)
      .map(({ hash: _h, owner: _o, ownerUsername: _u, ...summary }) => summary);
  }
  async revoke() {
    return undefined;
  }
  async touch() {}
}

type Step =
  | { kind: 'setGroups'; owner: number; groups: string[] }
  | { kind: 'disable'; owner: number }
  | { kind: 'enable'; owner: number }
  | { kind: 'createKey'; owner: number; scopes: Permission[] }
  | { kind: 'wait'; ms: number };

const owner = fc.integer({ min: 0, max: 2 });
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('setGroups' as const), owner, groups: fc.subarray([...GROUPS, 'R&D']) }),
  fc.record({ kind: fc.constant('disable' as const), owner }),
  fc.record({ kind: fc.constant('enable' as const), owner }),
  fc.record({
    kind: fc.constant('createKey' as const),
    owner,
    scopes: fc.subarray([...PERMISSIONS], { minLength: 1 }),
  }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 2 * TTL_MS }) }),
);

describe('API keys follow their owner (property)', () => {
  it('after the cache time, a key grants only scopes ∩ the owner’s current permissions, and nothing when disabled', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        // Prepare
        let now = Date.parse('2026-06-01T00:00:00Z');
        const directory = new InMemoryOwnerDirectory();
        const owners = cachedOwnerDirectory(directory, { ttlMs: TTL_MS, now: () => now });
        const store = new MemoryKeyStore();
        const keys: string[] = [];
        const subs = ['ann', 'bea', 'cid'];
        for (const sub of subs) directory.set(sub, ['user']);

        for (const s of steps) {
          // Act
          if (s.kind === 'setGroups') {
            await directory.record(subs[s.owner]!, { groups: s.groups, at: new Date(now) });
          } else if (s.kind === 'disable') {
            await directory.record(subs[s.owner]!, { status: 'disabled', at: new Date(now) });
          } else if (s.kind === 'enable') {
            await directory.record(subs[s.owner]!, { status: 'active', at: new Date(now) });
          } else if (s.kind === 'wait') {
            now += s.ms;
          } else {
            const sub = subs[s.owner]!;
            // The caller's principal is built from the directory, as the claim check builds it.
            const record = await owners.lookup(sub);
            if (record === null || record.status !== 'active') continue;
            const principal: Principal = {
              kind: 'user',
              sub,
              username: sub,
              groups: record.groups,
              clientId: 'web',
              permissions: permissionsForGroups(record.groups),
            };
            const created = await createApiKey({ name: 'k', permissions: s.scopes }, principal, {
              store,
              now: () => now,
              random: (size) => Buffer.alloc(size, keys.length + 1),
            }).catch(() => undefined);
            if (created) keys.push(created.key);
          }

          // Assess: exactly the cache time after the step (the bound), every key is judged on
          // the owner's state; the sequence goes on from there.
          now += TTL_MS;
          for (const key of keys) {
            const result = await authenticateApiKey(key, { store, owners, now: () => now });
            if (!result.ok) continue;
            const saved = [...store.records.values()].find((r) => r.keyId === result.principal.keyId);
            const ownerNow = await directory.lookup(result.principal.sub);
            expect(ownerNow?.status).toBe('active');
            const allowed = permissionsForGroups(ownerNow!.groups);
            for (const permission of result.principal.permissions) {
              expect(allowed.has(permission)).toBe(true);
              expect(saved?.permissions).toContain(permission);
            }
          }
        }
      }),
      { numRuns: 200, seed: 20_261_204 },
    );
  });
});
