/**
 * The hand-written scanners of the policy engine's hot paths against the regexes and
 * string methods they replace, on many random strings: the decisions must not change.
 */
import { describe, expect, it } from 'vitest';
import { containsLiteral } from '../../lambda/guardrail/bigrams';
import { hexAndBase64Runs } from '../../lambda/guardrail/encodings';

/** A deterministic generator, so a failure is reproducible. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

/** Random texts built from `pieces`, lengths up to `max` (a few much longer). */
function randomTexts(pieces: readonly string[], count: number, max: number, seed = 7): string[] {
  const random = generator(seed);
  const texts: string[] = [];
  for (let round = 0; round < count; round++) {
    const length = Math.floor(random() * (round % 50 === 0 ? max * 20 : max));
    let text = '';
    while (text.length < length) text += pieces[Math.floor(random() * pieces.length)];
    texts.push(text);
  }
  return texts;
}

describe('hexAndBase64Runs', () => {
  const HEX_RUN = /(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){8,}/g;
  const BASE64_RUN = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}/g;
  const pieces = [
    ...'0123456789abcdefABCDEFxyzXYZ+/_-= .:\n',
    '==',
    '===',
    'deadbeefdeadbeef',
    'aGVsbG8gd29ybGQ=',
    'é',
    '\u{1F600}',
  ];

  it('finds exactly the matches of the regexes it replaces', () => {
    for (const text of randomTexts(pieces, 3_000, 120)) {
      const runs = hexAndBase64Runs(text);
      expect(runs.hex).toEqual([...text.matchAll(HEX_RUN)].map((m) => m[0]));
      expect(runs.base64).toEqual([...text.matchAll(BASE64_RUN)].map((m) => m[0]));
    }
  });
});

describe('containsLiteral', () => {
  const pieces = [...'abcdefghijklmnopqrstuvwxyz =(_./:', 'exec', 'rm -rf', 'ignore', '忽略', 'é', 'ĥ', 'ŀ'];
  const literals = ['exec', 'rm -rf', '=', '(', 'ab', 'ignore', '忽略', 'ĥe', 'hé', 'zz', '', 'a'];

  it('answers as String.prototype.includes does, across texts searched in turn', () => {
    for (const text of randomTexts(pieces, 2_000, 80)) {
      for (const literal of literals) expect(containsLiteral(text, literal)).toBe(text.includes(literal));
    }
  });
});
