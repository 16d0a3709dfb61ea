/**
 * PII detection and masking of the local policy engine (DESIGN.md section 6, layer 1 and 3).
 *
 * Every detector runs in linear time on any input: candidates come from regexes whose
 * repetitions are either bounded (a few dozen characters at most) or separated by a
 * mandatory delimiter, so no input can make them backtrack more than a constant per
 * position. Candidates are then confirmed with the checks the format defines (Luhn for
 * payment cards, mod-97 for IBANs, reserved ranges for US SSNs, octet ranges for IPv4).
 *
 * Type names are Bedrock's sensitive-information entity types, so one policy maps onto
 * both the Bedrock guardrail and this engine, and the mask `{TYPE}` is the one Bedrock
 * uses when it anonymizes.
 */
import { textScan } from './text-scan';

/** The PII kinds the local engine detects (Bedrock `PiiEntityType` names). */
export const PII_TYPES = [
  'EMAIL',
  'PHONE',
  'CREDIT_DEBIT_CARD_NUMBER',
  'INTERNATIONAL_BANK_ACCOUNT_NUMBER',
  'US_SOCIAL_SECURITY_NUMBER',
  'UK_NATIONAL_INSURANCE_NUMBER',
  'IP_ADDRESS',
] as const;
/** A PII kind. */
export type PiiType = (typeof PII_TYPES)[number];

/** One detected value: its kind and its half-open span in the scanned text. */
export interface PiiFinding {
  readonly type: PiiType;
  readonly start: number;
  readonly end: number;
}

/** The mask that replaces a value of `type`. */
export const piiMask = (type: PiiType): string => `{${type}}`;

// ---------------------------------------------------------------------------------------------
// Checksums and validators

/** {@link luhnValid} of the first `n` digit values of `digits`. */
function luhnValidDigits(digits: Uint8Array, n: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = n - 1; i >= 0; i--) {
    let d = digits[i] as number;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return n > 0 && sum % 10 === 0;
}

/** Luhn (mod 10) check of a digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * Issuer prefixes and lengths of the card networks in circulation (ISO/IEC 7812 IINs), for
 * the first `n` digit values of `digits`.
 */
function plausibleCard(digits: Uint8Array, n: number): boolean {
  if (n < 6) return false;
  const digit = (k: number): number => digits[k] as number;
  const two = digit(0) * 10 + digit(1);
  const four = two * 100 + digit(2) * 10 + digit(3);
  const six = four * 100 + digit(4) * 10 + digit(5);
  if (digit(0) === 4) return n === 13 || n === 16 || n === 19; // Visa
  if (two >= 51 && two <= 55) return n === 16; // Mastercard
  if (four >= 2221 && four <= 2720) return n === 16; // Mastercard 2-series
  if (two === 34 || two === 37) return n === 15; // American Express
  if (four === 6011 || two === 65 || (six >= 644000 && six <= 649999)) return n >= 16 && n <= 19; // Discover
  if (four >= 3528 && four <= 3589) return n >= 16 && n <= 19; // JCB
  if (two === 36 || two === 38 || two === 39 || (six >= 300000 && six <= 305999)) return n >= 14 && n <= 19; // Diners
  if (two === 62) return n >= 16 && n <= 19; // UnionPay
  if (two === 50 || two === 56 || two === 57 || two === 58 || two === 63 || two === 67)
    return n >= 12 && n <= 19; // Maestro
  return false;
}

/** IBAN lengths per country (SWIFT IBAN registry). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

/** ISO 13616 check: known country, its length, and the mod-97 remainder 1. */
export function ibanValid(compact: string): boolean {
  const iban = compact.toUpperCase();
  if (IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 && code <= 90 ? code - 55 : code - 48;
    if (value < 0 || value > 35) return false;
    remainder = (remainder * (value > 9 ? 100 : 10) + value) % 97;
  }
  return remainder === 1;
}

