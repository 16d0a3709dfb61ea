/**
 * Finds encoded payloads in a message and decodes them, so the injection detector can scan
 * what an encoding hides (base64, hex, `\xNN` escapes, URL escapes, decimal or binary
 * character codes, ROT13, reversed text).
 *
 * Cost is bounded: candidates come from regexes whose repetitions are a single character
 * class or a fixed-width group (no ambiguity, so no backtracking beyond the run), each
 * candidate is cut to {@link MAX_CANDIDATE_CHARS}, and decoding stops once
 * {@link DECODE_BUDGET_CHARS} characters have been decoded for one message.
 */

import { textScan } from './text-scan';

/** How a payload was encoded. */
export type Encoding = 'base64' | 'hex' | 'url' | 'charcodes' | 'rot13' | 'reversed';

/** One decoded payload. */
export interface DecodedPayload {
  readonly encoding: Encoding;
  readonly text: string;
}

/** Longest encoded candidate looked at; longer runs are decoded from their start. */
export const MAX_CANDIDATE_CHARS = 4096;
/** Total encoded characters decoded per message. */
export const DECODE_BUDGET_CHARS = 16_384;

// Base64 runs (`(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}`) and hex runs
// (`(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){8,}`) are found by one hand-written pass
// ({@link hexAndBase64Runs}); the other candidates by regexes.
const HEX_SPACED = /(?:[0-9A-Fa-f]{2}[ :]){7,}[0-9A-Fa-f]{2}/g;
/**
 * What every {@link HEX_SPACED} match holds from its first separator on (`[ :]hh[ :]hh[ :]`):
 * a search that starts at a separator, rare in prose, instead of at every hex letter.
 */
const HEX_SPACED_CORE = /[ :][0-9A-Fa-f]{2}[ :][0-9A-Fa-f]{2}[ :]/;
const HEX_ESCAPED = /(?:\\x[0-9A-Fa-f]{2}){4,}/g;
const URL_ESCAPE = /%[0-9A-Fa-f]{2}/g;
/** URL-encoded text has escapes throughout (`Ignore%20all%20...`), not necessarily adjacent. */
const MIN_URL_ESCAPES = 3;
const DECIMAL_CODES = /(?:\b\d{2,3}[ \t]{0,2},[ \t]{0,2}){3,}\d{2,3}\b/g;
const BINARY_CODES = /(?:[01]{8}[^01\n]{1,4}){3,}[01]{8}/g;

/** ASCII lookup table of the hex alphabet. */
const HEX_CHARS = asciiTable(/[0-9A-Fa-f]/);

function asciiTable(pattern: RegExp): Uint8Array {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = pattern.test(String.fromCharCode(c)) ? 1 : 0;
  return table;
}

const inTable = (table: Uint8Array, c: number): boolean => c < 128 && table[c] === 1;

/**
 * Maximal runs of `table` characters of at least `min` characters inside `[from, to)`, as
 * flat `[start, end)` pairs. One pass, no regex: the runs base64 and hex candidates start from.
 */
function classRuns(text: string, table: Uint8Array, min: number, from: number, to: number): number[] {
  const runs: number[] = [];
  let i = from;
  while (i < to) {
    if (!inTable(table, text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    i++;
    while (i < to && inTable(table, text.charCodeAt(i))) i++;
    if (i - start >= min) runs.push(start, i);
  }
  return runs;
}

/**
 * Hex and base64 candidates, each in text order: the matches the regexes
 * `(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){8,}` and `(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}`
 * would find. The lookbehinds pin a match to the start of a run, so a hex match is a maximal
 * hex run of 16 or more characters cut to an even length, and a base64 match a maximal
 * base64 run of 16 or more plus up to two `=`. Exported for tests. Hex
 * characters are base64 characters, so hex runs of 16 are only looked for inside base64
 * runs of 16 (whose ends are not base64, so not hex, characters either).
 */
export function hexAndBase64Runs(text: string): { hex: string[]; base64: string[] } {
  const hex: string[] = [];
  const base64: string[] = [];
  // The base64 runs of 16 or more come from the shared pass over the text (text-scan.ts).
  const runs = textScan(text).base64Runs;
  for (let r = 0; r < runs.length; r += 2) {
    const start = runs[r] as number;
    let end = runs[r + 1] as number;
    const inner = classRuns(text, HEX_CHARS, 16, start, end);
    for (let h = 0; h < inner.length; h += 2) {
      const hexStart = inner[h] as number;
      const hexEnd = inner[h + 1] as number;
      hex.push(text.slice(hexStart, hexEnd - ((hexEnd - hexStart) % 2)));
    }
    if (text.charCodeAt(end) === 61) end++;
    if (text.charCodeAt(end) === 61) end++;
    base64.push(text.slice(start, end));
  }
  return { hex, base64 };
}

// Regexes used per candidate live at module level: a literal in a loop builds a new object each time.
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;
const ALL_HEX = /^[0-9A-Fa-f]+$/;

/** Share of characters that must be printable for a decoding to count as text. */
const PRINTABLE_SHARE = 0.9;

function printableShare(text: string): number {
  if (text.length === 0) return 0;
  let printable = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13 || c >= 160) printable++;
  }
  return printable / text.length;
}

