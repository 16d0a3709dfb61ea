/**
 * Port of the envelope cipher to its key-encryption service: KMS in AWS and hybrid mode,
 * a local master key file in local mode. Each data key is bound to the encryption context
 * it was generated for; unwrapping under any other context fails.
 */
import type { EncryptionContext } from '../chat/ports';

/** A fresh data key: its plaintext (owned by the caller, who zeroes it) and its wrapped form. */
export interface GeneratedDataKey {
  /** 32 bytes (AES-256). */
  readonly plaintext: Buffer;
  /** The data key encrypted under the master key, bound to the context (stored next to the data). */
  readonly wrapped: Uint8Array;
}

/** Generates and unwraps 256-bit data keys bound to an encryption context. */
export interface DataKeyProvider {
  /** A fresh data key; throws `ServiceUnavailableError` when the key service cannot answer. */
  generate(context: EncryptionContext): Promise<GeneratedDataKey>;
  /**
   * The plaintext of a wrapped data key (owned by the caller). Throws `DecryptionError` when
   * the blob was altered, belongs to another master key or another context, and
   * `ServiceUnavailableError` when the key service cannot answer.
   */
  unwrap(wrapped: Uint8Array, context: EncryptionContext): Promise<Buffer>;
}

/** Size of an AES-256 data key in bytes. */
export const DATA_KEY_BYTES = 32;

/** Rejects contexts that could not be bound unambiguously (empty or non-string members). */
export function assertEncryptionContext(context: EncryptionContext): void {
  if (
    typeof context?.user !== 'string' ||
    typeof context.conversation !== 'string' ||
    context.user.length === 0 ||
    context.conversation.length === 0
  ) {
    throw new TypeError('An encryption context needs a non-empty user and conversation.');
  }
}

/**
 * The context as KMS sees it: exactly `{ user, conversation }`. KMS logs the encryption
 * context in CloudTrail in clear, which is why it holds identifiers and never content.
 */
export function kmsEncryptionContext(context: EncryptionContext): Record<string, string> {
  return { user: context.user, conversation: context.conversation };
}

/**
 * Canonical byte encoding of a context for use as AES-GCM additional data, prefixed with a
 * domain label so AAD of one use can never be replayed as another's. A JSON array of
 * strings is unambiguous: no two different contexts encode to the same bytes (a plain
 * concatenation would let `{user:"ab",conversation:"c"}` collide with `{"a","bc"}`).
 */
export function contextAad(domain: string, context: EncryptionContext): Buffer {
  return Buffer.from(JSON.stringify([domain, context.user, context.conversation]), 'utf8');
}