/** US SSN rules: no area 000, 666 or 9xx, no group 00, no serial 0000. */
function ssnValid(area: string, group: string, serial: string): boolean {
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

// Regexes used per candidate live at module level: a literal in a loop builds a new object each time.
const OCTET = /^(?:0|[1-9]\d{0,2})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const TLD = /^[A-Za-z]{2,24}$/;
const TRAILING_DOT = /\.$/;
const SPACES = / /g;

/** IPv4 dotted quad with octets 0-255 and no leading zeros. */
function ipv4Valid(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p) && Number(p) <= 255);
}

/** IPv6 in full or `::`-compressed form, optionally ending in an IPv4 quad. */
function ipv6Valid(text: string): boolean {
  if (text.length < 3 || text.length > 45) return false;
  let body = text;
  let groupsFromV4 = 0;
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!ipv4Valid(tail)) return false;
    body = `${body.slice(0, lastColon + 1)}0`;
    groupsFromV4 = 1;
  }
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const groups = (s: string): string[] | null => {
    if (s === '') return [];
    const g = s.split(':');
    return g.every((x) => HEX_GROUP.test(x)) ? g : null;
  };
  const head = groups(halves[0] ?? '');
  if (head === null) return false;
  // An embedded IPv4 quad stands for two groups and was replaced by one.
  const required = 8 - groupsFromV4;
  if (halves.length === 1) return head.length === required;
  const rest = groups(halves[1] ?? '');
  if (rest === null) return false;
  // `::` stands for at least one group of zeros. Fewer than two written groups (`::`, `::1`,
  // Python's `[::2]`) is loopback, unspecified or not an address: not personal data.
  const written = head.length + rest.length;
  return written >= 2 && written <= required - 1;
}

// ---------------------------------------------------------------------------------------------
// Detectors: each pushes findings for one kind.

type Detector = (text: string, out: PiiFinding[]) => void;

/** Local part characters (RFC 5322 atext, without the rarely used ones) and domain labels. */
const EMAIL_LOCAL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]/;
const EMAIL_DOMAIN = /[A-Za-z0-9.-]/;

/** ASCII lookup tables of the two classes: a table read per character beats a regex call. */
function asciiTable(pattern: RegExp): Uint8Array {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = pattern.test(String.fromCharCode(c)) ? 1 : 0;
  return table;
}
const LOCAL_CHARS = asciiTable(EMAIL_LOCAL);
const DOMAIN_CHARS = asciiTable(EMAIL_DOMAIN);
const inTable = (table: Uint8Array, code: number): boolean => code < 128 && table[code] === 1;

/**
 * Emails, found from each `@` outwards with bounded scans (64 characters of local part, 253
 * of domain), so the cost is linear however many `@` or dots the text holds.
 */
const detectEmails: Detector = (text, out) => {
  let at = text.indexOf('@');
  let lastEnd = 0;
  while (at !== -1) {
    let start = at;
    while (start > lastEnd && at - start < 64 && inTable(LOCAL_CHARS, text.charCodeAt(start - 1))) start--;
    // Domain: labels of letters, digits and hyphens separated by single dots.
    let end = at + 1;
    while (end < text.length && end - at <= 253 && inTable(DOMAIN_CHARS, text.charCodeAt(end))) end++;
    // Trailing dots and hyphens are punctuation, not part of the domain.
    while (end > at + 1 && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 45)) end--;
    // `{}` are in atext but are our own mask delimiters; never start inside one.
    while (
      start < at &&
      (text.charCodeAt(start) === 46 || text.charCodeAt(start) === 123 || text.charCodeAt(start) === 125)
    )
      start++;
    // Cheap checks first (no allocation): a local part, a dot in the domain, and a top-level
    // label of 2-24 letters; the full check below repeats them.
    // (The search for the last dot stays inside the domain: at most 253 characters.)
    let lastDot = end - 1;
    while (lastDot > at && text.charCodeAt(lastDot) !== 46) lastDot--;
    const plausible = start < at && lastDot > at && end - lastDot - 1 >= 2 && end - lastDot - 1 <= 24;
    const domain = plausible ? text.slice(at + 1, end) : '';
    const labels = domain.split('.');
    const tld = labels[labels.length - 1] ?? '';
    if (
      plausible &&
      start < at &&
      labels.length >= 2 &&
      labels.every((l) => l.length > 0 && l.length <= 63 && !l.startsWith('-') && !l.endsWith('-')) &&
      TLD.test(tld)
    ) {
      out.push({ type: 'EMAIL', start, end });
      lastEnd = end;
    }
    at = text.indexOf('@', Math.max(at + 1, lastEnd));
  }
  detectSpelledEmails(text, out);
};

