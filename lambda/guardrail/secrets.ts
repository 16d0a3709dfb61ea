/**
 * Secret detection of the local policy engine (DESIGN.md section 6): cloud keys, private
 * keys, JWTs, bearer tokens, passwords in assignments and high-entropy values under
 * key-like names. A secret in a prompt is refused (it would be sent to the model and
 * stored); a secret in a reply is masked.
 *
 * Secrets spelled out with spaces or encoded in base64 or hex are restored and scanned once
 * more (one level, a bounded number of characters per message).
 *
 * Linear time: every pattern is either a literal prefix followed by a bounded run of one
 * character class, or a key name with bounded separators; PEM blocks are closed with
 * `indexOf`, not a lazy regex.
 */
import { MIN_SPACED_OUT, textScan } from './text-scan';

/** Kinds of secret, used in rule ids (`secret.<kind>`). */
export type SecretKind =
  | 'aws_access_key'
  | 'aws_secret_key'
  | 'private_key'
  | 'jwt'
  | 'bearer_token'
  | 'password'
  | 'api_key';

/** One detected secret and its half-open span. */
export interface SecretFinding {
  readonly kind: SecretKind;
  readonly start: number;
  readonly end: number;
}

/** What replaces a secret in a masked text. */
export const SECRET_MASK = '{SECRET}';

/** Shannon entropy in bits per character. */
export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const ascii = asciiEntropy(value);
  if (ascii !== undefined) return ascii;
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Reused per-character counts of {@link asciiEntropy} (reset after each use). */
const asciiCounts = new Int32Array(128);
const asciiOrder = new Uint8Array(128);

/**
 * {@link shannonEntropy} of a plain-ASCII value without a map: the same counts, summed in
 * the same order (first occurrence), so the same number. Undefined if a character is not ASCII.
 */
function asciiEntropy(value: string): number | undefined {
  let distinct = 0;
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128) {
      ascii = false;
      break;
    }
    if (asciiCounts[c] === 0) asciiOrder[distinct++] = c;
    asciiCounts[c] = (asciiCounts[c] as number) + 1;
  }
  let bits = 0;
  for (let k = 0; k < distinct; k++) {
    const c = asciiOrder[k] as number;
    const p = (asciiCounts[c] as number) / value.length;
    asciiCounts[c] = 0;
    bits -= p * Math.log2(p);
  }
  return ascii ? bits : undefined;
}

/** Character kinds present (lower, upper, digit, other): real keys mix at least two. */
function characterKinds(value: string): number {
  let lower = 0;
  let upper = 0;
  let digit = 0;
  let other = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = 1;
    else if (c >= 65 && c <= 90) upper = 1;
    else if (c >= 48 && c <= 57) digit = 1;
    else other = 1;
  }
  return lower + upper + digit + other;
}

/**
 * Values that stand in for a secret in examples and templates, not secrets themselves. The
 * bullet is written `\u2022`: esbuild copies regular-expression literals as written, and one
 * non-ASCII character makes V8 hold and scan the whole bundle two bytes per character
 * (test/infra/function-bundle.test.ts keeps the bundles ASCII).
 */
const PLACEHOLDER =
  /^(?:[*xX\u2022.#-]+|<[^>]*>?|\{[A-Za-z_ ]*\}?|\$\{?[A-Za-z_][\w.]*\}?|\{\{?[^}]*\}?\}|%\(?[\w]*\)?s?|\[[^\]]*\]|(?:your|my|the|some|example|sample|dummy|fake|test|new|old)[_-]?\w*|password\d*|passw0rd|changeme|secret|null|none|nil|undefined|true|false|required|optional|string|str|env|redacted|hidden|\.\.\.)$/i;

/** AWS access key ids: a documented prefix and 16 more upper-case letters or digits. */
const AWS_ACCESS_KEY =
  /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Za-z0-9])/g;
/** AWS secret access keys: 40 base64 characters after a key-like name. */
const AWS_SECRET_KEY =
  /\b(?:aws_?secret_?(?:access_?)?key|secret_?access_?key|aws_?secret|secretaccesskey)["']?[ \t]{0,3}[:=][ \t]{0,3}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/dgi;
/** Known token prefixes: GitHub, Slack, Stripe, OpenAI/Anthropic-style, Google, this service's API keys. */
const PREFIXED_TOKEN =
  /(?<![A-Za-z0-9_-])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255}|xox[abposr]-[A-Za-z0-9-]{10,255}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,255}|sk-(?:ant-|proj-)?[A-Za-z0-9_-]{32,255}|AIza[0-9A-Za-z_-]{35}|ak_[A-Za-z0-9_-]{43}|glpat-[A-Za-z0-9_-]{20,255}|npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_-])/g;
