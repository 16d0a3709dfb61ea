/**
 * Unicode normalization of the local policy engine (DESIGN.md section 6, layer 1).
 *
 * Two forms of a text exist:
 * - the **forwarded** form ({@link normalizeText}): NFKC with invisible and direction-changing
 *   characters removed. This is what the model sees, what length limits count and what is
 *   stored, so it must stay faithful to what the user typed.
 * - the **detection** views ({@link detectionViews}): the forwarded form further folded
 *   (case, diacritics, homoglyphs, leetspeak, spaced-out letters) so that obfuscation cannot
 *   split or disguise a phrase the detectors look for. Folding is lossy on purpose ("1" may
 *   become "i") and is never forwarded.
 *
 * Every step is a single left-to-right pass or a built-in linear transform.
 */

/**
 * Characters that render as nothing (or only change direction/shape) and are used to split
 * words past filters: zero-width space/joiners, word joiner and invisible operators, BOM,
 * soft hyphen, combining grapheme joiner, Mongolian vowel separator, Hangul fillers,
 * bidi embeddings/overrides/isolates and marks, variation selectors and Unicode tag
 * characters (which can smuggle a whole hidden ASCII message). Combining ones are listed as
 * alternatives: inside a class they would be read as combining with their neighbour.
 */
const INVISIBLE =
  /\u034F|\u17B4|\u17B5|\u180B|\u180C|\u180D|\u180E|\u180F|\uFE00|\uFE01|\uFE02|\uFE03|\uFE04|\uFE05|\uFE06|\uFE07|\uFE08|\uFE09|\uFE0A|\uFE0B|\uFE0C|\uFE0D|\uFE0E|\uFE0F|[\u00AD\u061C\u115F\u1160\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFEFF\uFFA0]|\uDB40[\uDC00-\uDDEF]/g;

/** One character of the invisible set, whole (for {@link startOfLastReadable}). */
const INVISIBLE_ONE = new RegExp(`^(?:${INVISIBLE.source})$`);
/** One combining mark: kept by normalization, folded away by the detection views. */
const MARK_ONE = /^\p{M}$/u;

/**
 * The index from which `text` holds its last `count` characters that detection reads: all
 * but the invisible ones normalization removes and combining marks, which the detection views
 * fold away. -1 when `text` holds fewer. Walks back from the end only as far as it needs.
 * The streaming output guard measures its hold-back with this, so padding a match with
 * zero-width characters or stacked accents cannot stretch it past the held-back text.
 */
export function startOfLastReadable(text: string, count: number): number {
  let remaining = count;
  let end = text.length;
  while (end > 0 && remaining > 0) {
    let start = end - 1;
    const code = text.charCodeAt(start);
    if (code >= 0xdc00 && code <= 0xdfff && start > 0) {
      const high = text.charCodeAt(start - 1);
      if (high >= 0xd800 && high <= 0xdbff) start--;
    }
    if (
      code < 0x80 ||
      !(INVISIBLE_ONE.test(text.slice(start, end)) || MARK_ONE.test(text.slice(start, end)))
    ) {
      remaining--;
    }
    end = start;
  }
  return remaining === 0 ? end : -1;
}

/** Any character outside ASCII (every invisible character and every NFKC change is one). */
const NON_ASCII = /[\u0080-\uFFFF]/;

/** The form forwarded to the model: NFKC, invisible and bidi control characters removed. */
export function normalizeText(text: string): string {
  // Plain ASCII is its own NFKC form and holds no invisible character: nothing to do.
  if (!NON_ASCII.test(text)) return text;
  // Strip before and after NFKC: compatibility decomposition can expose nothing new of this
  // set today, but stripping first keeps NFKC from composing across a hidden joiner.
  return text.replace(INVISIBLE, '').normalize('NFKC').replace(INVISIBLE, '');
}