/** "at" written out: a word, or bracketed (`[at]`, `(at)`, `{at}`). */
const SPELLED_AT = /[[({] ?at ?[\])}]|\bat\b/gi;
/** Top-level domains accepted after a spelled-out address (a closed list: "dot com", not any word). */
const SPELLED_TLDS = new Set(
  'com org net edu gov mil int io co uk de fr es it nl be ch at se no dk fi pl pt ie us ca au nz jp cn in br mx ru info biz dev app ai me eu tv xyz online email'.split(
    ' ',
  ),
);
/** Words before an address that say it is one ("e-mail me at ..."). */
const ADDRESS_CUE = /\b(?:e-?mail|mail|address|contact|write to|reach)\b/i;
const isLabelChar = (c: number): boolean => isAlnum(c) || c === 45;
const isLocalChar = (c: number): boolean => isAlnum(c) || c === 95 || c === 43 || c === 45 || c === 37;

/**
 * A dot between address parts, read forwards from `i`: up to two spaces, then `.` or a
 * spelled dot (`dot`, `[dot]`, `(dot)`), then up to two spaces. Returns the position after it
 * and whether it was spelled, or undefined.
 */
function dotAfter(text: string, i: number): { next: number; spelled: boolean } | undefined {
  let k = i;
  for (let s = 0; s < 2 && text.charCodeAt(k) === 32; s++) k++;
  let spelled = false;
  if (text.charCodeAt(k) === 46) k++;
  else {
    const word = text.slice(k, k + 5).toLowerCase();
    if (word.startsWith('[dot]') || word.startsWith('(dot)')) k += 5;
    else if (word.startsWith('dot') && !isAlnum(text.charCodeAt(k + 3)) && k > i) k += 3;
    else return undefined;
    spelled = true;
  }
  for (let s = 0; s < 2 && text.charCodeAt(k) === 32; s++) k++;
  return { next: k, spelled };
}

/** The same, read backwards from `i` (the position after the dot's trailing spaces). */
function dotBefore(text: string, i: number): { next: number; spelled: boolean } | undefined {
  let k = i;
  for (let s = 0; s < 2 && text.charCodeAt(k - 1) === 32; s++) k--;
  let spelled = false;
  if (text.charCodeAt(k - 1) === 46) k--;
  else {
    const word = text.slice(Math.max(0, k - 5), k).toLowerCase();
    if (word === '[dot]' || word === '(dot)') k -= 5;
    else if (word.endsWith('dot') && !isAlnum(text.charCodeAt(k - 4)) && text.charCodeAt(k) === 32) k -= 3;
    else return undefined;
    spelled = true;
  }
  for (let s = 0; s < 2 && text.charCodeAt(k - 1) === 32; s++) k--;
  return { next: k, spelled };
}

/**
 * E-mail addresses spelled out to slip past a scanner: `jane dot doe at example dot com`,
 * `jane [at] example [dot] com`. Only where unambiguous: the "at" is bracketed, the local part
 * has a dot of its own, or a word before says an address follows ("e-mail me at ..."); and the
 * domain ends in a known top-level domain. "Meet at example dot com" is left alone. Scans
 * around each "at" are bounded, so the cost is linear.
 */