/** Whether a decoded text looks like language or code rather than noise. */
function looksLikeText(text: string): boolean {
  if (text.length < 4 || printableShare(text) < PRINTABLE_SHARE) return false;
  // Natural text and shell commands have letters; random bytes that happen to be printable
  // rarely have a letter share this high.
  let letters = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) | 32;
    if (c >= 97 && c <= 122) letters++;
  }
  return letters / text.length >= 0.5;
}

/** A run of the base64 alphabet is a candidate only if it mixes character kinds as base64 does. */
function base64Plausible(run: string): boolean {
  let upper = false;
  let lower = false;
  let other = false;
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    if (c >= 65 && c <= 90) upper = true;
    else if (c >= 97 && c <= 122) lower = true;
    else other = true;
  }
  return (upper && lower) || (other && (upper || lower));
}

function decodeBase64(run: string): string {
  const body = run.replace(/=+$/, '');
  // Decode whole 4-character groups only: a trailing partial group is padding noise.
  const usable = body.slice(0, body.length - (body.length % 4 === 1 ? 1 : 0));
  const standard = usable.replace(/-/g, '+').replace(/_/g, '/');
  return Buffer.from(standard, 'base64').toString('utf8');
}

function decodeHexPairs(hex: string): string {
  return Buffer.from(hex, 'hex').toString('utf8');
}

/** Decodes `%XX` escapes byte-wise; invalid UTF-8 becomes U+FFFD rather than throwing. */
function decodeUrlEscapes(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 37 && i + 2 < text.length && HEX_PAIR.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 128) {
      bytes.push(c === 43 ? 32 : c);
    } else {
      for (const b of Buffer.from(text[i] as string, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeCodes(run: string, radix: number, pattern: RegExp): string {
  let out = '';
  for (const m of run.matchAll(pattern)) {
    const code = Number.parseInt(m[0], radix);
    if (code < 9 || code > 126) return '';
    out += String.fromCharCode(code);
  }
  return out;
}

/** ROT13 of ASCII letters. */
export function rot13(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 97 && c <= 122) out += String.fromCharCode(((c - 97 + 13) % 26) + 97);
    else if (c >= 65 && c <= 90) out += String.fromCharCode(((c - 65 + 13) % 26) + 65);
    else out += text[i];
  }
  return out;
}

/**
 * Every payload hidden in `text` by a supported encoding, decoded, within the budget.
 * ROT13 and reversal apply to the whole text (any text "decodes" under them), so callers
 * scan those with their phrase rules only.
 */
export function decodePayloads(text: string): DecodedPayload[] {
  const found: DecodedPayload[] = [];
  let budget = DECODE_BUDGET_CHARS;
  const take = (run: string): string => {
    const cut = run.slice(0, Math.min(MAX_CANDIDATE_CHARS, budget));
    budget -= cut.length;
    return cut;
  };
  const add = (encoding: Encoding, decoded: string): void => {
    if (looksLikeText(decoded)) found.push({ encoding, text: decoded });
  };

  const runs = hexAndBase64Runs(text);
  for (const match of runs.hex) {
    if (budget <= 0) break;
    const run = take(match);
    add('hex', decodeHexPairs(run.slice(0, run.length - (run.length % 2))));
  }
  for (const pattern of [HEX_SPACED, HEX_ESCAPED]) {
    // Every `\xNN` escape contains a backslash.
    if (pattern === HEX_ESCAPED && !text.includes('\\')) continue;
    if (pattern === HEX_SPACED && !HEX_SPACED_CORE.test(text)) continue;
    for (const m of text.matchAll(pattern)) {
      if (budget <= 0) break;
      add('hex', decodeHexPairs(take(m[0]).replace(/\\x|[ :]/g, '')));
    }
  }
  for (const match of runs.base64) {
    if (budget <= 0) break;
    // A hex run is also valid base64; it was decoded as hex above.
    if (ALL_HEX.test(match) || !base64Plausible(match)) continue;
    add('base64', decodeBase64(take(match)));
  }
  // Decimal and binary character codes are digits: a text without any has none to decode.
  const digits = textScan(text).hasDigit;
  for (const m of digits ? text.matchAll(DECIMAL_CODES) : []) {
    if (budget <= 0) break;
    add('charcodes', decodeCodes(take(m[0]), 10, /\d{2,3}/g));
  }
  for (const m of digits ? text.matchAll(BINARY_CODES) : []) {
    if (budget <= 0) break;
    add('charcodes', decodeCodes(take(m[0]), 2, /[01]{8}/g));
  }
  if (budget > 0) {
    URL_ESCAPE.lastIndex = 0;
    let escapes = 0;
    while (escapes < MIN_URL_ESCAPES && URL_ESCAPE.exec(text) !== null) escapes++;
    URL_ESCAPE.lastIndex = 0;
    if (escapes >= MIN_URL_ESCAPES) add('url', decodeUrlEscapes(take(text)));
  }
  return found;
}