/**
 * Confusable letters from other scripts folded to the Latin letter they imitate (after
 * lower-casing). Fullwidth and mathematical alphanumerics are already folded by NFKC.
 */
const HOMOGLYPHS: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ї: 'i',
  ј: 'j',
  һ: 'h',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ь: 'b',
  ӏ: 'l',
  // Greek
  α: 'a',
  β: 'b',
  γ: 'y',
  ε: 'e',
  ζ: 'z',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  σ: 'o',
  ς: 's',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  // Latin look-alikes outside ASCII
  ı: 'i',
  ȷ: 'j',
  ɑ: 'a',
  ɡ: 'g',
  ɩ: 'i',
  ɪ: 'i',
  ʏ: 'y',
  ɴ: 'n',
  ʀ: 'r',
  ꜱ: 's',
  ᴀ: 'a',
  ᴄ: 'c',
  ᴅ: 'd',
  ᴇ: 'e',
  ᴋ: 'k',
  ᴍ: 'm',
  ᴏ: 'o',
  ᴘ: 'p',
  ᴛ: 't',
  ᴜ: 'u',
  ᴠ: 'v',
  ᴡ: 'w',
  ᴢ: 'z',
  ø: 'o',
  đ: 'd',
  ħ: 'h',
  ł: 'l',
  ß: 'ss',
  // Punctuation look-alikes that matter to phrase boundaries and delimiters
  '\u2018': "'",
  '\u2019': "'",
  '\u201C': '"',
  '\u201D': '"',
  '\u2010': '-',
  '\u2011': '-',
  '\u2012': '-',
  '\u2013': '-',
  '\u2014': '-',
};

/** Digits and symbols that stand for letters inside a word (`1gn0r3`, `pr3v!ous`, `@ll`). */
const LEET: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
};

const COMBINING_MARKS = /\p{M}+/gu;
/** Greek and Cyrillic capitals whose lower-case form no longer looks like the Latin letter. */
const UPPER_HOMOGLYPHS: Readonly<Record<string, string>> = {
  Α: 'a',
  Β: 'b',
  Ε: 'e',
  Ζ: 'z',
  Η: 'h',
  Ι: 'i',
  Κ: 'k',
  Μ: 'm',
  Ν: 'n',
  Ο: 'o',
  Ρ: 'p',
  Τ: 't',
  Υ: 'y',
  Χ: 'x',
  В: 'b',
  Н: 'h',
  М: 'm',
  Т: 't',
  К: 'k',
};

/**
 * A character map by code unit. Every key of both maps is one UTF-16 code unit (no surrogate
 * pairs), so mapping code units replaces exactly the characters a `[keys]` class with the `u`
 * flag would match.
 */
interface CodeUnitMap {
  /** Replacement code unit by code unit; 0 when unmapped, {@link MULTI} when longer. */
  readonly single: Uint16Array;
  readonly multi: ReadonlyMap<number, string>;
}
const MULTI = 0xffff;

function codeUnitMap(map: Readonly<Record<string, string>>): CodeUnitMap {
  const single = new Uint16Array(0x10000);
  const multi = new Map<number, string>();
  for (const [from, to] of Object.entries(map)) {
    if (from.length !== 1 || from.charCodeAt(0) < 128) {
      throw new Error(`Homoglyph key "${from}" is not one non-ASCII code unit`);
    }
    const code = from.charCodeAt(0);
    if (to.length === 1 && to.charCodeAt(0) !== 0 && to.charCodeAt(0) !== MULTI)
      single[code] = to.charCodeAt(0);
    else {
      single[code] = MULTI;
      multi.set(code, to);
    }
  }
  return { single, multi };
}
const UPPER_HOMOGLYPH_CODES = codeUnitMap(UPPER_HOMOGLYPHS);
const HOMOGLYPH_CODES = codeUnitMap(HOMOGLYPHS);

/** Reused output buffer of {@link mapCodeUnits}. */
let mapped = new Uint16Array(1024);