function detectSpelledEmails(text: string, out: PiiFinding[]): void {
  if (!/\bat\b|\[at\]|\(at\)|\{at\}/i.test(text)) return;
  SPELLED_AT.lastIndex = 0;
  let floor = 0;
  for (const m of text.matchAll(SPELLED_AT)) {
    const atStart = m.index ?? 0;
    if (atStart < floor) continue;
    const bracketed = m[0].length > 2;
    // Local part, backwards: up to four tokens joined by dots.
    let start = atStart;
    for (let s = 0; s < 2 && text.charCodeAt(start - 1) === 32; s++) start--;
    let localDots = 0;
    let tokens = 0;
    for (;;) {
      let t = start;
      while (t > floor && start - t < 64 && isLocalChar(text.charCodeAt(t - 1))) t--;
      if (t === start) break;
      start = t;
      tokens++;
      if (tokens === 4) break;
      const dot = dotBefore(text, start);
      if (dot === undefined || !isLocalChar(text.charCodeAt(dot.next - 1))) break;
      start = dot.next;
      localDots++;
    }
    if (tokens === 0) continue;
    // Domain, forwards: labels joined by dots, at most six.
    let end = atStart + m[0].length;
    for (let s = 0; s < 2 && text.charCodeAt(end) === 32; s++) end++;
    const labels: string[] = [];
    const labelEnds: number[] = [];
    let spelledDomainDot = false;
    for (;;) {
      let e = end;
      while (e < text.length && e - end < 63 && isLabelChar(text.charCodeAt(e))) e++;
      if (e === end) break;
      labels.push(text.slice(end, e).toLowerCase());
      labelEnds.push(e);
      end = e;
      if (labels.length === 6) break;
      const dot = dotAfter(text, end);
      if (dot === undefined || !isLabelChar(text.charCodeAt(dot.next))) break;
      spelledDomainDot ||= dot.spelled;
      end = dot.next;
    }
    // The last label read may be a word after the address ("... dot com today").
    while (labels.length > 2 && !SPELLED_TLDS.has(labels[labels.length - 1] as string)) {
      labels.pop();
      labelEnds.pop();
    }
    if (labels.length < 2 || !SPELLED_TLDS.has(labels[labels.length - 1] as string)) continue;
    if (!bracketed && !spelledDomainDot) continue;
    const cue = ADDRESS_CUE.test(text.slice(Math.max(0, start - 40), start));
    if (!bracketed && localDots === 0 && !cue) continue;
    const domainEnd = labelEnds[labelEnds.length - 1] as number;
    out.push({ type: 'EMAIL', start, end: domainEnd });
    floor = domainEnd;
  }
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** A maximal run of digits, and whether a dot joins it to the previous group of its chain. */
interface DigitGroup {
  readonly start: number;
  readonly end: number;
  readonly digits: string;
  readonly dotted?: boolean;
}

const DIGIT_RUN = /[0-9]+/g;

/**
 * Chains of digit groups joined by exactly one space, hyphen or dot (`4111 1111-1111 1111`,
 * `4111.1111.1111.1111`), found by one pass over the text.
 */
function digitGroupChains(text: string): DigitGroup[][] {
  const chains: DigitGroup[][] = [];
  let chain: DigitGroup[] = [];
  // Runs of digits found by a native regex scan: prose has few digits to stop at.
  DIGIT_RUN.lastIndex = 0;
  for (let m = DIGIT_RUN.exec(text); m !== null; m = DIGIT_RUN.exec(text)) {
    const start = m.index;
    const previous = chain[chain.length - 1];
    const separator = previous === undefined ? -1 : text.charCodeAt(previous.end);
    const joined =
      previous !== undefined &&
      start - previous.end === 1 &&
      (separator === 32 || separator === 45 || separator === 46);
    const group = { start, end: start + m[0].length, digits: m[0], dotted: joined && separator === 46 };
    if (!joined && chain.length > 0) {
      chains.push(chain);
      chain = [];
    }
    chain.push(group);
  }
  if (chain.length > 0) chains.push(chain);
  return chains;
}

/** Whether a window of groups joined by dots is not card-like (see detectCards). */
function dottedWindow(groups: readonly DigitGroup[], from: number, to: number): boolean {
  let dotted = false;
  for (let k = from + 1; k <= to; k++) if (groups[k]?.dotted) dotted = true;
  if (!dotted) return false;
  // The whole dotted number, not a slice of a longer one (`4.1234.5678.9012.3456`).
  if (groups[from]?.dotted || groups[to + 1]?.dotted) return true;
  if (to - from < 2) return true;
  for (let k = from; k <= to; k++) {
    const length = (groups[k] as DigitGroup).digits.length;
    if (length < 3 || length > 6) return true;
  }
  return false;
}

/**
 * Payment cards: 12-19 digits in consecutive groups of a chain, a known issuer prefix, a Luhn
 * check, and no letter or digit glued to either end. A window spans at most 19 digits, so the
 * search is linear in the number of groups.
 */
/** Digits of the card window being checked (a window holds at most 19). */
const cardDigits = new Uint8Array(19);

const detectCards: Detector = (text, out) => {
  for (const groups of digitGroupChains(text)) {
    let i = 0;
    while (i < groups.length) {
      const first = groups[i] as DigitGroup;
      let found = -1;
      if (!isAlnum(text.charCodeAt(first.start - 1))) {
        // The window's digits as values in a reused buffer: a string built by appending
        // groups would be copied flat again for every window checked.
        let n = 0;
        for (let j = i; j < groups.length; j++) {
          const group = groups[j] as DigitGroup;
          if (n + group.end - group.start > 19) break;
          for (let k = group.start; k < group.end; k++) cardDigits[n++] = text.charCodeAt(k) - 48;
          // Dots also write decimals, versions and addresses: a dotted card is only read in
          // card-like groups (three or more, of 3-6 digits each, as printed on cards).
          if (dottedWindow(groups, i, j)) continue;
          if (
            n >= 12 &&
            !isAlnum(text.charCodeAt(group.end)) &&
            plausibleCard(cardDigits, n) &&
            luhnValidDigits(cardDigits, n)
          ) {
            found = j;
          }
        }
      }
      if (found === -1) {
        i++;
        continue;
      }
      out.push({
        type: 'CREDIT_DEBIT_CARD_NUMBER',
        start: first.start,
        end: (groups[found] as DigitGroup).end,
      });
      i = found + 1;
    }
  }
  detectSpelledCards(text, out);
};

/**
 * Widest card spelled out in words: 19 five-letter digit words (`three`, `seven`, `eight`)
 * with three separator characters between each. The streaming output guard holds back at
 * least this much (lambda/chat/stream-output-guard.ts).
 */
export const SPELLED_CARD_MAX_CHARS = 19 * 5 + 18 * 3;

/** Digit words a card number may be spelled out with, by value. */
const DIGIT_WORDS: Readonly<Record<string, number>> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
};

