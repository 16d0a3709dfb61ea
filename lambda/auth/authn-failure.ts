/**
 * Why authentication failed. On its own so the token verifier can name its rejections
 * without importing the principal module that imports the verifier's token type.
 */

/** Why authentication failed; stable codes for audit and alarms. */
export type AuthnFailureReason =
  | 'missing_credentials'
  | 'malformed_header'
  | 'oversized_credentials'
  | 'ambiguous_credentials'
  | 'malformed_token'
  | 'unsupported_algorithm'
  | 'unknown_key'
  | 'invalid_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_token_use'
  | 'wrong_client'
  | 'invalid_claims'
  | 'malformed_api_key'
  | 'unknown_api_key'
  | 'api_key_revoked'
  | 'api_key_expired'
  | 'api_key_owner_inactive'
  | 'excessive_lifetime'
  | 'unknown_subject'
  | 'user_inactive'
  | 'token_revoked';
