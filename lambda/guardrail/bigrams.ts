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

/**
 * Two reused indexes (the injection heuristics alternate between two views of a message);
 * a pair is present when its mark equals the index's current stamp.
 */
interface PairIndex {
  readonly marks: Int32Array;
  stamp: number;
  text: string | undefined;
  lastUsed: number;
}

const indexes: PairIndex[] = [
  { marks: new Int32Array(PAIRS), stamp: 0, text: undefined, lastUsed: 0 },
  { marks: new Int32Array(PAIRS), stamp: 0, text: undefined, lastUsed: 0 },
];
let clock = 0;

function indexPairs(index: PairIndex, text: string): void {
  index.stamp++;
  if (index.stamp === 0x7fffffff) {
    index.marks.fill(0);
    index.stamp = 1;
  }
  const { marks, stamp } = index;
  let previous = text.length > 0 ? text.charCodeAt(0) : 0;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    marks[pairKey(previous, c)] = stamp;
    previous = c;
  }
  index.text = text;
}

/** The index of `text`, built in the least recently used slot if neither holds it. */
function indexOf(text: string): PairIndex {
  const [a, b] = indexes as [PairIndex, PairIndex];
  let index: PairIndex;
  if (a.text === text) index = a;
  else if (b.text === text) index = b;
  else {
    index = a.lastUsed <= b.lastUsed ? a : b;
    indexPairs(index, text);
  }
  index.lastUsed = ++clock;
  return index;
}

/** Whether `text` contains `literal`; the same answer as `text.includes(literal)`. */
export function containsLiteral(text: string, literal: string): boolean {
  if (literal.length >= 2) {
    const { marks, stamp } = indexOf(text);
    for (let i = 1; i < literal.length; i++) {
      if (marks[pairKey(literal.charCodeAt(i - 1), literal.charCodeAt(i))] !== stamp) return false;
    }
  }
  return text.includes(literal);
}
