/**
 * Envelope encryption of message text (DESIGN.md section 8): AES-256-GCM from `node:crypto`
 * under data keys from a {@link DataKeyProvider} (KMS in AWS, a local file locally).
 *
 * - Every text gets a fresh random 12-byte IV; the additional data is the canonical
 *   encoding of the encryption context, so a ciphertext copied to another user or
 *   conversation fails authentication even before KMS would refuse its data key.
 * - Plaintext data keys are cached per context to spare a KMS call per message, bounded
 *   three ways: age (`maxKeyAgeMs`), texts sealed per key (`maxKeyUses`, which also keeps
 *   random IVs far below the 2^32 messages per key NIST SP 800-38D allows), and entries
 *   (`maxCachedKeys`, least recently used evicted first), so memory cannot grow with the
 *   number of conversations.
 * - Keys unwrapped for `open()` are cached the same way (age and entries), keyed by context
 *   and wrapped key together, so a cache hit never skips the context binding.
 * - A seal may reuse the conversation's current data key (`DataKeyReuse`) instead of
 *   generating one, but only a key this process unwrapped for the same context (so KMS has
 *   checked the binding) and only while its uses across requests stay under `maxKeyUses`.
 *   How long a conversation keeps its key is the caller's policy (lambda/chat/conversation-key.ts).
 * - Key buffers are zeroed when they leave a cache. JavaScript copies we do not own (the
 *   SDK's base64 response text) cannot be cleared; that is the "where practical".
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Clock, DataKeyReuse, EncryptionContext, SealedText, TextCipher } from '../chat/ports';
import { assertEncryptionContext, contextAad, type DataKeyProvider } from './data-keys';
import { DecryptionError } from './errors';

/** Options of {@link createEnvelopeCipher}. */
export interface EnvelopeCipherOptions {
  /** Generates and unwraps the data keys. */
  readonly keys: DataKeyProvider;
  /** Time source for key age. */
  readonly clock: Clock;
  /** Longest time a plaintext data key stays cached, in ms (at least 1000). */
  readonly maxKeyAgeMs: number;
  /** Most texts sealed with one data key before a new one is generated (1 to 2^32). */
  readonly maxKeyUses: number;
  /** Most keys held by each of the seal and open caches (LRU). @default 256 */
  readonly maxCachedKeys?: number;
}

/** The envelope cipher, with its cache visible for metrics and tests. */
export interface EnvelopeCipher extends TextCipher {
  /** Plaintext data keys held right now, per cache. */
  cachedKeys(): { readonly seal: number; readonly open: number };
  /** Zeroes and drops every cached key (e.g. after an erasure, or before shutdown). */
  clear(): void;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD_DOMAIN = 'omnichat/text/v1';
const DEFAULT_MAX_CACHED_KEYS = 256;

/** A plaintext data key in a cache. `retired` keys are zeroed and must not be used. */
interface CachedKey {
  readonly key: Buffer;
  /** The wrapped key, base64, as stored in `SealedText.k`. */
  readonly wrapped: string;
  createdAt: number;
  uses: number;
  retired: boolean;
  /** Open cache only: this key was taken for sealing once, so its uses are counted there. */
  adopted?: boolean;
}

/**
 * A bounded LRU of keys with single-flight loading: concurrent misses for one id share one
 * provider call. Eviction zeroes the key. Callers use a key synchronously right after
 * getting it and re-check `retired`, because another call may have evicted it while they
 * were waiting for the load.
 */
class KeyCache {
  readonly #entries = new Map<string, CachedKey>();
  readonly #pending = new Map<string, Promise<CachedKey>>();
  #generation = 0;

