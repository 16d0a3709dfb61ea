import { randomBytes } from 'node:crypto';

/** Conversation ids: `c_` + 128 random bits, base64url. Unguessable, so ids leak nothing. */
export const CONVERSATION_ID_PATTERN = /^c_[A-Za-z0-9_-]{22}$/;

/** A new random conversation id. */
export function newConversationId(): string {
  return `c_${randomBytes(16).toString('base64url')}`;
}

/** A new turn id, sortable by time: 13-digit epoch ms + 8 random hex chars. */
export function newTurnId(nowMs: number): string {
  return `${String(nowMs).padStart(13, '0')}${randomBytes(4).toString('hex')}`;
}

/** Whether `value` is a well-formed conversation id. */
export function isConversationId(value: unknown): value is string {
  return typeof value === 'string' && CONVERSATION_ID_PATTERN.test(value);
}
