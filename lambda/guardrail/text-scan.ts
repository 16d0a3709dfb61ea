/**
 * One pass over a message that answers the character-level questions several detectors ask
 * before their own scans: where the base64 runs are (decoded payloads, encoded secrets),
 * whether letters are spelled out one at a time (spaced-out secrets) and whether there is a
 * digit at all (the numeric PII kinds, character codes). Each detector used to make its own
 * pass for its question; the engine hands the same normalized text to all of them, so the
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

const BASE64 = 1;
const TOKEN = 2;
const DIGIT = 4;

/** Character flags by ASCII code: a table read per character is the whole cost of the pass. */
const FLAGS = (() => {
  const table = new Uint8Array(128);
  for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') {
    table[ch.charCodeAt(0)] = BASE64 | TOKEN;
  }
  for (const ch of '=:') table[ch.charCodeAt(0)] = TOKEN;
  for (let c = 48; c <= 57; c++) table[c] = BASE64 | TOKEN | DIGIT;
  return table;
})();

function scan(text: string): TextScan {
  const runs: number[] = [];
  let longest = 0;
  let runStart = -1;
  let spacedOut = false;
  let hasDigit = false;
  let chain = 0;
  let lastTokenAt = -2;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const flags = c < 128 ? (FLAGS[c] as number) : 0;
    if ((flags & BASE64) !== 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart >= MIN_BASE64_RUN) {
        runs.push(runStart, i);
        if (i - runStart > longest) longest = i - runStart;
      }
      runStart = -1;
    }
    if ((flags & TOKEN) !== 0) {
      // Each character of a spelled-out run sits two positions after the previous, a space between.
      chain = lastTokenAt === i - 2 && text.charCodeAt(i - 1) === 32 ? chain + 1 : 1;
      lastTokenAt = i;
      if (chain >= MIN_SPACED_OUT) spacedOut = true;
      if ((flags & DIGIT) !== 0) hasDigit = true;
    }
  }
  if (runStart >= 0 && n - runStart >= MIN_BASE64_RUN) {
    runs.push(runStart, n);
    if (n - runStart > longest) longest = n - runStart;
  }
  return { base64Runs: runs, longestBase64Run: longest, spacedOut, hasDigit };
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
