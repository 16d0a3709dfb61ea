import { describe, expect, it } from 'vitest';
import {
  CONVERSATION_KEY_MAX_AGE_MS,
  conversationKeyReuse,
  HISTORY_TURNS,
  TEXTS_PER_TURN,
} from '../../lambda/chat/conversation-key';
import type { StoredTurn } from '../../lambda/chat/conversation-store';
import type { SealedText } from '../../lambda/chat/ports';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const sealed = (k: string, ct = 'Y3Q='): SealedText => ({ v: 1, k, iv: 'aXY=', tag: 'dGFn', ct });

/** Turns oldest first, one per key name, a minute apart, the newest a minute before NOW. */
function turns(...keys: Array<string | [string, string]>): StoredTurn[] {
  return keys.map((key, i) => {
    const [userKey, replyKey] = Array.isArray(key) ? key : [key, key];
    return {
      id: `t${i}`,
      at: NOW - (keys.length - i) * 60_000,
      modelId: 'm',
      user: sealed(userKey),
      assistant: sealed(replyKey),
      inputTokens: 1,
      outputTokens: 1,
      guardrail: 'allow',
    };
  });
}

describe('conversationKeyReuse (which data key the next turn is sealed under)', () => {
  it('has nothing to reuse in a new conversation', () => {
    expect(conversationKeyReuse([], NOW)).toBeUndefined();
  });

  it("reuses the newest turn's key, counting every text sealed under it in the run", () => {
    const reuse = conversationKeyReuse(turns('A', 'B', 'B', 'B'), NOW);
    expect(reuse?.sealed.k).toBe('B');
    expect(reuse?.priorUses).toBe(3 * TEXTS_PER_TURN);
  });

  it('starts a new key when the newest turn mixes two keys', () => {
    expect(conversationKeyReuse(turns('B', ['B', 'C']), NOW)).toBeUndefined();
  });

  it('stops the run at a turn with a mixed pair', () => {
    expect(conversationKeyReuse(turns(['A', 'B'], 'B', 'B'), NOW)?.priorUses).toBe(2 * TEXTS_PER_TURN);
  });

  it('starts a new key once the run began the maximum age ago', () => {
    const old = turns('A', 'A');
    const firstAt = old[0]!.at;
    expect(conversationKeyReuse(old, firstAt + CONVERSATION_KEY_MAX_AGE_MS - 1)).toBeDefined();
    expect(conversationKeyReuse(old, firstAt + CONVERSATION_KEY_MAX_AGE_MS)).toBeUndefined();
  });

  it('starts a new key when the run fills every turn read (its start, and so its uses, unseen)', () => {
    const full = turns(...Array.from({ length: HISTORY_TURNS }, () => 'A'));
    expect(conversationKeyReuse(full, NOW)).toBeUndefined();
    expect(conversationKeyReuse(full.slice(1), NOW)?.priorUses).toBe((HISTORY_TURNS - 1) * TEXTS_PER_TURN);
    const restarted = turns('A', ...Array.from({ length: HISTORY_TURNS - 1 }, () => 'B'));
    expect(conversationKeyReuse(restarted, NOW)?.sealed.k).toBe('B');
  });
});
