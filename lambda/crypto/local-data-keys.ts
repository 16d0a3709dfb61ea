/**
 * Data keys for LOCAL MODE ONLY (`npm run local`): a 32-byte master key in a file on this
 * machine wraps random data keys with AES-256-GCM, the encryption context as additional
 * data. It mirrors what KMS does so the same envelope cipher runs locally, but a key in a
 * file has none of KMS's protections (no HSM, no key policy, no CloudTrail, no rotation):
 * never use it with real user data or in AWS.
 *
 * Wrapped form: version byte 0x01 | 12-byte IV | 16-byte tag | 32-byte encrypted key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { EncryptionContext } from '../chat/ports';
import {
  assertEncryptionContext,
  contextAad,
  DATA_KEY_BYTES,
  type DataKeyProvider,
  type GeneratedDataKey,
} from './data-keys';
import { DecryptionError } from './errors';

const VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = 1 + IV_BYTES + TAG_BYTES + DATA_KEY_BYTES;
const AAD_DOMAIN = 'omnichat/local-data-key/v1';

/** {@link DataKeyProvider} over a local master key. Local mode only. */
export class LocalDataKeys implements DataKeyProvider {
  readonly #master: Buffer;

  /** Wraps with `masterKey` (32 bytes, copied). */
  constructor(masterKey: Uint8Array) {
    if (masterKey.length !== DATA_KEY_BYTES) throw new Error('The local master key must be 32 bytes.');
    this.#master = Buffer.from(masterKey);
  }

  /**
   * Loads the master key from `path`, creating it (mode 0600, directory 0700) when missing.
   * Refuses a file that group or others may read, as ssh does with private keys.
   */
  static async fromFile(path: string): Promise<LocalDataKeys> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await createOnce(path);
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new Error(`The local master key ${path} is accessible to group or others; run chmod 600 on it.`);
    }
    const key = await readFile(path);
    if (key.length !== DATA_KEY_BYTES) {
      throw new Error(`The local master key ${path} must hold exactly ${DATA_KEY_BYTES} bytes.`);
    }
    const provider = new LocalDataKeys(key);
    key.fill(0);
    return provider;
  }

  async generate(context: EncryptionContext): Promise<GeneratedDataKey> {
    assertEncryptionContext(context);
    const plaintext = randomBytes(DATA_KEY_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#master, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(contextAad(AAD_DOMAIN, context));
    const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const wrapped = Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), encrypted]);
    return { plaintext, wrapped };
  }

  async unwrap(wrapped: Uint8Array, context: EncryptionContext): Promise<Buffer> {
    assertEncryptionContext(context);
    const blob = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.length);
    if (blob.length !== WRAPPED_BYTES || blob[0] !== VERSION) {
      throw new DecryptionError(new Error('Not a local wrapped data key.'));
    }
    const iv = blob.subarray(1, 1 + IV_BYTES);
    const tag = blob.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.#master, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(contextAad(AAD_DOMAIN, context));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(blob.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new DecryptionError(error);
    }
  }
}

/**
 * Creates the key file atomically if it does not exist: the key is written to a private
 * temporary file and hard-linked into place, so a concurrent starter never reads a
 * half-written key, and `link` fails instead of overwriting an existing one.
 */
async function createOnce(path: string): Promise<void> {
  try {
    await stat(path);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const key = randomBytes(DATA_KEY_BYTES);
  const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    // The umask can only clear bits of 0600, but be explicit rather than rely on it.
    await handle.chmod(0o600);
    await handle.writeFile(key);
    await handle.sync();
  } finally {
    key.fill(0);
    await handle.close();
  }
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temporary);
  }
}
