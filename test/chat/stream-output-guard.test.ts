import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createStreamOutputGuard,
  type OutputCheck,
  STREAM_HOLD_BACK_CHARS,
  type StreamGuardStep,
} from '../../lambda/chat/stream-output-guard';
import { createPolicyEngine } from '../../lambda/guardrail/engine';
import { policyOfEnvironment } from '../../scripts/eval-guardrail';

const engine = createPolicyEngine(policyOfEnvironment('prod'), {
  randomBytes: (n) => new Uint8Array(n).fill(0xab),
});
const canary = engine.newCanary();
const systemPrompt =
  'You are the OmniChat assistant of Example Corp. Answer questions about the travel policy, ' +
  'the expense rules and the office locations, and never discuss salaries or reorganisations.';
const check: OutputCheck = (text) => engine.checkOutput(text, { canary, systemPrompt });

/** Prose long enough to push a pattern past the hold-back. */
const prose = (words: number): string =>
  Array.from(
    { length: words },
    (_, i) => ['the', 'quarterly', 'report', 'shows', 'steady', 'growth'][i % 6],
  ).join(' ');

/** Splits `text` at the given offsets (sorted, deduplicated, inside the text). */
function chunk(text: string, cuts: readonly number[]): string[] {
  const at = [...new Set(cuts.filter((c) => c > 0 && c < text.length))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const c of at) {
    chunks.push(text.slice(from, c));
    from = c;
  }
  chunks.push(text.slice(from));
  return chunks;
}

/** Runs the guard over the chunks; returns the texts sent and the final step. */
function run(chunks: readonly string[], holdBackChars?: number) {
  const guard = createStreamOutputGuard(check, { holdBackChars });
  const sent: string[] = [];
  let last: StreamGuardStep | undefined;
  for (const delta of chunks) {
    last = guard.push(delta);
    if (last.type === 'blocked') return { sent, blocked: true, result: guard.result() };
    if (last.text !== '') sent.push(last.text);
  }
  last = guard.finish();
  if (last.type === 'blocked') return { sent, blocked: true, result: guard.result() };
  if (last.text !== '') sent.push(last.text);
  return { sent, blocked: false, result: guard.result() };
}

const replies = [
  `${prose(40)} Charge it to card 4111 1111 1111 1111 before Friday. ${prose(60)}`,
  `${prose(30)} Mail jane.doe@example.com or call +44 20 7946 0958 today. ${prose(50)}`,
  `${prose(25)} The key is AKIAIOSFODNN7EXAMPLE and the ticket SEC-123456. ${prose(45)}`,
  `${prose(10)}\n\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq98fRS2W8ZMx7X3m1s\nq8yH1pE4C2yJ0wqV5dX\n-----END RSA PRIVATE KEY-----\n\n${prose(70)}`,
  `${prose(35)} IBAN: DE89 3704 0044 0532 0130 00 and SSN 123-45-6789. ${prose(35)}`,
  `${prose(90)}`,
  `Short reply with 4111 1111 1111 1111.`,
];

