/**
 * A linear prompt-injection classifier over hashed word and character n-grams (logistic
 * regression), the learned half of the injection detector. Heuristics catch what can be
 * named; this catches the long tail of jailbreak prose whose wording varies too much for a
 * phrase list.
 *
 * Features (all on the folded detection view, so obfuscation is already undone): word
 * unigrams and bigrams and character 4-grams, hashed into {@link FEATURE_DIMS} buckets with
 * FNV-1a, binary, and scaled to unit length so a long text does not outvote a short one.
 * Extraction is one pass over the text; scoring is a sparse dot product.
 */

/** Number of hashed feature buckets (a power of two). */
export const FEATURE_DIMS = 1 << 14;
const MASK = FEATURE_DIMS - 1;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Seeds that keep word, bigram and character features in separate hash spaces. */
const SEED_WORD = 0x9e3779b1;
const SEED_CHAR = 0x85ebca6b;

const isWordChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 39;

/** Marks buckets seen for the current text; reused so extraction allocates nothing per call. */
const seen = new Uint8Array(FEATURE_DIMS);
/** The character codes of the current text, reused across calls (grown on demand). */
let codes = new Uint16Array(1024);

/**
 * The distinct feature buckets of a folded text, in first-seen order. Exported for the
 * training script, which must extract exactly what the runtime extracts.
 *
 * The hot loops read the codes from a typed array and mark buckets inline: this runs over
 * every character of every message, and the order and values of the buckets are part of the
 * shipped model's contract (the tests compare it with a plain reference implementation).
 */
export function featureBuckets(folded: string): number[] {
  const buckets: number[] = [];
  const n = folded.length;
  if (codes.length < n) codes = new Uint16Array(Math.max(n, codes.length * 2));
  const c = codes;
  let previousWord = 0;
  // Words and word bigrams, in one pass that also copies the codes for the 4-grams.
  let h = 0;
  let inWord = false;
  for (let i = 0; i <= n; i++) {
    const code = i < n ? folded.charCodeAt(i) : 0;
    if (i < n) c[i] = code;
    if (i < n && isWordChar(code)) {
      if (!inWord) {
        h = (FNV_OFFSET ^ SEED_WORD) >>> 0;
        inWord = true;
      }
      h = Math.imul(h ^ code, FNV_PRIME);
      continue;
    }
    if (!inWord) continue;
    inWord = false;
    let b = h & MASK;
    if (seen[b] === 0) {
      seen[b] = 1;
      buckets.push(b);
    }
    if (previousWord !== 0) {
      b = (Math.imul(previousWord ^ (h >>> 7), FNV_PRIME) ^ h) & MASK;
      if (seen[b] === 0) {
        seen[b] = 1;
        buckets.push(b);
      }
    }
    previousWord = h | 1;
  }
  // Character 4-grams, including spaces and punctuation (they carry `[INST]`, `:`, `{}`).
  // The first three codes of each window roll along in locals: one array read per window.
  const start = (FNV_OFFSET ^ SEED_CHAR) >>> 0;
  if (n >= 4) {
    let c0 = c[0] as number;
    let c1 = c[1] as number;
    let c2 = c[2] as number;
    for (let k = 3; k < n; k++) {
      const c3 = c[k] as number;
      const h = Math.imul(
        Math.imul(Math.imul(Math.imul(start ^ c0, FNV_PRIME) ^ c1, FNV_PRIME) ^ c2, FNV_PRIME) ^ c3,
        FNV_PRIME,
      );
      const b = h & MASK;
      if (seen[b] === 0) {
        seen[b] = 1;
        buckets.push(b);
      }
      c0 = c1;
      c1 = c2;
      c2 = c3;
    }
  }
  for (const b of buckets) seen[b] = 0;
  return buckets;
}

/** A trained model: bias and dense weights over the buckets. */
export interface LinearModel {
  readonly bias: number;
  readonly weights: Float32Array;
}

/** Raw score (log-odds) of a text's buckets. */
export function logit(model: LinearModel, buckets: readonly number[]): number {
  if (buckets.length === 0) return model.bias;
  let sum = 0;
  for (const b of buckets) sum += model.weights[b] ?? 0;
  return model.bias + sum / Math.sqrt(buckets.length);
}

/** Probability that a text is an attack. */
export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Packs weights as int8 with one scale, base64: a small, diffable-enough artifact. */
export function packWeights(weights: Float32Array): { scale: number; data: string } {
  let max = 0;
  for (const w of weights) max = Math.max(max, Math.abs(w));
  const scale = max === 0 ? 1 : max / 127;
  const bytes = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) bytes[i] = Math.round((weights[i] ?? 0) / scale);
  return { scale, data: Buffer.from(bytes.buffer).toString('base64') };
}

/** Inverse of {@link packWeights}. */
export function unpackWeights(scale: number, data: string): Float32Array {
  const raw = Buffer.from(data, 'base64');
  const bytes = new Int8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  if (bytes.length !== FEATURE_DIMS) {
    throw new Error(`Model has ${bytes.length} weights; this build extracts ${FEATURE_DIMS} features.`);
  }
  const weights = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) weights[i] = (bytes[i] ?? 0) * scale;
  return weights;
}
