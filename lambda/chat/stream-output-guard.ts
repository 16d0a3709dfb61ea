/**
 * The output checks of the whole-reply path, applied to a reply that arrives as a stream of
 * text deltas (issue 20, item 3): nothing reaches the client that the whole-reply check
 * (`ChatGuard.checkOutput`: canary and system-prompt spans -> block, blocked words -> block,
 * secrets and PII -> masked) has not seen with enough text on both sides.
 *
 * How: the guard keeps the unsent text (`pending`) and commits a prefix of it only at a *cut*:
 * a whitespace position at least {@link STREAM_HOLD_BACK_CHARS} characters before the end of
 * the complete words received. It then runs the same check three times, on the segment before
 * the cut (S), the text after it (L) and both together with the previous segment in front
 * (P + S + L), and commits S only if the checks decompose:
 * `check(P+S+L).text === check(P).text + check(S).text + check(L).text`. A match that
 * straddles the cut (a card number in three deltas, a PEM block still open, a spelled-out
 * secret, a label in front of a value) makes the two sides differ, so the guard waits for
 * more text; a block verdict on any window ends the stream (the whole reply contains that
 * window, and containment checks only grow with more text).
 *
 * The hold-back is counted in characters detection reads ({@link startOfLastReadable}):
 * invisible characters and combining marks, which a match may be padded with, do not count.
 *
 * Why the hold-back is what it is: cuts are only made at whitespace, so a match without
 * whitespace (the canary, a JWT, an API key, an e-mail address, a card without spaces) can
 * never straddle one, whatever its length. Only matches that contain whitespace can, and L
 * must hold the whole rest of such a match for the check to see it. The widest bounded ones:
 *   - the canary spelled out one character at a time (`o m c c a n a r y ...`): its 41 letters
 *     and digits with a separator between each, 2 * 41 - 1 = 81 characters;
 *   - a leaked system-prompt span: LEAK_SPAN_CHARS (50) canonical characters, spelled out the
 *     same way, 2 * 50 - 1 = 99 characters;
 *   - a card number spelled out in words (`four one one one ...`): 19 five-letter words with
 *     three separator characters between each, SPELLED_CARD_MAX_CHARS = 149;
 *   - a spelled-out 40-character secret (AWS secret key, classic GitHub token): 79, plus the
 *     label its detector needs in front (`aws_secret_access_key = `, under 29): 108;
 *   - a spaced IBAN (43), a labelled phone number or SSN, label included (under 60), a spaced
 *     card (37).
 * The widest is the spelled-out card, so the hold-back is 149.
 * Matches with no bound on their width (an unterminated PEM block, which the detector masks
 * to the end of the text) differ across every cut and so hold the stream back by themselves.
 * Not covered: a canary or prompt span spread over more than 149 characters by extra
 * separators, and custom policy patterns wider than 149 that contain whitespace; such text
 * is still blocked or masked when the check sees it whole, but parts of it may already have
 * been sent; when that shows only at the end (the last window checks differently whole and in
 * parts), the reply is withheld. Pass `holdBackChars` for a policy with wider custom patterns.
 *
 * Cost: each attempt checks about three hold-backs of text and commits at least half a
 * hold-back, and a failed attempt is retried only after the pending text grew by a quarter,
 * so the total work is linear in the reply's length (times the check's own cost per
 * character, which includes hashing the system prompt once per check).
 */
import type { GuardrailDecision } from '../audit/event';
import { LEAK_SPAN_CHARS } from '../guardrail/leakage';
import { startOfLastReadable } from '../guardrail/normalize';
import { SPELLED_CARD_MAX_CHARS } from '../guardrail/pii';

/** The verdict of one output check (the shape `ChatGuard.checkOutput` returns). */
export interface OutputVerdict {
  readonly action: 'ALLOW' | 'MASK' | 'BLOCK';
  readonly text: string;
  readonly findings: readonly GuardrailDecision[];
}

/** The whole-reply output check, bound to one request's canary and system prompt. */
export type OutputCheck = (text: string) => OutputVerdict;

/** Letters and digits of a canary (`omccanary` + 32 hex digits). */
const CANARY_ALPHANUMERICS = 9 + 32;
/** Longest label a detector needs in front of a value (`aws_secret_access_key = ` is 24). */
const LABEL_MARGIN_CHARS = 29;

/** Characters held back from the client (see the module comment for the derivation). */
export const STREAM_HOLD_BACK_CHARS = Math.max(
  2 * CANARY_ALPHANUMERICS - 1,
  2 * LEAK_SPAN_CHARS - 1,
  SPELLED_CARD_MAX_CHARS,
  2 * 40 - 1 + LABEL_MARGIN_CHARS,
  43,
  60,
  37,
);

/** Options of {@link createStreamOutputGuard}. */
export interface StreamOutputGuardOptions {
  /** Characters to hold back (default {@link STREAM_HOLD_BACK_CHARS}). */
  readonly holdBackChars?: number;
  /**
   * New text to wait for after a commit before the next attempt (default half the hold-back).
   * The first commit is attempted as early as with the default; a larger step means fewer
   * checks per reply (each check has a fixed cost) and fewer, larger deltas after the first.
   */
  readonly commitStepChars?: number;
}

/** What one call of the guard lets through. */
export type StreamGuardStep =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'blocked'; readonly findings: readonly GuardrailDecision[] };