/**
 * Replaces every code unit that `map` has (non-ASCII keys only: ASCII passes through
 * untouched), writing into a reused buffer: one pass, no callback per replaced character.
 */
function mapCodeUnits(text: string, map: CodeUnitMap): string {
  const { single, multi } = map;
  let changed = false;
  let k = 0;
  if (mapped.length < text.length * 2 + 2) mapped = new Uint16Array(text.length * 2 + 2);
  const out = mapped;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const to = c < 128 ? 0 : (single[c] as number);
    if (to === 0) {
      out[k++] = c;
    } else if (to !== MULTI) {
      changed = true;
      out[k++] = to;
    } else {
      changed = true;
      const s = multi.get(c) as string;
      for (let j = 0; j < s.length; j++) out[k++] = s.charCodeAt(j);
    }
  }
  if (!changed) return text;
  let result = '';
  for (let at = 0; at < k; at += 8192) {
    result += String.fromCharCode.apply(
      null,
      out.subarray(at, Math.min(k, at + 8192)) as unknown as number[],
    );
  }
  return result;
}

/**
 * Lower-case, drop diacritics, map homoglyphs: the letters of the text as a reader sees them.
 * Scripts without Latin look-alikes (CJK, Arabic, ...) pass through unchanged.
 */
export function foldLetters(text: string): string {
  // Plain ASCII has nothing to fold (and lower-cases to ASCII); skipping the passes keeps
  // typical input cheap.
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  // Capitals first: lower-casing would turn Greek `Ν` (looks like N) into `ν` (looks like v).
  const lowered = mapCodeUnits(text, UPPER_HOMOGLYPH_CODES).toLowerCase();
  if (!NON_ASCII.test(lowered)) return lowered;
  return mapCodeUnits(lowered.normalize('NFD').replace(COMBINING_MARKS, ''), HOMOGLYPH_CODES);
}

/** Character classes of the leetspeak pass, as an ASCII table. */
const LETTER = 1; // a-z
const LEET_SYMBOL = 2; // 0-9 @ $ ! |
const CLASSES = (() => {
  const table = new Uint8Array(128);
  for (let c = 97; c <= 122; c++) table[c] = LETTER;
  for (const ch of '0123456789@$!|') table[ch.charCodeAt(0)] = LEET_SYMBOL;
  return table;
})();

const classOf = (c: number): number => (c < 128 ? (CLASSES[c] as number) : 0);

/** A letter next to a digit or symbol that stands for one. */
const LEET_BOUNDARY = /[a-z][0-9@$!|]|[0-9@$!|][a-z]/g;

/**
 * A word mixing letters with digits or symbols that stand for letters: a maximal run of
 * `[a-z0-9@$!|]` in which a letter and a digit/symbol are adjacent. This is what the regex
 * `(?<![a-z0-9@$!|])[a-z0-9@$!|]*?(?:[a-z][0-9@$!|]|[0-9@$!|][a-z])[a-z0-9@$!|]*` matches
 * (its lookbehind pins a match to the start of a run and its tail runs to the end), found
 * here without building anything when there is nothing to replace.
 */
