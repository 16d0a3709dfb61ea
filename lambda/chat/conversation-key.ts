/**
 * Which data key a chat request seals its turn under: the conversation's current key, while
 * that key is young and its uses are known, or else a new one.
 *
 * Why: a turn sealed under a new key each request costs one GenerateDataKey per request and,
 * on the next request, one Decrypt per earlier turn read back (up to {@link HISTORY_TURNS}).
 * Keeping one key per conversation for a bounded time makes both one KMS call per request.
 * The key stays bound to the user and conversation (encryption context); what grows is the
 * number of texts under one key, which stays bounded: by {@link CONVERSATION_KEY_MAX_AGE_MS}
 * and {@link HISTORY_TURNS} here, and by `maxKeyUses` in the cipher, far below the 2^32
 * messages per key NIST SP 800-38D allows for random IVs. Plaintext keys are still cached
 * only briefly (the cipher's `maxKeyAgeMs`): each request unwraps the key again.
 */
import type { StoredTurn } from './conversation-store';
import type { DataKeyReuse } from './ports';

/** Earlier turns a request reads back (newest first): the model's context and the key's run. */
export const HISTORY_TURNS = 20;

/** How long a conversation keeps one data key, from the first turn sealed under it. */
export const CONVERSATION_KEY_MAX_AGE_MS = 24 * 3600 * 1000;

/** Texts a request seals under the conversation key: prompt, reply and title. */
export const TEXTS_PER_TURN = 3;

/**
 * The key the next turn may reuse, from the conversation's most recent turns (oldest first,
 * as the store returns them, at most {@link HISTORY_TURNS}): the newest turn's key, if both of
 * its texts use it, the run of turns under it started less than
 * {@link CONVERSATION_KEY_MAX_AGE_MS} before `now`, and that run's start is among the turns
 * read (so its uses are known). Undefined when a new key is due.
 */
export function conversationKeyReuse(turns: readonly StoredTurn[], now: number): DataKeyReuse | undefined {
  const newest = turns.at(-1);
  if (newest === undefined || newest.assistant.k !== newest.user.k) return undefined;
  const key = newest.user.k;
  let start = turns.length - 1;
  while (start > 0 && turns[start - 1]!.user.k === key && turns[start - 1]!.assistant.k === key) start -= 1;
  const run = turns.length - start;
  // A run that fills every turn read may have begun before them: its uses are unknown.
  if (run >= HISTORY_TURNS) return undefined;
  if (now - turns[start]!.at >= CONVERSATION_KEY_MAX_AGE_MS) return undefined;
  return { sealed: newest.user, priorUses: run * TEXTS_PER_TURN };
}