/** JSON Web Tokens: base64url header and payload that both start with `{"`. */
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,2000}\.eyJ[A-Za-z0-9_-]{5,8000}\.[A-Za-z0-9_-]{0,2000}/g;
/** Bearer and Basic credentials in an authorization header or sentence. */
const BEARER = /\b(?:bearer|token)[ \t]{1,3}([A-Za-z0-9._~+/-]{20,4000}={0,2})(?![A-Za-z0-9._~+/=-])/dgi;
const BASIC_AUTH =
  /\bauthorization["']?[ \t]{0,3}[:=][ \t]{0,3}["']?basic[ \t]{1,3}([A-Za-z0-9+/]{8,1000}={0,2})/dgi;
/** Password assignments in config, code, JSON, URLs, and sentences. */
const PASSWORD_ASSIGNMENT =
  /(?:password|passwd|passphrase|pwd|pass|secret)["']?[ \t]{0,3}(?:[:=]|=>)[ \t]{0,3}["']?([^\s"',;&}]{3,200})/dgi;
/** The whole identifier a password assignment's name ends with: `db_password`, `pwd`, `secret`. */
const PASSWORD_NAME = /^(?:[a-z0-9_.-]{0,30}(?:password|passwd|passphrase)|pwd|pass|db_pass|secret)$/i;
const PASSWORD_SENTENCE =
  /\b(?:my|the|our|his|her|their) password (?:is|was|will be)[ \t]{1,3}["'`]?([^\s"'`]{4,200})/dgi;
const URL_CREDENTIALS = /:\/\/[^\s:/@]{1,100}:([^\s@/]{3,200})@/dg;
/** Values under key-like names, kept when they look random (entropy and character mix). */
/**
 * An assignment whose name ends in key, token, secret or credential(s); the regex starts at
 * that literal (fast to find), and the whole name is checked against {@link KEYLIKE_NAME}.
 */
const KEYLIKE_ASSIGNMENT =
  /(?:key|token|secret|credentials?)["']?[ \t]{0,3}(?:[:=]|=>)[ \t]{0,3}["']?([A-Za-z0-9_\-./+=]{16,512})/dgi;
const KEYLIKE_NAME =
  /^(?:[a-z0-9]{0,20}[_-]?)?(?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|id[_-]?token|secret[_-]?key|client[_-]?secret|private[_-]?key|signing[_-]?key|encryption[_-]?key|token|secret|credentials?|x-api-key)$/i;

/** `[A-Za-z0-9_.-]` */
const isIdentifierChar = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45;

// Regexes used per match live at module level: a literal in a loop builds a new object each time.
const LEADING_LETTERS = /^[a-z]+/i;
const TRAILING_PUNCTUATION = /[.)]+$/;
const SECRET_NAME = /^secret/i;

/** The identifier that ends at `end` (letters, digits, `_`, `-`, `.`; at most 40 characters back). */
function identifierBefore(text: string, end: number): string {
  let start = end;
  while (start > 0 && end - start < 40 && isIdentifierChar(text.charCodeAt(start - 1))) start--;
  return text.slice(start, end);
}

const PEM_BEGIN = /-----BEGIN (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_END = /-----END (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY(?: BLOCK)?-----/y;

/** The span of group 1 of a match made with the `d` flag. */
function groupSpan(m: RegExpMatchArray): [number, number] | undefined {
  const span = m.indices?.[1];
  return span ? [span[0], span[1]] : undefined;
}

function jwtHeaderValid(token: string): boolean {
  const header = token.slice(0, token.indexOf('.'));
  try {
    const decoded = Buffer.from(header, 'base64url').toString('utf8');
    return decoded.startsWith('{') && decoded.includes('"alg"');
  } catch {
    return false;
  }
}

function looksRandom(value: string): boolean {
  return value.length >= 16 && characterKinds(value) >= 2 && shannonEntropy(value) >= 3.5;
}

/** Characters of spelled-out and encoded secrets (base64, base64url, hex; `:` joins key and secret). */
const CHAR_CLASS = (() => {
  // 1: token character, 2: also a hex digit. A table: these loops visit every character.
  const table = new Uint8Array(128);
  for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-:') {
    table[ch.charCodeAt(0)] = 1;
  }
  for (const ch of '0123456789abcdefABCDEF') table[ch.charCodeAt(0)] = 2;
  return table;
})();
const isTokenChar = (c: number): boolean => c < 128 && CHAR_CLASS[c] !== 0;
const isHexChar = (c: number): boolean => c < 128 && CHAR_CLASS[c] === 2;
/**
 * Prefilter of the scans below (exported for the equivalence test): whether the text holds
 * a run of {@link MIN_BASE64} base64/base64url characters (a possible encoded secret) and
 * whether it holds {@link MIN_SPACED} token characters each followed by one space (a possible
 * spelled-out one). Ordinary prose has neither, and the scans are skipped. Both answers come
 * from the pass over the text that decoding and PII detection share (text-scan.ts); the
 * regexes `/[A-Za-z0-9+/_-]{24}/` and `/(?:[A-Za-z0-9+/=_:-] ){15}[A-Za-z0-9+/=_:-]/` say the
 * same but retry at every position.
 */
export function mayHideSecrets(text: string): { encoded: boolean; spaced: boolean } {
  const scan = textScan(text);
  return { encoded: scan.longestBase64Run >= MIN_BASE64, spaced: scan.spacedOut };
}

/** Fewest single characters of a spelled-out secret, and of a base64 or hex run. */
const MIN_SPACED = MIN_SPACED_OUT;
const MIN_BASE64 = 24;
const MIN_HEX = 32;

/**
 * Spans of single characters separated by single spaces (`A K I A I O S F ...`), at least
 * {@link MIN_SPACED} of them: a secret spelled out past a scanner. One left-to-right pass.
 */
function spacedOutRuns(text: string): [number, number][] {
  const runs: [number, number][] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isTokenChar(text.charCodeAt(i)) || (i > 0 && isTokenChar(text.charCodeAt(i - 1)))) {
      i++;
      continue;
    }
    let j = i;
    let units = 1;
    while (
      j + 2 < n &&
      text.charCodeAt(j + 1) === 32 &&
      isTokenChar(text.charCodeAt(j + 2)) &&
      !isTokenChar(text.charCodeAt(j + 3))
    ) {
      j += 2;
      units++;
    }
    if (units >= MIN_SPACED && !isTokenChar(text.charCodeAt(j + 1))) runs.push([i, j + 1]);
    i = j + 1;
  }
  return runs;
}