function foldLeet(text: string): string {
  // A run is leetspeak exactly when a letter and a digit/symbol stand side by side in it: a
  // native search finds such pairs, and only their runs are read. Prose, and digits without
  // letters, cost that search alone; each character of a rewritten run is read twice more.
  let out = '';
  let copied = 0;
  const n = text.length;
  LEET_BOUNDARY.lastIndex = 0;
  for (let m = LEET_BOUNDARY.exec(text); m !== null; m = LEET_BOUNDARY.exec(text)) {
    let start = m.index;
    while (start > copied && classOf(text.charCodeAt(start - 1)) !== 0) start--;
    let end = m.index + 2;
    while (end < n && classOf(text.charCodeAt(end)) !== 0) end++;
    out += text.slice(copied, start) + foldLeetRun(text.slice(start, end));
    copied = end;
    LEET_BOUNDARY.lastIndex = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Replaces leetspeak inside one run (`1gn0r3`, `pr3v!ous`, `@ll`); plain numbers stay. */
function foldLeetRun(run: string): string {
  // A trailing `!`, `|` or `$` after a word is punctuation, not a letter.
  let end = run.length;
  while (end > 0 && '!|$'.includes(run[end - 1] as string)) end--;
  let out = '';
  for (let i = 0; i < end; i++) {
    const c = run[i] as string;
    out += LEET[c] ?? c;
  }
  return out + run.slice(end);
}

/** A gap that separates words inside a spaced-out run. */
const WORD_BREAK = /\s\s|[\n\r/|]/;

/**
 * Letters spelled out one at a time (`i g n o r e`, `i.g.n.o.r.e`, `I-G-N-O-R-E`): at least
 * three single letters separated by one to three spacer characters. Each repetition
 * consumes a spacer and a letter, disjoint classes, so matching is linear.
 */
const SPACED_LETTERS = /(?<![a-z])[a-z](?:[\s.\-_*~+\u00B7\u2022/\\|]{1,3}[a-z](?![a-z])){2,}/g;

/** Joins spaced-out letters; a gap of two or more spaces, a new line, `/` or `|` stays a word break. */
function collapseSpacedLetters(text: string): string {
  return text.replace(SPACED_LETTERS, joinSpacedRun);
}

function joinSpacedRun(run: string): string {
  let out = '';
  let gap = '';
  for (const c of run) {
    if (c >= 'a' && c <= 'z') {
      if (out !== '' && WORD_BREAK.test(gap)) out += ' ';
      out += c;
      gap = '';
    } else {
      gap += c;
    }
  }
  return out;
}

/**
 * The whitespace `\s+` -> `' '` changes: a run of two or more (matched whole, greedily,
 * from its first character), or a single white-space character other than a space.
 */
const WHITESPACE_TO_COLLAPSE = /\s{2,}|[^\S ]/g;

/**
 * `text.replace(/\s+/g, ' ')`, replacing only the runs that change: the usual single spaces
 * between words cost nothing.
 */
export function collapseWhitespace(text: string): string {
  return text.replace(WHITESPACE_TO_COLLAPSE, ' ');
}

/** Reused output buffer of {@link lettersOnly}. */
let letters = Buffer.alloc(1024);

/** `text.replace(/[^a-z]+/g, '')`: the ASCII letters of a text, in one pass. */
export function lettersOnly(text: string): string {
  if (letters.length < text.length) letters = Buffer.alloc(Math.max(text.length, letters.length * 2));
  const buffer = letters;
  let k = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 97 && c <= 122) buffer[k++] = c;
  }
  return buffer.toString('latin1', 0, k);
}

/** The views detectors scan. */
export interface DetectionViews {
  /** Forwarded form lower-cased with whitespace collapsed; non-Latin scripts intact. */
  readonly lower: string;
  /** Fully folded: letters, homoglyphs, leetspeak, spaced letters; whitespace collapsed. */
  readonly folded: string;
  /** `folded` with everything but a-z removed, for phrases split by arbitrary punctuation. */
  readonly squashed: string;
}

/** Builds the detection views of an already normalized text. */
export function detectionViews(normalized: string): DetectionViews {
  const lower = collapseWhitespace(normalized.toLowerCase());
  return { lower, ...foldedViews(normalized) };
}

/**
 * The folded and squashed views only, for callers that match words and nothing else (the
 * output check's blocked words): two passes fewer than {@link detectionViews} on every reply.
 */
export function foldedViews(normalized: string): Pick<DetectionViews, 'folded' | 'squashed'> {
  const folded = collapseWhitespace(collapseSpacedLetters(foldLeet(foldLetters(normalized)))).trim();
  return { folded, squashed: lettersOnly(folded) };
}