/**
 * Four or more tokens, each a digit word or a group of up to four digits, joined by one to
 * three spaces or punctuation marks (`four one one one, one one one one ...`,
 * `4111 1111 1111 one one one one`, `four.one/one`). Each token ends where its letters or
 * digits end (lookaheads), so a failed run backtracks token by token, never character by
 * character: linear in the text.
 */
const SPELLED_DIGIT_RUN =
  /(?<![a-z0-9])(?:zero|one|two|three|four|five|six|seven|eight|nine|[0-9]{1,4})(?![a-z0-9])(?:[\s.,;:/_-]{1,3}(?:zero|one|two|three|four|five|six|seven|eight|nine|[0-9]{1,4})(?![a-z0-9])){3,}/gi;
const SPELLED_DIGIT_TOKEN = /[a-z]+|[0-9]+/gi;
const HAS_LETTER = /[a-z]/i;

/** Whether the first `n` digit values count up or down by one (`one two three four ...`). */
function counting(digits: Uint8Array, n: number): boolean {
  const step = ((digits[1] as number) - (digits[0] as number) + 10) % 10;
  if (step !== 1 && step !== 9) return false;
  for (let k = 2; k < n; k++)
    if (((digits[k] as number) - (digits[k - 1] as number) + 10) % 10 !== step) return false;
  return true;
}

/** One token of a spelled-out run: its span in the run and its digits. */
interface DigitToken {
  readonly start: number;
  readonly end: number;
  /** The digit values: one for a word, one per digit for a group. */
  readonly values: readonly number[];
  readonly word: boolean;
}

