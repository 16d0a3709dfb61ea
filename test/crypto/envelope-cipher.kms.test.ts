import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptionContext, SealedText } from '../../lambda/chat/ports';
import type { DataKeyProvider } from '../../lambda/crypto/data-keys';
import { createEnvelopeCipher } from '../../lambda/crypto/envelope-cipher';
import { DecryptionError } from '../../lambda/crypto/errors';
import { KmsDataKeys } from '../../lambda/crypto/kms-data-keys';
import { ServiceUnavailableError } from '../../lambda/shared/errors';
import { type MotoHandle, startMoto } from '../support/moto';
import { type CountingKms, countingKms, createDataKey, manualClock } from './kms-fixture';

const ALICE: EncryptionContext = { user: 'alice-sub', conversation: 'c-1' };
const GENERATE = 'GenerateDataKeyCommand';
const DECRYPT = 'DecryptCommand';

/** Flips one bit of a base64 field's bytes, keeping the field well-formed base64. */
function flipBit(value: string, byteIndex: number): string {
  const bytes = Buffer.from(value, 'base64');
  const index = byteIndex < 0 ? bytes.length + byteIndex : byteIndex;
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

describe('envelope cipher on KMS (moto)', () => {
  let moto: MotoHandle;
  let kms: CountingKms;
  let keyArn: string;

  beforeAll(async () => {
    moto = await startMoto();
    kms = countingKms(moto.endpoint);
    keyArn = await createDataKey(kms.client);
  });
  afterAll(async () => {
    kms?.client.destroy();
    await moto?.stop();
  });

  function cipherWith(limits: { maxKeyAgeMs?: number; maxKeyUses?: number; maxCachedKeys?: number } = {}) {
    const clock = manualClock();
    const keys = new KmsDataKeys({ client: kms.client, keyArn });
    const cipher = createEnvelopeCipher({
      keys,
      clock,
      maxKeyAgeMs: limits.maxKeyAgeMs ?? 300_000,
      maxKeyUses: limits.maxKeyUses ?? 1000,
      ...(limits.maxCachedKeys === undefined ? {} : { maxCachedKeys: limits.maxCachedKeys }),
    });
    kms.reset();
    return { cipher, clock, keys };
  }

  it('round-trips text, including the empty string and non-ASCII, with a fresh IV each time', async () => {
    const { cipher } = cipherWith();
    const texts = ['hello', '', 'Grüße, 世界 🙂', 'x'.repeat(20_000)];
    const sealed = await Promise.all(texts.map((text) => cipher.seal(text, ALICE)));
    // A second container (no cache) opens what the first sealed: KMS unwraps the key.
    const other = cipherWith().cipher;
    expect(await Promise.all(sealed.map((s) => other.open(s, ALICE)))).toEqual(texts);
    expect(new Set(sealed.map((s) => s.iv)).size).toBe(texts.length);
    expect(sealed.every((s) => s.v === 1 && Buffer.from(s.iv, 'base64').length === 12)).toBe(true);
    expect(sealed.every((s) => Buffer.from(s.tag, 'base64').length === 16)).toBe(true);
    expect(Buffer.from(sealed[2]!.ct, 'base64').toString('utf8')).not.toContain('Grüße');
  });

  it('binds the data key to the context in KMS: GenerateDataKey and Decrypt carry it', async () => {
    const { cipher } = cipherWith();
    const sealed = await cipher.seal('bound', ALICE);
    const keys = new KmsDataKeys({ client: kms.client, keyArn });
    const unwrapped = await keys.unwrap(Buffer.from(sealed.k, 'base64'), ALICE);
    expect(unwrapped).toHaveLength(32);
    await expect(
      keys.unwrap(Buffer.from(sealed.k, 'base64'), { ...ALICE, conversation: 'c-2' }),
    ).rejects.toBeInstanceOf(DecryptionError);
  });

  it.each<[string, EncryptionContext]>([
    ['another user', { user: 'mallory-sub', conversation: 'c-1' }],
    ['another conversation', { user: 'alice-sub', conversation: 'c-2' }],
    ['swapped members', { user: 'c-1', conversation: 'alice-sub' }],
  ])('refuses a ciphertext moved to %s, from a warm cache and from a cold one', async (_, wrong) => {
    const { cipher } = cipherWith();
    const sealed = await cipher.seal('private', ALICE);
    await expect(cipher.open(sealed, wrong)).rejects.toBeInstanceOf(DecryptionError);
    await expect(cipherWith().cipher.open(sealed, wrong)).rejects.toBeInstanceOf(DecryptionError);
    // The right owner still opens it: the failure was the context, not a broken text.
    expect(await cipher.open(sealed, ALICE)).toBe('private');
  });

  it.each<[keyof SealedText, number]>([
    ['ct', 0],
    ['ct', -1],
    ['tag', 0],
    ['tag', -1],
    ['iv', 0],
    ['iv', -1],
    ['k', -1],
  ])('refuses a text whose %s was altered (byte %i) with DecryptionError', async (field, byte) => {
    const { cipher } = cipherWith();
    const sealed = await cipher.seal('integrity matters', ALICE);
    const altered = { ...sealed, [field]: flipBit(sealed[field] as string, byte) } as SealedText;
    await expect(cipher.open(altered, ALICE)).rejects.toBeInstanceOf(DecryptionError);
    await expect(cipherWith().cipher.open(altered, ALICE)).rejects.toBeInstanceOf(DecryptionError);
  });

  it.each<[string, (s: SealedText) => unknown]>([
    [
      'a truncated tag (8 bytes)',
      (s) => ({ ...s, tag: Buffer.from(s.tag, 'base64').subarray(0, 8).toString('base64') }),
    ],
    ['a short IV', (s) => ({ ...s, iv: Buffer.from(s.iv, 'base64').subarray(0, 8).toString('base64') })],
    ['another version', (s) => ({ ...s, v: 2 })],
    ['non-canonical base64', (s) => ({ ...s, ct: `${s.ct}!` })],
    ['a missing field', (s) => ({ v: 1, k: s.k, iv: s.iv, ct: s.ct })],
    ['an empty wrapped key', (s) => ({ ...s, k: '' })],
    [
      'ciphertext truncated by one byte',
      (s) => ({ ...s, ct: Buffer.from(s.ct, 'base64').subarray(1).toString('base64') }),
    ],
    ['not an object', () => 'sealed'],
  ])('refuses %s with DecryptionError', async (_, mutate) => {
    const { cipher } = cipherWith();
    const sealed = await cipher.seal('shape matters', ALICE);
    await expect(cipher.open(mutate(sealed) as SealedText, ALICE)).rejects.toBeInstanceOf(DecryptionError);
  });

  it('maps the error to a non-revealing 500 without Retry-After', async () => {
    const { cipher } = cipherWith();
    const sealed = await cipher.seal('x', ALICE);
    const error = await cipher.open(sealed, { ...ALICE, user: 'bob' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecryptionError);
    expect(error).toMatchObject({ status: 500, code: 'internal_error', isClientError: false, headers: {} });
    expect((error as Error).message).not.toMatch(/bob|alice|c-1|context/i);
  });

  it('binds the text to its context with AAD even if a provider ignored the context', async () => {
    // A provider that hands out one key for every context: only the AAD can tell them apart.
    const shared = Buffer.alloc(32, 7);
    const contextBlind: DataKeyProvider = {
      generate: async () => ({ plaintext: Buffer.from(shared), wrapped: Buffer.from('blind') }),
      unwrap: async () => Buffer.from(shared),
    };
    const cipher = createEnvelopeCipher({
      keys: contextBlind,
      clock: manualClock(),
      maxKeyAgeMs: 60_000,
      maxKeyUses: 10,
    });
    const sealed = await cipher.seal('moved', ALICE);
    expect(await cipher.open(sealed, ALICE)).toBe('moved');
    await expect(cipher.open(sealed, { user: 'alice-sub', conversation: 'c-9' })).rejects.toBeInstanceOf(
      DecryptionError,
    );
  });

  it('generates a new data key after maxKeyUses texts', async () => {
    const { cipher } = cipherWith({ maxKeyUses: 3 });
    const sealed: SealedText[] = [];
    for (let i = 0; i < 7; i += 1) sealed.push(await cipher.seal(`m${i}`, ALICE));
    expect(kms.count(GENERATE)).toBe(3);
    const wrappedKeys = sealed.map((s) => s.k);
    expect(new Set(wrappedKeys.slice(0, 3)).size).toBe(1);
    expect(new Set(wrappedKeys).size).toBe(3);
    expect(wrappedKeys[3]).not.toBe(wrappedKeys[2]);
  });

  it('generates a new data key once the cached one reaches maxKeyAgeMs', async () => {
    const { cipher, clock } = cipherWith({ maxKeyAgeMs: 60_000 });
    const first = await cipher.seal('a', ALICE);
    clock.advance(59_999);
    const second = await cipher.seal('b', ALICE);
    expect(kms.count(GENERATE)).toBe(1);
    expect(second.k).toBe(first.k);
    clock.advance(1);
    const third = await cipher.seal('c', ALICE);
    expect(kms.count(GENERATE)).toBe(2);
    expect(third.k).not.toBe(first.k);
  });

  it('shares one GenerateDataKey among concurrent seals and still honours maxKeyUses', async () => {
    const { cipher } = cipherWith({ maxKeyUses: 5 });
    const sealed = await Promise.all(Array.from({ length: 20 }, (_, i) => cipher.seal(`m${i}`, ALICE)));
    expect(kms.count(GENERATE)).toBe(4);
    const perKey = new Map<string, number>();
    for (const s of sealed) perKey.set(s.k, (perKey.get(s.k) ?? 0) + 1);
    expect([...perKey.values()]).toEqual([5, 5, 5, 5]);
    const reader = cipherWith().cipher;
    expect(await Promise.all(sealed.map((s) => reader.open(s, ALICE)))).toEqual(
      sealed.map((_, i) => `m${i}`),
    );
  });

  it("reuses a conversation's key it has just opened: no GenerateDataKey, one Decrypt for every turn under it", async () => {
    const writer = cipherWith().cipher;
    const first = await Promise.all(['q1', 'a1', 't1'].map((t) => writer.seal(t, ALICE)));
    // The next request, in another instance: reads the turn back, seals the next one under its key.
    const { cipher: next } = cipherWith();
    expect(await next.open(first[0]!, ALICE)).toBe('q1');
    const reuse = { sealed: first[0]!, priorUses: 3 };
    const second = await Promise.all(['q2', 'a2', 't2'].map((t) => next.seal(t, ALICE, reuse)));
    expect(kms.count(GENERATE)).toBe(0);
    expect(kms.count(DECRYPT)).toBe(1);
    expect(new Set(second.map((s) => s.k))).toEqual(new Set([first[0]!.k]));
    const { cipher: reader } = cipherWith();
    expect(await Promise.all([...first, ...second].map((s) => reader.open(s, ALICE)))).toEqual([
      'q1',
      'a1',
      't1',
      'q2',
      'a2',
      't2',
    ]);
    expect(kms.count(DECRYPT)).toBe(1);
  });

  it('never reuses a key it has not unwrapped for that very context', async () => {
    const alices = await cipherWith().cipher.seal('secret', ALICE);
    const { cipher } = cipherWith();
    const unopened = await cipher.seal('x', ALICE, { sealed: alices, priorUses: 1 });
    expect(unopened.k).not.toBe(alices.k);
    expect(kms.count(GENERATE)).toBe(1);
    expect(await cipher.open(alices, ALICE)).toBe('secret');
    const otherConversation = { user: 'alice-sub', conversation: 'c-2' };
    const offered = await cipher.seal('y', otherConversation, { sealed: alices, priorUses: 1 });
    expect(offered.k).not.toBe(alices.k);
    expect(kms.count(GENERATE)).toBe(2);
    await expect(cipher.open(offered, otherConversation)).resolves.toBe('y');
  });

  it("counts a reused key's earlier uses toward maxKeyUses, and adopts it once per unwrap", async () => {
    const first = await cipherWith().cipher.seal('q1', ALICE);
    const { cipher } = cipherWith({ maxKeyUses: 5 });
    await cipher.open(first, ALICE);
    const reuse = { sealed: first, priorUses: 3 };
    const sealed: SealedText[] = [];
    for (let i = 0; i < 3; i += 1) sealed.push(await cipher.seal(`m${i}`, ALICE, reuse));
    // Three earlier uses and two here make five: the third seal needs a new key.
    expect(sealed.map((s) => s.k === first.k)).toEqual([true, true, false]);
    expect(kms.count(GENERATE)).toBe(1);
    const { cipher: other } = cipherWith({ maxKeyUses: 5 });
    await other.open(first, ALICE);
    expect((await other.seal('z', ALICE, { sealed: first, priorUses: 5 })).k).not.toBe(first.k);
  });

  it('caches unwrapped keys for open(): one Decrypt per data key until it ages out', async () => {
    const writer = cipherWith().cipher;
    const sealed = await Promise.all(['a', 'b', 'c', 'd'].map((t) => writer.seal(t, ALICE)));
    const { cipher: reader, clock } = cipherWith({ maxKeyAgeMs: 10_000 });
    expect(await Promise.all(sealed.map((s) => reader.open(s, ALICE)))).toEqual(['a', 'b', 'c', 'd']);
    expect(kms.count(DECRYPT)).toBe(1);
    clock.advance(10_000);
    expect(await reader.open(sealed[0]!, ALICE)).toBe('a');
    expect(kms.count(DECRYPT)).toBe(2);
  });

  it('opens its own texts without a Decrypt call (the sealing key seeds the open cache)', async () => {
    const { cipher } = cipherWith();
    const sealed = await cipher.seal('mine', ALICE);
    expect(await cipher.open(sealed, ALICE)).toBe('mine');
    expect(kms.count(DECRYPT)).toBe(0);
  });

  it('keeps at most maxCachedKeys keys, evicting the least recently used context', async () => {
    const { cipher } = cipherWith({ maxCachedKeys: 2 });
    const ctx = (conversation: string): EncryptionContext => ({ user: 'alice-sub', conversation });
    await cipher.seal('1', ctx('a'));
    await cipher.seal('2', ctx('b'));
    await cipher.seal('3', ctx('a')); // touches a: b is now the least recently used
    await cipher.seal('4', ctx('c')); // evicts b
    expect(kms.count(GENERATE)).toBe(3);
    await cipher.seal('5', ctx('a'));
    await cipher.seal('6', ctx('c'));
    expect(kms.count(GENERATE)).toBe(3);
    await cipher.seal('7', ctx('b'));
    expect(kms.count(GENERATE)).toBe(4);
    expect(cipher.cachedKeys().seal).toBe(2);
  });

  it('does not grow with the number of conversations', async () => {
    const { cipher } = cipherWith({ maxCachedKeys: 8 });
    const sealed = await Promise.all(
      Array.from({ length: 100 }, (_, i) => cipher.seal(`t${i}`, { user: 'u', conversation: `c${i}` })),
    );
    expect(cipher.cachedKeys()).toEqual({ seal: 8, open: 8 });
    expect(await cipher.open(sealed[0]!, { user: 'u', conversation: 'c0' })).toBe('t0');
    expect(cipher.cachedKeys().open).toBe(8);
  });

  it('maps KMS being unreachable to ServiceUnavailableError (503), never DecryptionError', async () => {
    const { cipher } = cipherWith();
    const sealed = await cipher.seal('x', ALICE);
    const offline = countingKms('http://127.0.0.1:9'); // discard port: nothing listens
    const keys = new KmsDataKeys({ client: offline.client, keyArn });
    const stranded = createEnvelopeCipher({
      keys,
      clock: manualClock(),
      maxKeyAgeMs: 60_000,
      maxKeyUses: 10,
    });
    await expect(stranded.seal('x', ALICE)).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(stranded.open(sealed, ALICE)).rejects.toBeInstanceOf(ServiceUnavailableError);
    offline.client.destroy();
  });

  it('does not cache a failed GenerateDataKey: the next seal asks KMS again', async () => {
    const kmsKeys = new KmsDataKeys({ client: kms.client, keyArn });
    let failures = 1;
    const flaky: DataKeyProvider = {
      generate: async (context) => {
        if (failures-- > 0) throw new ServiceUnavailableError();
        return kmsKeys.generate(context);
      },
      unwrap: (wrapped, context) => kmsKeys.unwrap(wrapped, context),
    };
    const cipher = createEnvelopeCipher({
      keys: flaky,
      clock: manualClock(),
      maxKeyAgeMs: 60_000,
      maxKeyUses: 10,
    });
    kms.reset();
    await expect(Promise.all([cipher.seal('a', ALICE), cipher.seal('b', ALICE)])).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
    const sealed = await cipher.seal('c', ALICE);
    expect(kms.count(GENERATE)).toBe(1);
    expect(failures).toBe(-1);
    expect(await cipherWith().cipher.open(sealed, ALICE)).toBe('c');
  });

  it('maps a KMS error on a missing key to ServiceUnavailableError, keeping the cause', async () => {
    const missing = keyArn.replace(/key\/.*$/, 'key/00000000-0000-0000-0000-000000000000');
    const keys = new KmsDataKeys({ client: kms.client, keyArn: missing });
    const error = await keys.generate(ALICE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as ServiceUnavailableError).headers['Retry-After']).toBe('2');
    expect(((error as Error).cause as Error).name).toBe('NotFoundException');
  });

  it('refuses an alias or a bare key id, pinning the key by ARN', () => {
    expect(() => new KmsDataKeys({ client: kms.client, keyArn: 'alias/omnichat-data' })).toThrow(/ARN/);
    expect(
      () => new KmsDataKeys({ client: kms.client, keyArn: '1234abcd-12ab-34cd-56ef-1234567890ab' }),
    ).toThrow(/ARN/);
  });
});