  constructor(
    private readonly capacity: number,
    private readonly isFresh: (entry: CachedKey) => boolean,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The cached key of `id`, loading it (once for all concurrent callers) when absent or stale. */
  obtain(
    id: string,
    load: () => Promise<Omit<CachedKey, 'createdAt'>>,
    now: () => number,
  ): Promise<CachedKey> {
    const entry = this.#entries.get(id);
    if (entry !== undefined) {
      if (this.isFresh(entry)) {
        this.#touch(id, entry);
        return Promise.resolve(entry);
      }
      this.#retire(id, entry);
    }
    const inFlight = this.#pending.get(id);
    if (inFlight !== undefined) return inFlight;
    const generation = this.#generation;
    // Deferred by one tick so the pending map holds the promise before `load` can settle.
    const loading = Promise.resolve()
      .then(load)
      .then(
        (loaded) => {
          this.#pending.delete(id);
          // Age counts from arrival, so a slow provider call does not eat into it.
          const fresh: CachedKey = { ...loaded, createdAt: now() };
          if (generation === this.#generation) this.put(id, fresh);
          else this.#zero(fresh);
          return fresh;
        },
        (error: unknown) => {
          this.#pending.delete(id);
          throw error;
        },
      );
    this.#pending.set(id, loading);
    return loading;
  }

  /** The entry cached under `id`, without loading or touching it. */
  peek(id: string): CachedKey | undefined {
    return this.#entries.get(id);
  }

  /** Inserts as most recently used, evicting the least recently used beyond capacity. */
  put(id: string, entry: CachedKey): void {
    const previous = this.#entries.get(id);
    if (previous !== undefined && previous !== entry) this.#retire(id, previous);
    this.#touch(id, entry);
    for (const [oldestId, oldest] of this.#entries) {
      if (this.#entries.size <= this.capacity) break;
      this.#retire(oldestId, oldest);
    }
  }

  /** Drops `entry` if it is still the one cached under `id`, and zeroes it. */
  retire(id: string, entry: CachedKey): void {
    this.#retire(id, entry);
  }

  /** Retires every entry that is no longer fresh, so keys do not outlive their age unused. */
  sweep(): void {
    for (const [id, entry] of this.#entries) if (!this.isFresh(entry)) this.#retire(id, entry);
  }

  clear(): void {
    // Loads in flight finish into a dead generation and are zeroed on arrival.
    this.#generation += 1;
    for (const [id, entry] of this.#entries) this.#retire(id, entry);
  }

  #touch(id: string, entry: CachedKey): void {
    this.#entries.delete(id);
    this.#entries.set(id, entry);
  }

  #retire(id: string, entry: CachedKey): void {
    if (this.#entries.get(id) === entry) this.#entries.delete(id);
    this.#zero(entry);
  }

  #zero(entry: CachedKey): void {
    entry.retired = true;
    entry.key.fill(0);
  }
}

function positiveInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`createEnvelopeCipher: ${name} must be an integer from ${min} to ${max}, got ${value}.`);
  }
  return value;
}

/** Cache id of a context: the canonical AAD bytes, so distinct contexts never share an id. */
function contextId(context: EncryptionContext): string {
  return contextAad(AAD_DOMAIN, context).toString('base64');
}

/** Strict base64: the value must be exactly what re-encoding its bytes gives back. */
function decodeField(sealed: Record<string, unknown>, field: string, exactBytes?: number): Buffer {
  const value = sealed[field];
  if (typeof value !== 'string') throw new DecryptionError(new Error(`Sealed field "${field}" is missing.`));
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value || (exactBytes !== undefined && bytes.length !== exactBytes)) {
    throw new DecryptionError(new Error(`Sealed field "${field}" is malformed.`));
  }
  return bytes;
}

