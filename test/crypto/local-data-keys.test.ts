import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptionContext } from '../../lambda/chat/ports';
import { createEnvelopeCipher } from '../../lambda/crypto/envelope-cipher';
import { DecryptionError } from '../../lambda/crypto/errors';
import { LocalDataKeys } from '../../lambda/crypto/local-data-keys';
import { manualClock } from './kms-fixture';

const ALICE: EncryptionContext = { user: 'alice', conversation: 'c-1' };

describe('local data keys (local mode only)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'omnichat-keys-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a missing master key file with mode 0600 in a 0700 directory, then reuses it', async () => {
    const path = join(dir, 'fresh', 'master.key');
    const first = await LocalDataKeys.fromFile(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'fresh'))).mode & 0o777).toBe(0o700);
    const bytes = await readFile(path);
    expect(bytes).toHaveLength(32);
    expect(bytes.equals(Buffer.alloc(32))).toBe(false);

    const generated = await first.generate(ALICE);
    const second = await LocalDataKeys.fromFile(path);
    expect(await readFile(path)).toEqual(bytes);
    expect((await second.unwrap(generated.wrapped, ALICE)).equals(generated.plaintext)).toBe(true);
  });

  it('creates exactly one key when several processes start at once', async () => {
    const path = join(dir, 'race', 'master.key');
    const providers = await Promise.all(Array.from({ length: 8 }, () => LocalDataKeys.fromFile(path)));
    const generated = await providers[0]!.generate(ALICE);
    for (const provider of providers) {
      expect((await provider.unwrap(generated.wrapped, ALICE)).equals(generated.plaintext)).toBe(true);
    }
  });

  it('refuses a key file that group or others can read', async () => {
    const path = join(dir, 'open.key');
    await writeFile(path, Buffer.alloc(32, 1));
    await chmod(path, 0o644);
    await expect(LocalDataKeys.fromFile(path)).rejects.toThrow(/chmod 600/);
  });

  it('refuses a key file of the wrong size', async () => {
    const path = join(dir, 'short.key');
    await writeFile(path, Buffer.alloc(16, 1), { mode: 0o600 });
    await expect(LocalDataKeys.fromFile(path)).rejects.toThrow(/32 bytes/);
  });

  it('unwraps only under the same context, the same master key and unaltered bytes', async () => {
    const keys = new LocalDataKeys(Buffer.alloc(32, 3));
    const { plaintext, wrapped } = await keys.generate(ALICE);
    expect(plaintext).toHaveLength(32);
    expect(wrapped).toHaveLength(61);
    expect((await keys.unwrap(wrapped, ALICE)).equals(plaintext)).toBe(true);

    await expect(keys.unwrap(wrapped, { ...ALICE, user: 'bob' })).rejects.toBeInstanceOf(DecryptionError);
    await expect(keys.unwrap(wrapped, { ...ALICE, conversation: 'c-2' })).rejects.toBeInstanceOf(
      DecryptionError,
    );
    await expect(new LocalDataKeys(Buffer.alloc(32, 4)).unwrap(wrapped, ALICE)).rejects.toBeInstanceOf(
      DecryptionError,
    );
    for (const index of [0, 1, 20, 60]) {
      const altered = Buffer.from(wrapped);
      altered[index] = (altered[index] ?? 0) ^ 0x80;
      await expect(keys.unwrap(altered, ALICE)).rejects.toBeInstanceOf(DecryptionError);
    }
    await expect(keys.unwrap(Buffer.from(wrapped).subarray(0, 60), ALICE)).rejects.toBeInstanceOf(
      DecryptionError,
    );
  });

  it('serves the envelope cipher: round trip, and moved texts fail', async () => {
    const keys = await LocalDataKeys.fromFile(join(dir, 'cipher', 'master.key'));
    const cipher = createEnvelopeCipher({ keys, clock: manualClock(), maxKeyAgeMs: 60_000, maxKeyUses: 100 });
    const sealed = await cipher.seal('local secret', ALICE);
    const restarted = createEnvelopeCipher({
      keys: await LocalDataKeys.fromFile(join(dir, 'cipher', 'master.key')),
      clock: manualClock(),
      maxKeyAgeMs: 60_000,
      maxKeyUses: 100,
    });
    expect(await restarted.open(sealed, ALICE)).toBe('local secret');
    await expect(restarted.open(sealed, { ...ALICE, user: 'bob' })).rejects.toBeInstanceOf(DecryptionError);
  });

  it('zeroes data keys when they leave the cache', async () => {
    const keys = new LocalDataKeys(Buffer.alloc(32, 5));
    const handedOut: Buffer[] = [];
    const recording = {
      generate: async (context: EncryptionContext) => {
        const generated = await keys.generate(context);
        handedOut.push(generated.plaintext);
        return generated;
      },
      unwrap: (wrapped: Uint8Array, context: EncryptionContext) => keys.unwrap(wrapped, context),
    };
    const clock = manualClock();
    const cipher = createEnvelopeCipher({ keys: recording, clock, maxKeyAgeMs: 5_000, maxKeyUses: 2 });
    const zero = Buffer.alloc(32);
    await cipher.seal('1', ALICE);
    expect(handedOut[0]!.equals(zero)).toBe(false);
    await cipher.seal('2', ALICE); // second and last use: retired at once
    expect(handedOut[0]!.equals(zero)).toBe(true);

    await cipher.seal('3', ALICE);
    expect(handedOut[1]!.equals(zero)).toBe(false);
    clock.advance(5_000);
    // Any call sweeps aged keys, even for another context.
    await cipher.seal('4', { ...ALICE, conversation: 'c-2' });
    expect(handedOut[1]!.equals(zero)).toBe(true);
    expect(cipher.cachedKeys()).toEqual({ seal: 1, open: 1 });

    cipher.clear();
    expect(handedOut[2]!.equals(zero)).toBe(true);
    expect(cipher.cachedKeys()).toEqual({ seal: 0, open: 0 });
  });

  it.each([
    [{ maxKeyAgeMs: 999, maxKeyUses: 1 }, /maxKeyAgeMs/],
    [{ maxKeyAgeMs: 60_000, maxKeyUses: 0 }, /maxKeyUses/],
    [{ maxKeyAgeMs: 60_000, maxKeyUses: 2 ** 32 + 1 }, /maxKeyUses/],
    [{ maxKeyAgeMs: 60_000, maxKeyUses: 1.5 }, /maxKeyUses/],
    [{ maxKeyAgeMs: 60_000, maxKeyUses: 1, maxCachedKeys: 0 }, /maxCachedKeys/],
  ])('refuses unsafe limits %o', (limits, message) => {
    const keys = new LocalDataKeys(Buffer.alloc(32, 1));
    expect(() => createEnvelopeCipher({ keys, clock: manualClock(), ...limits })).toThrow(message);
  });

  it.each([
    { user: '', conversation: 'c' },
    { user: 'u', conversation: '' },
  ])('refuses an incomplete context %o', async (context) => {
    const cipher = createEnvelopeCipher({
      keys: new LocalDataKeys(Buffer.alloc(32, 1)),
      clock: manualClock(),
      maxKeyAgeMs: 60_000,
      maxKeyUses: 10,
    });
    await expect(cipher.seal('x', context)).rejects.toThrow(/non-empty/);
  });
});
