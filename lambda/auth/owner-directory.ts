/**
 * The one source of truth for what a user may do NOW: their current groups, whether the
 * account is active, and `validAfter`, the time before which none of their tokens or
 * sessions count any more. Every credential (session, bearer token, API key) is judged on
 * this record, read through a short cache, so a demotion, a disable or an erasure reaches
 * every credential within the cache time (the revocation bound, README "Permissions").
 *
 * Writers keep it true: the Cognito pre-token-generation trigger (every sign-in and refresh),
 * the operator scripts, the directory-sync function (Cognito admin events from CloudTrail via
 * EventBridge), erasure, and in local mode the users-file watcher.
 */

/** Account state; anything but `active` refuses every credential of the user. */
export const OWNER_STATUSES = ['active', 'disabled', 'deleted', 'erased'] as const;
export type OwnerStatus = (typeof OWNER_STATUSES)[number];

/** What the directory holds about one user. */
export interface OwnerRecord {
  readonly groups: readonly string[];
  readonly status: OwnerStatus;
  /** Epoch seconds: tokens and sessions issued (`iat`) before it are refused. 0 = none. */
  readonly validAfter: number;
}

/** A change to one user's record; omitted fields keep their value. */
export interface OwnerChange {
  readonly groups?: readonly string[];
  readonly status?: OwnerStatus;
  /**
   * Revoke every token issued before this time (epoch seconds). `validAfter` only ever moves
   * forward: an older value is ignored.
   */
  readonly revokeBefore?: number;
  readonly at: Date;
}

/** Read port of the directory. */
export interface OwnerDirectory {
  /** The user's record; `null` for a subject the directory does not know (refused). */
  lookup(sub: string): Promise<OwnerRecord | null>;
}

/** Write port of the directory. */
export interface OwnerDirectoryWriter extends OwnerDirectory {
  /** Applies a change (creating the record when missing). */
  record(sub: string, change: OwnerChange): Promise<void>;
}

/** Options of a read that must not be older than something (a token issued after a cached read). */
export interface LookupOptions {
  /** Epoch milliseconds: a cached answer fetched before this is fetched again. */
  readonly freshAfterMs?: number;
}

/** A directory read through a cache. */
export interface CachedOwnerDirectory extends OwnerDirectory {
  lookup(sub: string, options?: LookupOptions): Promise<OwnerRecord | null>;
}

/** Longest cache time allowed: the revocation bound promised in the README. */
export const MAX_OWNER_CACHE_SECONDS = 60;
/** Default cache time (`OWNER_CACHE_SECONDS`): what the stacks set, and local mode when it is unset. */
export const DEFAULT_OWNER_CACHE_SECONDS = 30;

/**
 * Wraps a directory with a per-user cache of at most `ttlMs` (positive and negative answers).
 * A token issued after the cached read (`freshAfterMs`) reads again: the sign-in that issued
 * it has just written the directory, so a promotion or a new user is seen at once.
 */
export function cachedOwnerDirectory(
  inner: OwnerDirectory,
  options: { ttlMs: number; maxEntries?: number; now?: () => number },
): CachedOwnerDirectory {
  if (options.ttlMs < 0 || options.ttlMs > MAX_OWNER_CACHE_SECONDS * 1000) {
    throw new Error(`Owner directory cache: ttlMs must be 0..${MAX_OWNER_CACHE_SECONDS * 1000}`);
  }
  const maxEntries = options.maxEntries ?? 1000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { record: OwnerRecord | null; fetchedAt: number }>();
  return {
    async lookup(sub, lookupOptions = {}) {
      const hit = cache.get(sub);
      const at = now();
      if (
        hit &&
        at - hit.fetchedAt < options.ttlMs &&
        hit.fetchedAt >= (lookupOptions.freshAfterMs ?? Number.NEGATIVE_INFINITY)
      ) {
        return hit.record;
      }
      const record = await inner.lookup(sub);
      cache.delete(sub);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
      cache.set(sub, { record, fetchedAt: at });
      return record;
    },
  };
}

/** Whether `next` grants less than `previous` (a group lost, or the account no longer active). */
export function losesRights(
  previous: OwnerRecord | null,
  next: { groups: readonly string[]; status: OwnerStatus },
) {
  if (next.status !== 'active') return true;
  if (previous === null) return false;
  return previous.groups.some((group) => !next.groups.includes(group));
}

/**
 * Records the user's current groups and status, and revokes their earlier tokens when they
 * lost anything (demotion, disable, deletion, erasure): what every writer calls.
 */
export async function syncOwner(
  directory: OwnerDirectoryWriter,
  sub: string,
  next: {
    groups: readonly string[];
    status: OwnerStatus;
    revokeTokens?: boolean;
    /**
     * Set by the pre-token-generation trigger: a token is being issued right now, after this
     * write, and must not be caught by the revocation (its `iat` is this second).
     */
    issuingToken?: boolean;
  },
  at: Date = new Date(),
): Promise<{ revoked: boolean }> {
  const previous = await directory.lookup(sub);
  const revoked = next.revokeTokens === true || losesRights(previous, next);
  // `iat` has whole seconds: rounding up also refuses a token issued earlier in the same
  // second (a sign-in racing the revocation just signs in again a second later).
  const seconds = at.getTime() / 1000;
  const revokeBefore = next.issuingToken === true ? Math.floor(seconds) : Math.ceil(seconds);
  await directory.record(sub, {
    groups: next.groups,
    status: next.status,
    at,
    ...(revoked ? { revokeBefore } : {}),
  });
  return { revoked };
}

/** Directory in memory (unit tests, the property test). */
export class InMemoryOwnerDirectory implements OwnerDirectoryWriter {
  readonly records = new Map<string, OwnerRecord>();

  /** Shorthand: an active user with these groups (`null` removes the user). */
  set(sub: string, groups: readonly string[] | null): void {
    if (groups === null) this.records.delete(sub);
    else
      this.records.set(sub, { groups, status: 'active', validAfter: this.records.get(sub)?.validAfter ?? 0 });
  }

  async lookup(sub: string): Promise<OwnerRecord | null> {
    return this.records.get(sub) ?? null;
  }

  async record(sub: string, change: OwnerChange): Promise<void> {
    const previous = this.records.get(sub) ?? { groups: [], status: 'active' as const, validAfter: 0 };
    this.records.set(sub, {
      groups: change.groups ?? previous.groups,
      status: change.status ?? previous.status,
      validAfter: Math.max(previous.validAfter, change.revokeBefore ?? 0),
    });
  }
}
