/**
 * Sign-in throttling of local mode, per account and per client address, with exponential
 * back-off: after `freeFailures` wrong passwords in a row, each further failure locks the key
 * for `baseDelayMs * 2^(failures - freeFailures)`, capped at `maxDelayMs`. While locked, an
 * attempt is answered 429 without checking the password (no guessing, no scrypt cost). A
 * success clears the account's failures, not the address's (one owned account must not let an
 * address keep guessing others). Entries expire after `forgetAfterMs` without failures, and
 * each map is bounded (oldest entries go first), so an address flood cannot exhaust memory.
 * In AWS, Cognito's threat protection and the WAF rate rules on the managed login play this part.
 */

/** Throttle settings. */
export interface SignInThrottleOptions {
  /** Failures in a row allowed per account before back-off starts. @default 5 */
  readonly accountFreeFailures?: number;
  /** Failures allowed per client address before back-off starts. @default 20 */
  readonly addressFreeFailures?: number;
  /** First lock. @default 1000 */
  readonly baseDelayMs?: number;
  /** Longest lock. @default 900000 (15 min) */
  readonly maxDelayMs?: number;
  /** Failures are forgotten after this long without one. @default 3600000 */
  readonly forgetAfterMs?: number;
  /** Largest number of tracked accounts and of tracked addresses. @default 10000 */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailureAt: number;
}

/** Why an attempt may not proceed. */
export interface Refusal {
  readonly scope: 'account' | 'address';
  readonly retryAfterSeconds: number;
}

/** Per-account and per-address failure counters with exponential back-off. */
export class SignInThrottle {
  private readonly accounts = new Map<string, Entry>();
  private readonly addresses = new Map<string, Entry>();
  private readonly options: Required<Omit<SignInThrottleOptions, 'now'>> & { now: () => number };

  constructor(options: SignInThrottleOptions = {}) {
    this.options = {
      accountFreeFailures: options.accountFreeFailures ?? 5,
      addressFreeFailures: options.addressFreeFailures ?? 20,
      baseDelayMs: options.baseDelayMs ?? 1000,
      maxDelayMs: options.maxDelayMs ?? 900_000,
      forgetAfterMs: options.forgetAfterMs ?? 3_600_000,
      maxEntries: options.maxEntries ?? 10_000,
      now: options.now ?? Date.now,
    };
  }

  /** `undefined` when the attempt may go ahead; else which lock holds and for how long. */
  check(account: string, address: string): Refusal | undefined {
    const now = this.options.now();
    for (const [scope, map, key] of [
      ['account', this.accounts, account],
      ['address', this.addresses, address],
    ] as const) {
      const entry = this.live(map, key, now);
      if (entry && entry.lockedUntil > now) {
        return { scope, retryAfterSeconds: Math.ceil((entry.lockedUntil - now) / 1000) };
      }
    }
    return undefined;
  }

  /** Records a wrong password; returns the lock it started, if this failure started one. */
  failure(account: string, address: string): Refusal | undefined {
    const now = this.options.now();
    const accountLock = this.bump(this.accounts, account, this.options.accountFreeFailures, now);
    const addressLock = this.bump(this.addresses, address, this.options.addressFreeFailures, now);
    if (accountLock !== undefined)
      return { scope: 'account', retryAfterSeconds: Math.ceil(accountLock / 1000) };
    if (addressLock !== undefined)
      return { scope: 'address', retryAfterSeconds: Math.ceil(addressLock / 1000) };
    return undefined;
  }

  /** Records a successful sign-in: the account starts afresh. */
  success(account: string): void {
    this.accounts.delete(account);
  }

  /** Tracked entries (for the bound test). */
  get size(): { accounts: number; addresses: number } {
    return { accounts: this.accounts.size, addresses: this.addresses.size };
  }

  private live(map: Map<string, Entry>, key: string, now: number): Entry | undefined {
    const entry = map.get(key);
    if (entry && now - entry.lastFailureAt > this.options.forgetAfterMs && entry.lockedUntil <= now) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  private bump(map: Map<string, Entry>, key: string, free: number, now: number): number | undefined {
    const entry = this.live(map, key, now) ?? { failures: 0, lockedUntil: 0, lastFailureAt: now };
    entry.failures += 1;
    entry.lastFailureAt = now;
    map.delete(key);
    if (map.size >= this.options.maxEntries) map.delete(map.keys().next().value as string);
    map.set(key, entry);
    if (entry.failures <= free) return undefined;
    const delay = Math.min(
      this.options.baseDelayMs * 2 ** (entry.failures - free - 1),
      this.options.maxDelayMs,
    );
    entry.lockedUntil = now + delay;
    return delay;
  }
}
