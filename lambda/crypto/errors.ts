/**
 * The error of the crypto domain. A sealed text that cannot be opened is either altered,
 * moved to another owner, or sealed under another key: all integrity failures of stored
 * data, none of them the caller's doing, and none of them cured by a retry.
 *
 * So it maps to 500 `internal_error` at the edge: a 5xx never shows its message (the edge
 * answers a generic one), so a caller learns nothing about which check failed; it carries
 * no `Retry-After`, because retrying an integrity failure only multiplies KMS calls; and it
 * counts as a function error, which the Lambda error alarm already watches. Where the
 * sealed value comes from the caller (e.g. pagination cursors), the caller catches it and
 * answers 400, as the history service does.
 */
import { OmniChatError } from '../shared/errors';

/** A sealed text or wrapped data key failed authentication: altered, foreign, or under another context. */
export class DecryptionError extends OmniChatError {
  constructor(cause?: unknown) {
    // One fixed message: logs show `cause` for diagnosis, callers never see either.
    super(500, 'internal_error', 'The sealed data could not be opened.', { cause });
  }
}
