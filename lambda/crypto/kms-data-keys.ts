/**
 * Data keys from AWS KMS (aws and hybrid mode): GenerateDataKey (AES_256) and Decrypt under
 * the data CMK, both with the encryption context `{ user, conversation }`, so KMS itself
 * refuses to unwrap a data key for any other owner. Decrypt names the CMK (`KeyId`): a
 * blob wrapped under some other key is refused instead of being decrypted with it.
 */
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { EncryptionContext } from '../chat/ports';
import { ServiceUnavailableError } from '../shared/errors';
import {
  assertEncryptionContext,
  DATA_KEY_BYTES,
  type DataKeyProvider,
  type GeneratedDataKey,
  kmsEncryptionContext,
} from './data-keys';
import { DecryptionError } from './errors';

/** Options of {@link KmsDataKeys}. */
export interface KmsDataKeysOptions {
  readonly client: KMSClient;
  /** ARN of the data CMK (an alias is refused: the key is pinned, not looked up). */
  readonly keyArn: string;
}

/** KMS errors that mean "this blob does not open under this key and context". */
const CIPHERTEXT_ERRORS = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/** Largest CiphertextBlob KMS accepts; anything longer is not ours. */
const MAX_BLOB_BYTES = 6144;

const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

function unavailable(cause: unknown): ServiceUnavailableError {
  // Throttling, KMS outages, a disabled key or a broken grant: none is the caller's fault,
  // and the message stays generic because 5xx messages never reach the caller anyway.
  return new ServiceUnavailableError(undefined, 2, cause);
}

/** {@link DataKeyProvider} backed by a KMS customer managed key. */
export class KmsDataKeys implements DataKeyProvider {
  readonly #client: KMSClient;
  readonly #keyArn: string;

  constructor(options: KmsDataKeysOptions) {
    if (!KEY_ARN.test(options.keyArn)) {
      throw new Error(`KmsDataKeys needs the ARN of a KMS key, got "${options.keyArn}".`);
    }
    this.#client = options.client;
    this.#keyArn = options.keyArn;
  }

  async generate(context: EncryptionContext): Promise<GeneratedDataKey> {
    assertEncryptionContext(context);
    let plaintext: Uint8Array | undefined;
    let wrapped: Uint8Array | undefined;
    try {
      ({ Plaintext: plaintext, CiphertextBlob: wrapped } = await this.#client.send(
        new GenerateDataKeyCommand({
          KeyId: this.#keyArn,
          KeySpec: 'AES_256',
          EncryptionContext: kmsEncryptionContext(context),
        }),
      ));
    } catch (error) {
      throw unavailable(error);
    }
    if (plaintext?.length !== DATA_KEY_BYTES || wrapped === undefined || wrapped.length === 0) {
      throw unavailable(new Error('GenerateDataKey answered without a 256-bit key.'));
    }
    // A view on the SDK's bytes, not a copy: zeroing it later also clears the SDK's buffer.
    return { plaintext: Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.length), wrapped };
  }

  async unwrap(wrapped: Uint8Array, context: EncryptionContext): Promise<Buffer> {
    assertEncryptionContext(context);
    // Refused locally: KMS would answer ValidationException, which reads as an outage.
    if (wrapped.length === 0 || wrapped.length > MAX_BLOB_BYTES) {
      throw new DecryptionError(new Error(`A wrapped data key of ${wrapped.length} bytes is not valid.`));
    }
    let plaintext: Uint8Array | undefined;
    try {
      ({ Plaintext: plaintext } = await this.#client.send(
        new DecryptCommand({
          CiphertextBlob: wrapped,
          KeyId: this.#keyArn,
          EncryptionContext: kmsEncryptionContext(context),
        }),
      ));
    } catch (error) {
      if (error instanceof Error && CIPHERTEXT_ERRORS.has(error.name)) throw new DecryptionError(error);
      throw unavailable(error);
    }
    if (plaintext?.length !== DATA_KEY_BYTES) {
      throw new DecryptionError(new Error('The unwrapped data key is not 256 bits.'));
    }
    return Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.length);
  }
}