/**
 * Maximal runs of base64/base64url characters (and trailing `=`), at least
 * {@link MIN_BASE64} long, each marked when it is also an even-length hex run (optionally
 * `0x`-prefixed) of at least {@link MIN_HEX}. One left-to-right pass.
 */
function encodedRuns(text: string): { start: number; end: number; hexFrom: number }[] {
  const runs: { start: number; end: number; hexFrom: number }[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (!isTokenChar(c) || c === 58 || c === 61) {
      i++;
      continue;
    }
    const start = i;
    let hex = true;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (!isTokenChar(d) || d === 58 || d === 61) break;
      if (!isHexChar(d) && !(i === start + 1 && (d === 120 || d === 88) && text.charCodeAt(start) === 48))
        hex = false;
      i++;
    }
    let end = i;
    for (let pad = 0; pad < 2 && text.charCodeAt(end) === 61; pad++) end++;
    const hexFrom =
      text.charCodeAt(start + 1) === 120 || text.charCodeAt(start + 1) === 88 ? start + 2 : start;
    const hexRun = hex && end === i && (i - hexFrom) % 2 === 0 && i - hexFrom >= MIN_HEX;
    if (end - start >= MIN_BASE64) runs.push({ start, end, hexFrom: hexRun ? hexFrom : -1 });
    i = end;
  }
  return runs;
}

/** Most characters decoded per message, so decoding stays linear and bounded. */
const MAX_DECODED_CHARS = 20_000;

/** Whether a decoded buffer is text (printable ASCII and whitespace), not binary. */
function printable(decoded: string): boolean {
  if (decoded.length === 0) return false;
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i);
    if ((c < 32 || c > 126) && c !== 9 && c !== 10 && c !== 13) return false;
  }
  return true;
}