function digitTokens(run: string): DigitToken[] {
  const tokens: DigitToken[] = [];
  for (const m of run.matchAll(SPELLED_DIGIT_TOKEN)) {
    const word = DIGIT_WORDS[m[0].toLowerCase()];
    tokens.push({
      start: m.index,
      end: m.index + m[0].length,
      values: word === undefined ? Array.from(m[0], (c) => c.charCodeAt(0) - 48) : [word],
      word: word !== undefined,
    });
  }
  return tokens;
}

/**
 * Card numbers spelled out in words, wholly or in part (`four one one one one ...`): the
 * issuer prefixes and Luhn check of {@link detectCards}, tried from every token of a run as
 * detectCards tries every digit group (a window holds at most 19 digits, so this stays linear),
 * on windows that hold at least one word (an all-digit window is detectCards' own) and do not
 * just count (`one two three ...`).
 */
function detectSpelledCards(text: string, out: PiiFinding[]): void {
  SPELLED_DIGIT_RUN.lastIndex = 0;
  for (const run of text.matchAll(SPELLED_DIGIT_RUN)) {
    // Runs of digit groups alone (most digit-heavy text) are detectCards' to judge.
    if (!HAS_LETTER.test(run[0])) continue;
    const tokens = digitTokens(run[0]);
    let i = 0;
    while (i < tokens.length) {
      let n = 0;
      let words = false;
      let found = -1;
      for (let j = i; j < tokens.length; j++) {
        const token = tokens[j] as DigitToken;
        if (n + token.values.length > 19) break;
        for (const value of token.values) cardDigits[n++] = value;
        words ||= token.word;
        if (
          words &&
          n >= 12 &&
          plausibleCard(cardDigits, n) &&
          luhnValidDigits(cardDigits, n) &&
          !counting(cardDigits, n)
        ) {
          found = j;
        }
      }
      if (found === -1) {
        i++;
        continue;
      }
      out.push({
        type: 'CREDIT_DEBIT_CARD_NUMBER',
        start: run.index + (tokens[i] as DigitToken).start,
        end: run.index + (tokens[found] as DigitToken).end,
      });
      i = found + 1;
    }
  }
}

/** IBAN candidates: country, check digits, then up to 30 characters in optional groups of four. */
const IBAN_CANDIDATE =
  /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?(?![A-Za-z0-9])/g;

const detectIbans: Detector = (text, out) => {
  for (const m of text.matchAll(IBAN_CANDIDATE)) {
    if (ibanValid(m[0].replace(SPACES, ''))) {
      const start = m.index ?? 0;
      out.push({ type: 'INTERNATIONAL_BANK_ACCOUNT_NUMBER', start, end: start + m[0].length });
    }
  }
};