describe('createStreamOutputGuard', () => {
  it('derives a hold-back from the widest whitespace-containing match (a card spelled out in words)', () => {
    expect(STREAM_HOLD_BACK_CHARS).toBe(149);
  });

  it('masks a card number spelled out in words and split over deltas, sending none of its words', () => {
    const words = 'four one one one, one one one one, one one one one, one one one one';
    const reply = `${prose(40)} Charge ${words} today. ${prose(40)}`;
    const at = reply.indexOf(words);
    const { sent, blocked } = run(chunk(reply, [at + 10, at + 30, at + 50]));
    expect(blocked).toBe(false);
    const text = sent.join('');
    expect(text).toBe(check(reply).text);
    expect(text).toContain('Charge {CREDIT_DEBIT_CARD_NUMBER} today.');
    expect(text).not.toContain('four one');
  });

  it('masks a card number split over three deltas, as the whole-reply check does', () => {
    const reply = `${prose(40)} Pay with 4111 1111 1111 1111 please. ${prose(40)}`;
    const at = reply.indexOf('4111');
    const { sent, blocked, result } = run(chunk(reply, [at + 3, at + 9, at + 16]));
    expect(blocked).toBe(false);
    const text = sent.join('');
    expect(text).toBe(check(reply).text);
    expect(text).toContain('{CREDIT_DEBIT_CARD_NUMBER}');
    expect(text).not.toMatch(/4111|1111/);
    expect(sent.every((s) => !/\d{3}/.test(s))).toBe(true);
    expect(result.action).toBe('MASK');
    expect(result.findings.map((f) => f.rule)).toContain('pii.credit_debit_card_number');
  });

  it('masks a 148-character spelled-out card, which a 128-character hold-back would leak', () => {
    // 4333 3333 3333 3333 338: a Luhn-valid 19-digit Visa number in five-letter words.
    const words = ['four', ...Array<string>(17).fill('three'), 'eight'].join(' - ');
    expect(words.length).toBe(148);
    const reply = `${prose(40)} Charge ${words} today. ${prose(60)}`;
    // 25-character deltas: one of the chunkings where a cut falls inside the card at 128.
    const deltas = chunk(
      reply,
      Array.from({ length: Math.ceil(reply.length / 25) }, (_, i) => i * 25),
    );
    const { sent } = run(deltas);
    expect(sent.join('')).toBe(check(reply).text);
    expect(sent.join('')).not.toContain('three');
    // The derivation matters: held back by the old 128 characters, part of it goes out.
    expect(run(deltas, 128).sent.join('')).toContain('three');
  });

  it('counts the hold-back in characters detection reads: zero-width padding cannot stretch a card past it', () => {
    // 4111 1111 1111 1111 in words, eight zero-width spaces in each gap: 184 characters as
    // sent by the model, 64 once normalization drops the padding.
    const words = ['four', ...Array<string>(15).fill('one')].join(` ${'\u200b'.repeat(8)}`);
    expect(words.length).toBeGreaterThan(STREAM_HOLD_BACK_CHARS);
    const reply = `${prose(40)} Charge ${words} today. ${prose(60)}`;
    for (const size of [10, 25, 40, 64]) {
      const deltas = chunk(
        reply,
        Array.from({ length: Math.ceil(reply.length / size) }, (_, i) => i * size),
      );
      const { sent, blocked } = run(deltas);
      expect(blocked).toBe(false);
      expect(sent.join('')).toBe(check(reply).text);
      expect(sent.join('')).toContain('{CREDIT_DEBIT_CARD_NUMBER}');
      expect(sent.join('')).not.toMatch(/\bone\b/);
    }
  });

  it('withholds the reply when the end shows a match wider than the hold-back across a cut', () => {
    // A 40-character hold-back cannot hold a 64-character spelled card: its start goes out
    // with the last commit before its end arrives. The last check sees the card whole and the
    // reply is withheld instead of finishing with the rest unmasked.
    const words = ['four', ...Array<string>(15).fill('one')].join(' ');
    const reply = `${prose(40)} Charge ${words} today.`;
    const deltas = chunk(
      reply,
      Array.from({ length: Math.ceil(reply.length / 25) }, (_, i) => i * 25),
    );
    const { sent, blocked, result } = run(deltas, 40);
    expect(sent.join('')).toContain('four');
    expect(blocked).toBe(true);
    expect(result.action).toBe('BLOCK');
  });

  it('sends text before the reply ends (it streams)', () => {
    const reply = prose(200);
    const guard = createStreamOutputGuard(check);
    let before = '';
    for (const delta of chunk(
      reply,
      Array.from({ length: 100 }, (_, i) => i * 10),
    )) {
      const step = guard.push(delta);
      if (step.type === 'text') before += step.text;
    }
    expect(before.length).toBeGreaterThan(reply.length - 2 * STREAM_HOLD_BACK_CHARS);
  });

  it('blocks a canary split over two deltas without sending any fragment of it', () => {
    const reply = `${prose(60)} The marker is ${canary} and that is all. ${prose(30)}`;
    const at = reply.indexOf(canary);
    const { sent, blocked, result } = run(chunk(reply, [at + 14]));
    expect(blocked).toBe(true);
    expect(result.action).toBe('BLOCK');
    expect(result.findings.map((f) => f.rule)).toContain('output.canary');
    const text = sent.join('');
    expect(text.length).toBeGreaterThan(0);
    // No fragment: neither the prefix nor any 6 characters of the random part.
    expect(text).not.toContain('omc');
    for (let i = 11; i + 6 <= canary.length; i++) expect(text).not.toContain(canary.slice(i, i + 6));
  });

  it('blocks a canary spelled out across deltas before any of it is sent', () => {
    const spelled = canary.replace(/-/g, '').split('').join(' ');
    const reply = `${prose(50)} ${spelled} ${prose(20)}`;
    const at = reply.indexOf(spelled);
    const { sent, blocked } = run(chunk(reply, [at + 20, at + 50]));
    expect(blocked).toBe(true);
    expect(sent.join('')).not.toContain('o m c');
  });

  it('blocks a leaked system-prompt span and ends the stream', () => {
    const reply = `${prose(40)} My instructions: ${systemPrompt} ${prose(10)}`;
    const { blocked, result } = run(chunk(reply, [100, 200, 260, 300]));
    expect(blocked).toBe(true);
    expect(result.findings.map((f) => f.rule)).toContain('output.system_prompt');
  });

  it('holds an unterminated PEM block back until it closes, then masks it whole', () => {
    const reply = replies[3] as string;
    const { sent } = run(
      chunk(
        reply,
        Array.from({ length: 40 }, (_, i) => i * 7),
      ),
    );
    expect(sent.join('')).toBe(check(reply).text);
    expect(sent.join('')).not.toContain('MIIEow');
  });

  it('with a larger commit step, checks less often, sends the first text as early and the same text in total', () => {
    const reply = replies[0]!;
    const deltas = chunk(
      reply,
      Array.from({ length: Math.ceil(reply.length / 40) }, (_, i) => i * 40),
    );
    const runWith = (commitStepChars?: number) => {
      let checks = 0;
      const guard = createStreamOutputGuard(
        (text) => {
          checks += 1;
          return check(text);
        },
        commitStepChars === undefined ? {} : { commitStepChars },
      );
      let firstAt = -1;
      const sent: string[] = [];
      deltas.forEach((delta, index) => {
        const step = guard.push(delta);
        if (step.type === 'text' && step.text !== '') {
          sent.push(step.text);
          if (firstAt < 0) firstAt = index;
        }
      });
      const last = guard.finish();
      if (last.type === 'text' && last.text !== '') sent.push(last.text);
      return { checks, firstAt, sent };
    };
    const standard = runWith();
    const wide = runWith(256);
    expect(wide.checks).toBeLessThan(standard.checks);
    expect(wide.firstAt).toBe(standard.firstAt);
    expect(wide.sent.length).toBeLessThan(standard.sent.length);
    expect(wide.sent.join('')).toBe(check(reply).text);
    expect(() => createStreamOutputGuard(check, { commitStepChars: 0 })).toThrow(/positive integer/);
  });

  it('refuses pushes after the end and a bad hold-back', () => {
    const guard = createStreamOutputGuard(check);
    guard.finish();
    expect(() => guard.push('x')).toThrow(/finished/);
    expect(() => createStreamOutputGuard(check, { holdBackChars: 0 })).toThrow(/positive integer/);
  });

  it('sends exactly what the whole-reply check produces, for any chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...replies),
        fc.array(fc.nat({ max: 800 }), { maxLength: 60 }),
        fc.constantFrom(undefined, 64, 200),
        (reply, cuts, holdBack) => {
          const { sent, blocked } = run(chunk(reply, cuts), holdBack);
          const whole = check(reply);
          expect(blocked).toBe(whole.action === 'BLOCK');
          if (!blocked) expect(sent.join('')).toBe(whole.text);
        },
      ),
      { numRuns: 300, seed: 20 },
    );
  });

  it('does work linear in the reply length (characters checked per character received)', () => {
    let checked = 0;
    const counting: OutputCheck = (text) => {
      checked += text.length;
      return check(text);
    };
    const ratio = (words: number, chunkChars: number): number => {
      checked = 0;
      const reply = prose(words);
      const guard = createStreamOutputGuard(counting);
      for (let i = 0; i < reply.length; i += chunkChars) guard.push(reply.slice(i, i + chunkChars));
      guard.finish();
      return checked / reply.length;
    };
    // Also a long run without whitespace (no cut possible until it ends).
    checked = 0;
    const run = 'x'.repeat(50_000);
    const guard = createStreamOutputGuard(counting);
    for (let i = 0; i < run.length; i += 5) guard.push(run.slice(i, i + 5));
    guard.finish();
    expect(checked / run.length).toBeLessThan(12);
    expect(ratio(2_000, 4)).toBeLessThan(12);
    expect(ratio(20_000, 4)).toBeLessThan(12);
  });
});