/** Builds the envelope cipher over `keys`, with bounded data-key caches. */
export function createEnvelopeCipher(options: EnvelopeCipherOptions): EnvelopeCipher {
  const { keys, clock } = options;
  // A floor of one second keeps a freshly loaded key usable by the calls waiting for it.
  const maxKeyAgeMs = positiveInteger('maxKeyAgeMs', options.maxKeyAgeMs, 1000, 24 * 3600 * 1000);
  const maxKeyUses = positiveInteger('maxKeyUses', options.maxKeyUses, 1, 2 ** 32);
  const capacity = positiveInteger(
    'maxCachedKeys',
    options.maxCachedKeys ?? DEFAULT_MAX_CACHED_KEYS,
    1,
    100_000,
  );
  const young = (entry: CachedKey): boolean => clock.now() - entry.createdAt < maxKeyAgeMs;
  const sealFresh = (e: CachedKey): boolean => !e.retired && e.uses < maxKeyUses && young(e);
  const openFresh = (e: CachedKey): boolean => !e.retired && young(e);
  const sealKeys = new KeyCache(capacity, sealFresh);
  const openKeys = new KeyCache(capacity, openFresh);
  const now = () => clock.now();

  /**
   * Makes the reused key the one `seal()` takes for this context, if this process unwrapped it
   * for the same context (the open cache's id is context and wrapped key together) and it has
   * uses left. Otherwise changes nothing, and the seal generates or takes a cached key as usual.
   * A key is adopted once per unwrap: after its seal entry is used up or dropped, the same
   * `priorUses` must not buy it another round of uses.
   */
  const adopt = (id: string, reuse: DataKeyReuse): void => {
    const { priorUses } = reuse;
    if (!Number.isInteger(priorUses) || priorUses < 0 || priorUses >= maxKeyUses) return;
    const wrapped = reuse.sealed.k;
    const current = sealKeys.peek(id);
    if (current !== undefined && current.wrapped === wrapped && sealFresh(current)) return;
    const opened = openKeys.peek(`${id}.${wrapped}`);
    if (opened === undefined || !openFresh(opened) || opened.adopted === true) return;
    opened.adopted = true;
    sealKeys.put(id, {
      key: Buffer.from(opened.key),
      wrapped,
      createdAt: now(),
      uses: priorUses,
      retired: false,
    });
  };

  const sweep = (): void => {
    sealKeys.sweep();
    openKeys.sweep();
  };

  return {
    async seal(plaintext, context, reuse) {
      assertEncryptionContext(context);
      if (typeof plaintext !== 'string') throw new TypeError('seal() takes a string.');
      sweep();
      const id = contextId(context);
      if (reuse !== undefined) adopt(id, reuse);
      const aad = contextAad(AAD_DOMAIN, context);
      // Loops only when a concurrent call used up or evicted the key while this one waited;
      // every round, the first waiter on a fresh key succeeds, so the loop always ends.
      for (;;) {
        const entry = await sealKeys.obtain(
          id,
          async () => {
            const generated = await keys.generate(context);
            const wrapped = Buffer.from(generated.wrapped).toString('base64');
            return { key: generated.plaintext, wrapped, uses: 0, retired: false };
          },
          now,
        );
        // From here to the return nothing awaits, so no other call can retire the key mid-use.
        if (entry.retired || entry.uses >= maxKeyUses) continue;
        entry.uses += 1;
        if (entry.uses === 1) {
          // The writer reads its own texts back soon (the history of this conversation): a
          // copy in the open cache saves that read a KMS Decrypt.
          openKeys.put(`${id}.${entry.wrapped}`, {
            key: Buffer.from(entry.key),
            wrapped: entry.wrapped,
            createdAt: entry.createdAt,
            uses: 0,
            retired: false,
          });
        }
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', entry.key, iv, { authTagLength: TAG_BYTES });
        cipher.setAAD(aad);
        const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
        const sealed: SealedText = {
          v: 1,
          k: entry.wrapped,
          iv: iv.toString('base64'),
          tag: cipher.getAuthTag().toString('base64'),
          ct: ct.toString('base64'),
        };
        if (entry.uses >= maxKeyUses) sealKeys.retire(id, entry);
        return sealed;
      }
    },

    async open(sealed, context) {
      assertEncryptionContext(context);
      if (typeof sealed !== 'object' || sealed === null || sealed.v !== 1) {
        throw new DecryptionError(new Error('Not a version 1 sealed text.'));
      }
      const fields = sealed as unknown as Record<string, unknown>;
      const wrapped = decodeField(fields, 'k');
      const iv = decodeField(fields, 'iv', IV_BYTES);
      // An exact tag length matters: GCM in node accepts truncated tags unless told otherwise.
      const tag = decodeField(fields, 'tag', TAG_BYTES);
      const ct = decodeField(fields, 'ct');
      sweep();
      const id = `${contextId(context)}.${sealed.k}`;
      for (;;) {
        const entry = await openKeys.obtain(
          id,
          async () => ({
            key: await keys.unwrap(wrapped, context),
            wrapped: sealed.k,
            uses: 0,
            retired: false,
          }),
          now,
        );
        if (entry.retired) continue;
        entry.uses += 1;
        const decipher = createDecipheriv('aes-256-gcm', entry.key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(contextAad(AAD_DOMAIN, context));
        decipher.setAuthTag(tag);
        try {
          const plain = Buffer.concat([decipher.update(ct), decipher.final()]);
          return new TextDecoder('utf-8', { fatal: true }).decode(plain);
        } catch (error) {
          throw new DecryptionError(error);
        }
      }
    },

    cachedKeys() {
      return { seal: sealKeys.size, open: openKeys.size };
    },

    clear() {
      sealKeys.clear();
      openKeys.clear();
    },
  };
}
