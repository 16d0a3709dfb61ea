/**
 * One look at a message that answers the character-level questions several detectors ask
 * before their own scans: where the base64 runs are (decoded payloads, encoded secrets),
 * whether letters are spelled out one at a time (spaced-out secrets) and whether there is a
 * digit at all (the numeric PII kinds, character codes). Each detector used to make its own
 * full pass for its question; the engine hands the same normalized text to all of them, so the
 * answers are computed once per text and kept for the last two texts (a request's message
 * and its reply).
 */

/** Shortest base64 run reported in {@link TextScan.base64Runs}. */
export const MIN_BASE64_RUN = 16;
/** Fewest single characters, each one space after the previous, that count as spelled out. */
export const MIN_SPACED_OUT = 16;

/** What one pass found in a text. */
export interface TextScan {
  /** Maximal runs of `[A-Za-z0-9+/_-]` of {@link MIN_BASE64_RUN} or more, as flat `[start, end)` pairs. */
  readonly base64Runs: readonly number[];
  /** Length of the longest such run (0 when none reaches {@link MIN_BASE64_RUN}). */
  readonly longestBase64Run: number;
  /**
   * Whether {@link MIN_SPACED_OUT} characters of `[A-Za-z0-9+/=_:-]` occur each one space
   * after the previous (`A K I A ...`): what `/(?:[A-Za-z0-9+/=_:-] ){15}[A-Za-z0-9+/=_:-]/` tests.
   */
  readonly spacedOut: boolean;
  /** Whether the text holds an ASCII digit. */
  readonly hasDigit: boolean;
}

/** `[A-Za-z0-9+/_-]` by ASCII code. */
const BASE64_CHARS = (() => {
  const table = new Uint8Array(128);
  for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') {
    table[ch.charCodeAt(0)] = 1;
  }
  return table;
})();
const isBase64 = (c: number): boolean => c < 128 && BASE64_CHARS[c] === 1;

/**
 * Maximal base64 runs of {@link MIN_BASE64_RUN} or more. Every such run covers a position
 * `k * MIN_BASE64_RUN - 1`, so only those positions are probed; a probe on a base64
 * character is widened to its whole run. Prose, whose words are shorter than a run, is read
 * about one character in three instead of every one; each character is read at most twice.
 */
function base64Runs(text: string): { runs: number[]; longest: number } {
  const runs: number[] = [];
  let longest = 0;
  const n = text.length;
  let floor = 0;
  for (let probe = MIN_BASE64_RUN - 1; probe < n; probe += MIN_BASE64_RUN) {
    if (!isBase64(text.charCodeAt(probe))) continue;
    let start = probe;
    while (start > floor && isBase64(text.charCodeAt(start - 1))) start--;
    let end = probe + 1;
    while (end < n && isBase64(text.charCodeAt(end))) end++;
    if (end - start >= MIN_BASE64_RUN) {
      runs.push(start, end);
      if (end - start > longest) longest = end - start;
    }
    floor = end;
    // The next probe past this run (the loop adds one step).
    while (probe + MIN_BASE64_RUN <= end) probe += MIN_BASE64_RUN;
  }
  return { runs, longest };
}

/**
 * Three single characters in a row, each between spaces: the middle of every spelled-out
 * run, and rare in prose. Only a text that has it gets the exact scan below.
 */
const SPACED_TRIPLE = / [A-Za-z0-9+/=_:-] [A-Za-z0-9+/=_:-] [A-Za-z0-9+/=_:-] /;
const isToken = (c: number): boolean => isBase64(c) || c === 61 || c === 58;

/** {@link MIN_SPACED_OUT} token characters, each one space after the previous. */
function spacedOut(text: string): boolean {
  if (!SPACED_TRIPLE.test(text)) return false;
  let chain = 0;
  let lastTokenAt = -2;
  for (let i = 0; i < text.length; i++) {
    if (!isToken(text.charCodeAt(i))) continue;
    // Each character of a spelled-out run sits two positions after the previous, a space between.
    chain = lastTokenAt === i - 2 && text.charCodeAt(i - 1) === 32 ? chain + 1 : 1;
    lastTokenAt = i;
    if (chain >= MIN_SPACED_OUT) return true;
  }
  return false;
}

const DIGIT = /[0-9]/;

function scan(text: string): TextScan {
  const { runs, longest } = base64Runs(text);
  return {
    base64Runs: runs,
    longestBase64Run: longest,
    spacedOut: spacedOut(text),
    hasDigit: DIGIT.test(text),
  };
}

/** The last two texts scanned, least recently used first out. */
const slots: { text: string | undefined; result: TextScan | undefined; lastUsed: number }[] = [
  { text: undefined, result: undefined, lastUsed: 0 },
  { text: undefined, result: undefined, lastUsed: 0 },
];
let clock = 0;

/** The scan of `text`, computed on first request and reused while the text is among the last two. */
export function textScan(text: string): TextScan {
  const [a, b] = slots as [(typeof slots)[number], (typeof slots)[number]];
  let slot = a.text === text ? a : b.text === text ? b : undefined;
  if (slot === undefined || slot.result === undefined) {
    slot = a.lastUsed <= b.lastUsed ? a : b;
    slot.result = scan(text);
    slot.text = text;
  }
  slot.lastUsed = ++clock;
  return slot.result as TextScan;
}
