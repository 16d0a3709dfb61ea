/**
 * A quick "can this literal occur?" test for a text searched for many literals, used by the
 * injection heuristics' prefilters.
 *
 * `String.prototype.includes` stops at every occurrence of a literal's first character, so
 * a few dozen short literals starting with common letters cost a pass over the text each.
 * Indexing the text's character pairs once (one linear pass, no allocation) rules most of
 * them out: a literal can only occur if each of its adjacent pairs does. Pairs are hashed to
 * 16 bits (exact for ASCII); a collision can only make the answer "maybe", and every "maybe"
 * is confirmed with `includes`, so results are exactly those of `includes`.
 */

const PAIRS = 1 << 16;

const pairKey = (a: number, b: number): number => ((a & 0xff) << 8) | (b & 0xff);

/** Reused pair marks: a pair is present when its mark equals the current stamp. */
const marks = new Int32Array(PAIRS);
let stamp = 0;
let indexed: string | undefined;

function indexPairs(text: string): void {
  stamp++;
  if (stamp === 0x7fffffff) {
    marks.fill(0);
    stamp = 1;
  }
  let previous = text.length > 0 ? text.charCodeAt(0) : 0;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    marks[pairKey(previous, c)] = stamp;
    previous = c;
  }
  indexed = text;
}

/** Whether `text` contains `literal`; the same answer as `text.includes(literal)`. */
export function containsLiteral(text: string, literal: string): boolean {
  if (literal.length >= 2) {
    if (indexed !== text) indexPairs(text);
    for (let i = 1; i < literal.length; i++) {
      if (marks[pairKey(literal.charCodeAt(i - 1), literal.charCodeAt(i))] !== stamp) return false;
    }
  }
  return text.includes(literal);
}