/** `123-45-6789`, or nine digits right after an SSN label. */
const SSN_DASHED = /(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])/dg;
// Whitespace runs are bounded so the label never makes the match super-linear.
const SSN_LABELLED =
  /\b(?:ssn|social security(?: number| no\.?)?)[ \t]{0,3}(?:[:#=][ \t]{0,3})?(\d{3})[ -]?(\d{2})[ -]?(\d{4})(?!\d)/dgi;

const detectSsns: Detector = (text, out) => {
  for (const pattern of [SSN_DASHED, SSN_LABELLED]) {
    for (const m of text.matchAll(pattern)) {
      const [whole, area = '', group = '', serial = ''] = m;
      if (!ssnValid(area, group, serial)) continue;
      // The value starts at the area number, after any label.
      const start = m.indices?.[1]?.[0] ?? m.index ?? 0;
      out.push({ type: 'US_SOCIAL_SECURITY_NUMBER', start, end: (m.index ?? 0) + whole.length });
    }
  }
};

/** UK National Insurance number: two letters (with the excluded ones), six digits, A-D. */
const NINO =
  /(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])/g;

const detectNinos: Detector = (text, out) => {
  for (const m of text.matchAll(NINO)) {
    const start = m.index ?? 0;
    out.push({ type: 'UK_NATIONAL_INSURANCE_NUMBER', start, end: start + m[0].length });
  }
};

/**
 * Phone numbers in the forms people write them: international (`+` and 8-15 digits), the
 * North American `(555) 123-4567` / `555-123-4567` / `555.123.4567`, and any 7-15 digit
 * number right after a phone label. Bare digit runs are not phones: too many false hits.
 */
const PHONE_INTERNATIONAL = /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6}(?![\w])/g;
const PHONE_NANP = /(?<![\w(+-])(?:\(\d{3}\) ?|\d{3}[-.])\d{3}[-.]\d{4}(?![\w-])/g;
const PHONE_LABELLED =
  /\b(?:phone|tel|telephone|mobile|cell|fax|call me(?: at| on)?)\.?(?:[ \t]{0,3}(?:no\.?|number))?[ \t]{0,3}(?:[:#=][ \t]{0,3})?(\(?\+?\d[\d ().-]{5,22}\d)(?!\d)/gi;

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (isDigit(s.charCodeAt(i))) n++;
  return n;
}

const detectPhones: Detector = (text, out) => {
  for (const m of text.matchAll(PHONE_INTERNATIONAL)) {
    const n = digitCount(m[0]);
    if (n >= 8 && n <= 15)
      out.push({ type: 'PHONE', start: m.index ?? 0, end: (m.index ?? 0) + m[0].length });
  }
  for (const m of text.matchAll(PHONE_NANP)) {
    out.push({ type: 'PHONE', start: m.index ?? 0, end: (m.index ?? 0) + m[0].length });
  }
  for (const m of text.matchAll(PHONE_LABELLED)) {
    const value = m[1] ?? '';
    const n = digitCount(value);
    if (n < 7 || n > 15) continue;
    const end = (m.index ?? 0) + m[0].length;
    out.push({ type: 'PHONE', start: end - value.length, end });
  }
};

/** Dotted quads not inside a longer dotted number (a version such as 1.2.3.4.5 is not an IP). */
const IPV4_CANDIDATE = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)/g;
/** Runs of the characters IPv6 is written with, containing a colon; validated after. */
const IPV6_CANDIDATE = /(?<![\w:.])[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{1,44}(?![\w:])/y;

/**
 * The matches `IPV6_CANDIDATE` would find scanning globally, trying it only where it can
 * start: a match has a colon at most four hex digits after its start, so the starts tried
 * are the few positions before each colon, in increasing order (the same leftmost matches,
 * without running the lookbehind at every position of the text). Exported for tests.
 */
export function ipv6Candidates(text: string): { start: number; value: string }[] {
  const found: { start: number; value: string }[] = [];
  let floor = 0;
  let previousColon = -1;
  for (let colon = text.indexOf(':'); colon !== -1; colon = text.indexOf(':', colon + 1)) {
    if (colon >= floor) {
      for (let start = Math.max(colon - 4, previousColon + 1, floor); start <= colon; start++) {
        IPV6_CANDIDATE.lastIndex = start;
        const m = IPV6_CANDIDATE.exec(text);
        if (m !== null) {
          found.push({ start, value: m[0] });
          floor = start + m[0].length;
          break;
        }
      }
    }
    previousColon = colon;
  }
  return found;
}

const detectIps: Detector = (text, out) => {
  for (const m of text.matchAll(IPV4_CANDIDATE)) {
    const start = m.index ?? 0;
    if (ipv4Valid(m[0])) out.push({ type: 'IP_ADDRESS', start, end: start + m[0].length });
  }
  detectIpv6(text, out);
};

/** IPv6 addresses (hex digits may all be letters: `fe80::abcd`). */
const detectIpv6: Detector = (text, out) => {
  for (const { start, value } of ipv6Candidates(text)) {
    // A sentence may end right after the address.
    const raw = value.replace(TRAILING_DOT, '');
    if (ipv6Valid(raw)) out.push({ type: 'IP_ADDRESS', start, end: start + raw.length });
  }
};

const DETECTORS: Readonly<Record<PiiType, Detector>> = {
  EMAIL: detectEmails,
  PHONE: detectPhones,
  CREDIT_DEBIT_CARD_NUMBER: detectCards,
  INTERNATIONAL_BANK_ACCOUNT_NUMBER: detectIbans,
  US_SOCIAL_SECURITY_NUMBER: detectSsns,
  UK_NATIONAL_INSURANCE_NUMBER: detectNinos,
  IP_ADDRESS: detectIps,
};

/** Kinds whose every match holds an ASCII digit (IP addresses: IPv4 only). */
const NEEDS_DIGIT: ReadonlySet<PiiType> = new Set<PiiType>([
  'PHONE',
  'CREDIT_DEBIT_CARD_NUMBER',
  'INTERNATIONAL_BANK_ACCOUNT_NUMBER',
  'US_SOCIAL_SECURITY_NUMBER',
  'UK_NATIONAL_INSURANCE_NUMBER',
  'IP_ADDRESS',
]);

/**
 * Precedence when spans overlap: checksummed kinds first (a card number is not a phone),
 * then the structured ones, then phones, which are the loosest.
 */
const PRECEDENCE: readonly PiiType[] = [
  'EMAIL',
  'INTERNATIONAL_BANK_ACCOUNT_NUMBER',
  'CREDIT_DEBIT_CARD_NUMBER',
  'US_SOCIAL_SECURITY_NUMBER',
  'UK_NATIONAL_INSURANCE_NUMBER',
  'IP_ADDRESS',
  'PHONE',
];

/**
 * Every PII value in `text` of the given kinds (all by default), without overlaps, in text
 * order. Where two findings overlap, the kind earlier in the precedence list wins.
 */
export function findPii(text: string, types: readonly PiiType[] = PII_TYPES): PiiFinding[] {
  const wanted = new Set(types);
  const accepted: PiiFinding[] = [];
  // Characters already claimed by an accepted finding: checking a span costs its length, so
  // the whole pass stays linear (comparing against every accepted finding was quadratic in
  // their number, e.g. 1,600 addresses in a 10,000-character message).
  let taken: Uint8Array | undefined;
  // Every kind but e-mail addresses (and IPv6, checked at colons only, and cards spelled out
  // in words, checked at digit words only) is made of digits: a
  // text without one, most prose, skips their scans (the answer comes from the pass over the
  // text that secrets and decoding share).
  const digits = textScan(text).hasDigit;
  for (const type of PRECEDENCE) {
    if (!wanted.has(type)) continue;
    const found: PiiFinding[] = [];
    if (digits || !NEEDS_DIGIT.has(type)) DETECTORS[type](text, found);
    else if (type === 'IP_ADDRESS') detectIpv6(text, found);
    else if (type === 'CREDIT_DEBIT_CARD_NUMBER') detectSpelledCards(text, found);
    for (const f of found) {
      if (f.end <= f.start) continue;
      taken ??= new Uint8Array(text.length);
      let free = true;
      for (let i = f.start; i < f.end; i++) {
        if (taken[i] === 1) {
          free = false;
          break;
        }
      }
      if (!free) continue;
      taken.fill(1, f.start, f.end);
      accepted.push(f);
    }
  }
  return accepted.sort((a, b) => a.start - b.start);
}

/** Options of {@link maskPii}. */
export interface MaskPiiOptions {
  /** Kinds to mask (all by default). */
  readonly types?: readonly PiiType[];
  /** Return true to leave a finding readable (e.g. the actor's own IP in an audit event). */
  readonly keep?: (finding: PiiFinding, value: string) => boolean;
}

/** Result of {@link maskPii}: the masked text and what was masked (spans in the input). */
export interface MaskPiiResult {
  readonly text: string;
  readonly findings: readonly PiiFinding[];
}

/** Replaces every PII value with `{TYPE}`. */
export function maskPii(text: string, options: MaskPiiOptions = {}): MaskPiiResult {
  const findings = findPii(text, options.types).filter((f) => !options.keep?.(f, text.slice(f.start, f.end)));
  if (findings.length === 0) return { text, findings };
  let masked = '';
  let cursor = 0;
  for (const f of findings) {
    masked += text.slice(cursor, f.start) + piiMask(f.type);
    cursor = f.end;
  }
  masked += text.slice(cursor);
  return { text: masked, findings };
}