/**
 * Secrets hidden by spelling them out or encoding them (base64, hex): each candidate is
 * restored and scanned with the direct detectors; a hit masks the whole spelled or encoded
 * span, under the kind found inside.
 */
function findHiddenSecrets(text: string, add: (kind: SecretKind, start: number, end: number) => void): void {
  let budget = MAX_DECODED_CHARS;
  // Restored candidates are scanned together, one per line, in one pass of the detectors
  // (a message can hold hundreds of small payloads; a pass each would cost a pass each).
  const restored: string[] = [];
  const spans: [number, number][] = [];
  const offsets: number[] = [];
  let length = 0;
  const collect = (value: string, start: number, end: number): void => {
    budget -= value.length;
    offsets.push(length);
    restored.push(value);
    spans.push([start, end]);
    length += value.length + 1;
  };
  const may = mayHideSecrets(text);
  if (may.spaced) {
    for (const [start, end] of spacedOutRuns(text)) {
      if (budget <= 0) break;
      collect(text.slice(start, end).replace(/ /g, ''), start, end);
    }
  }
  for (const run of may.encoded ? encodedRuns(text) : []) {
    if (budget <= 0) break;
    const value = text.slice(run.start, run.end);
    const decoded =
      run.hexFrom >= 0
        ? Buffer.from(text.slice(run.hexFrom, run.end), 'hex').toString('latin1')
        : Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
    if (printable(decoded)) collect(decoded, run.start, run.end);
  }
  if (restored.length === 0) return;
  for (const inner of findDirectSecrets(restored.join('\n'))) {
    // The candidate holding the finding: the last one starting at or before it.
    let lo = 0;
    let hi = offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((offsets[mid] as number) <= inner.start) lo = mid;
      else hi = mid - 1;
    }
    const [start, end] = spans[lo] as [number, number];
    add(inner.kind, start, end);
  }
}

/** The literal words the patterns below start from, one bit each. */
const WORD_SECRET = 1;
const WORD_TOKEN = 2;
const WORD_BEARER = 4;
const WORD_AUTHORIZATION = 8;
const WORD_PASS = 16;
const WORD_PWD = 32;
const WORD_KEY = 64;
const WORD_CREDENTIAL = 128;
const ALL_WORDS = 255;
const WORD_BITS: Readonly<Record<string, number>> = {
  secret: WORD_SECRET,
  token: WORD_TOKEN,
  bearer: WORD_BEARER,
  authorization: WORD_AUTHORIZATION,
  pass: WORD_PASS,
  pwd: WORD_PWD,
  key: WORD_KEY,
  credential: WORD_CREDENTIAL,
};
const SECRET_WORDS = /secret|token|bearer|authorization|pass|pwd|key|credential/gi;

/**
 * Which of the words occur in `text`, case-insensitively as the patterns match them: one
 * native search for all eight. Each search restarts one character after the last hit, so
 * overlapping words (`secretoken`, `passecret`) are all found.
 */
function secretWords(text: string): number {
  let words = 0;
  SECRET_WORDS.lastIndex = 0;
  for (let m = SECRET_WORDS.exec(text); m !== null && words !== ALL_WORDS; m = SECRET_WORDS.exec(text)) {
    words |= WORD_BITS[m[0].toLowerCase()] ?? 0;
    SECRET_WORDS.lastIndex = m.index + 1;
  }
  return words;
}

/** Every secret in `text`, without overlaps, in text order (earlier and longer spans win). */
export function findSecrets(text: string): SecretFinding[] {
  return findDirectSecrets(text, true);
}