/** The outcome of the whole stream, for the stored turn and the audit event. */
export interface StreamGuardResult {
  readonly action: 'ALLOW' | 'MASK' | 'BLOCK';
  /** Everything sent to the client (on BLOCK: what was sent before the block). */
  readonly text: string;
  /** The findings of every check, each rule and action once. */
  readonly findings: readonly GuardrailDecision[];
}

/** A streaming output guard for one reply. */
export interface StreamOutputGuard {
  /** Takes one model delta; returns the checked text that may be sent now ('' for none), or a block. */
  push(delta: string): StreamGuardStep;
  /** Ends the stream: checks and returns the held-back rest, or a block. */
  finish(): StreamGuardStep;
  /** The outcome so far (complete after {@link finish} or a block). */
  result(): StreamGuardResult;
}

const isWhitespace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9 || c === 12;

/** Creates a guard that runs `check` over a stream (one per reply). */
export function createStreamOutputGuard(
  check: OutputCheck,
  options: StreamOutputGuardOptions = {},
): StreamOutputGuard {
  const holdBack = options.holdBackChars ?? STREAM_HOLD_BACK_CHARS;
  if (!Number.isInteger(holdBack) || holdBack < 1)
    throw new Error('holdBackChars must be a positive integer.');
  const step = Math.max(1, holdBack >> 1);
  const commitStep = options.commitStepChars ?? step;
  if (!Number.isInteger(commitStep) || commitStep < 1)
    throw new Error('commitStepChars must be a positive integer.');

  let pending = '';
  /** The last committed segment (raw) and its checked text: left context of the next window. */
  let previousRaw = '';
  let previousChecked = '';
  let sent = '';
  let masked = false;
  let state: 'open' | 'blocked' | 'finished' = 'open';
  let nextAttemptAt = holdBack + step;
  /** Index just past the last whitespace in `pending` (0 when none): where complete words end. */
  let wordsEnd = 0;
  const findings: GuardrailDecision[] = [];
  const seen = new Set<string>();

  const record = (verdict: OutputVerdict): void => {
    if (verdict.action === 'MASK') masked = true;
    for (const f of verdict.findings) {
      const key = `${f.layer}|${f.rule}|${f.action}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push(f);
    }
  };

  const block = (verdict: OutputVerdict): StreamGuardStep => {
    record(verdict);
    state = 'blocked';
    pending = '';
    return { type: 'blocked', findings: verdict.findings };
  };

  const emit = (text: string): StreamGuardStep => {
    sent += text;
    return { type: 'text', text };
  };

  /** Tries to commit a prefix of the complete words received. */
  const attempt = (): StreamGuardStep => {
    const words = pending.slice(0, wordsEnd);
    let cut = -1;
    // The hold-back counts what detection reads: zero-width characters or stacked accents
    // inside a match would otherwise stretch it past the held-back text.
    for (let i = startOfLastReadable(words, holdBack); i > 0; i--) {
      if (isWhitespace(words.charCodeAt(i))) {
        cut = i;
        break;
      }
    }
    const whole = check(previousRaw + words);
    if (whole.action === 'BLOCK') return block(whole);
    if (cut <= 0) return emit('');
    const before = check(words.slice(0, cut));
    const after = check(words.slice(cut));
    if (before.action === 'BLOCK') return block(before);
    if (after.action === 'BLOCK') return block(after);
    if (whole.text !== previousChecked + before.text + after.text) return emit('');
    record(before);
    previousRaw = words.slice(0, cut);
    previousChecked = before.text;
    pending = pending.slice(cut);
    wordsEnd -= cut;
    return emit(before.text);
  };

  return {
    push(delta: string): StreamGuardStep {
      if (state !== 'open') throw new Error(`The stream guard is ${state}.`);
      for (let i = delta.length - 1; i >= 0; i--) {
        if (isWhitespace(delta.charCodeAt(i))) {
          wordsEnd = pending.length + i + 1;
          break;
        }
      }
      pending += delta;
      if (pending.length < nextAttemptAt) return emit('');
      const before = pending.length;
      const outcome = attempt();
      if (outcome.type === 'blocked') return outcome;
      // Committed: try again after `commitStep` more (half a hold-back by default). Not committed: after a quarter more
      // of what is pending (geometric), so a long run without a cut costs linear time.
      nextAttemptAt =
        pending.length < before
          ? pending.length + commitStep
          : pending.length + Math.max(step, pending.length >> 2);
      return outcome;
    },

    finish(): StreamGuardStep {
      if (state !== 'open') throw new Error(`The stream guard is ${state}.`);
      const whole = check(previousRaw + pending);
      if (whole.action === 'BLOCK') return block(whole);
      const rest = check(pending);
      if (rest.action === 'BLOCK') return block(rest);
      // A match across the last cut that the hold-back did not cover (wider than it: see
      // "Not covered" above) checks differently whole and in parts. Its start may already be
      // out, so the reply is withheld rather than finished with the rest unmasked.
      if (whole.text !== previousChecked + rest.text) return block(whole);
      record(rest);
      record(whole);
      state = 'finished';
      pending = '';
      return emit(rest.text);
    },

    result(): StreamGuardResult {
      const action = state === 'blocked' ? 'BLOCK' : masked ? 'MASK' : 'ALLOW';
      return { action, text: sent, findings: [...findings] };
    },
  };
}
