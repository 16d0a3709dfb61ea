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

// The lookbehinds start a candidate only at the beginning of a run, so a word shorter than
// the minimum is scanned once, not once per position.
const BASE64_RUN = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}/g;
const HEX_RUN = /(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){8,}/g;
const HEX_SPACED = /(?:[0-9A-Fa-f]{2}[ :]){7,}[0-9A-Fa-f]{2}/g;
const HEX_ESCAPED = /(?:\\x[0-9A-Fa-f]{2}){4,}/g;
const URL_ESCAPE = /%[0-9A-Fa-f]{2}/g;
/** URL-encoded text has escapes throughout (`Ignore%20all%20...`), not necessarily adjacent. */
const MIN_URL_ESCAPES = 3;
const DECIMAL_CODES = /(?:\b\d{2,3}[ \t]{0,2},[ \t]{0,2}){3,}\d{2,3}\b/g;
const BINARY_CODES = /(?:[01]{8}[^01\n]{1,4}){3,}[01]{8}/g;

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
    if (c === 37 && i + 2 < text.length && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
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

  for (const m of text.matchAll(HEX_RUN)) {
    if (budget <= 0) break;
    const run = take(m[0]);
    add('hex', decodeHexPairs(run.slice(0, run.length - (run.length % 2))));
  }
  for (const pattern of [HEX_SPACED, HEX_ESCAPED]) {
    for (const m of text.matchAll(pattern)) {
      if (budget <= 0) break;
      add('hex', decodeHexPairs(take(m[0]).replace(/\\x|[ :]/g, '')));
    }
  }
  for (const m of text.matchAll(BASE64_RUN)) {
    if (budget <= 0) break;
    // A hex run is also valid base64; it was decoded as hex above.
    if (/^[0-9A-Fa-f]+$/.test(m[0]) || !base64Plausible(m[0])) continue;
    add('base64', decodeBase64(take(m[0])));
  }
  for (const m of text.matchAll(DECIMAL_CODES)) {
    if (budget <= 0) break;
    add('charcodes', decodeCodes(take(m[0]), 10, /\d{2,3}/g));
  }
  for (const m of text.matchAll(BINARY_CODES)) {
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