/** The detectors on the text as written; `hidden` adds spelled-out and encoded secrets. */
function findDirectSecrets(text: string, hidden = false): SecretFinding[] {
  const found: SecretFinding[] = [];
  const add = (kind: SecretKind, start: number, end: number): void => {
    if (end > start) found.push({ kind, start, end });
  };

  // The next END line at or after a position: searched again only when a BEGIN lies past
  // the last one found, so many BEGINs without an END cost one scan, not one each.
  let endAt = -2;
  for (const m of text.matchAll(PEM_BEGIN)) {
    const start = m.index ?? 0;
    // Close at the matching END line; an unterminated block is masked to the end.
    if (endAt === -2 || (endAt !== -1 && endAt < start + m[0].length)) {
      endAt = text.indexOf('-----END', start + m[0].length);
    }
    let end = text.length;
    if (endAt !== -1) {
      PEM_END.lastIndex = endAt;
      const close = PEM_END.exec(text);
      end = close ? endAt + close[0].length : endAt;
    }
    add('private_key', start, end);
  }
  for (const m of text.matchAll(AWS_ACCESS_KEY))
    add('aws_access_key', m.index ?? 0, (m.index ?? 0) + m[0].length);
  // Every pattern below needs a literal word (case-insensitive): one search for all of them
  // rules out each pattern the text cannot match, instead of a regex retried at every
  // position of a long message. The search uses the patterns' own case folding, so it finds
  // a word exactly where they could.
  const words = secretWords(text);
  const hasSecret = (words & WORD_SECRET) !== 0;
  const hasToken = (words & WORD_TOKEN) !== 0;
  if (hasSecret) {
    for (const m of text.matchAll(AWS_SECRET_KEY)) {
      const span = groupSpan(m);
      if (span) add('aws_secret_key', ...span);
    }
  }
  // Every prefix holds `_`, or is `xox…-`, `sk-`, `glpat-` or `AIza`: without any of them, no match.
  const prefixPossible =
    text.includes('_') ||
    text.includes('xox') ||
    text.includes('sk-') ||
    text.includes('glpat-') ||
    text.includes('AIza');
  if (prefixPossible)
    for (const m of text.matchAll(PREFIXED_TOKEN)) add('api_key', m.index ?? 0, (m.index ?? 0) + m[0].length);
  if (text.includes('eyJ'))
    for (const m of text.matchAll(JWT)) {
      if (jwtHeaderValid(m[0])) add('jwt', m.index ?? 0, (m.index ?? 0) + m[0].length);
    }
  for (const pattern of [BEARER, BASIC_AUTH]) {
    if (pattern === BEARER ? !hasToken && (words & WORD_BEARER) === 0 : (words & WORD_AUTHORIZATION) === 0)
      continue;
    for (const m of text.matchAll(pattern)) {
      const span = groupSpan(m);
      if (span && (pattern === BASIC_AUTH || looksRandom(text.slice(...span)))) add('bearer_token', ...span);
    }
  }
  const hasPass = (words & WORD_PASS) !== 0;
  const possible = new Map<RegExp, boolean>([
    [PASSWORD_ASSIGNMENT, hasPass || hasSecret || (words & WORD_PWD) !== 0],
    [PASSWORD_SENTENCE, hasPass],
    [URL_CREDENTIALS, text.includes('://')],
  ]);
  for (const pattern of [PASSWORD_ASSIGNMENT, PASSWORD_SENTENCE, URL_CREDENTIALS]) {
    if (possible.get(pattern) !== true) continue;
    for (const m of text.matchAll(pattern)) {
      const span = groupSpan(m);
      if (span === undefined) continue;
      if (pattern === PASSWORD_ASSIGNMENT) {
        const nameEnd = (m.index ?? 0) + (LEADING_LETTERS.exec(m[0])?.[0].length ?? 0);
        if (!PASSWORD_NAME.test(identifierBefore(text, nameEnd))) continue;
      }
      const value = text.slice(...span).replace(TRAILING_PUNCTUATION, '');
      if (PLACEHOLDER.test(value)) continue;
      // `secret: ...` without randomness is prose ("secret: the garden"), not a credential.
      if (SECRET_NAME.test(m[0]) && !looksRandom(value)) continue;
      add('password', span[0], span[0] + value.length);
    }
  }
  const keylikePossible = hasToken || hasSecret || (words & (WORD_KEY | WORD_CREDENTIAL)) !== 0;
  if (keylikePossible)
    for (const m of text.matchAll(KEYLIKE_ASSIGNMENT)) {
      const span = groupSpan(m);
      if (span === undefined) continue;
      const nameEnd = (m.index ?? 0) + (LEADING_LETTERS.exec(m[0])?.[0].length ?? 0);
      if (!KEYLIKE_NAME.test(identifierBefore(text, nameEnd))) continue;
      const value = text.slice(...span);
      if (!PLACEHOLDER.test(value) && looksRandom(value)) add('api_key', ...span);
    }

  if (hidden) findHiddenSecrets(text, add);

  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const accepted: SecretFinding[] = [];
  for (const f of found) {
    const last = accepted[accepted.length - 1];
    if (last === undefined || f.start >= last.end) accepted.push(f);
  }
  return accepted;
}
