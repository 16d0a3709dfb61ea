/**
 * Prompt-leakage checks of a reply (DESIGN.md section 6, layer 3): the per-request canary
 * and long verbatim spans of the system prompt.
 *
 * Both compare canonical forms (folded letters, only letters and digits, for the canary;
 * letters and digits with single spaces for the prompt), so a model that spaces the canary
 * out, changes its case, wraps it in markup or swaps letters for look-alikes still trips it.
 * The span check hashes every window of the prompt once (a Rabin-Karp rolling hash) and
 * slides one window over the reply, confirming hits by comparison: linear in both lengths.
 */
import { decodePayloads } from './encodings';
import { foldLetters } from './normalize';

/** Canary prefix: a shape no natural text has, and easy to grep in logs of a leak. */
export const CANARY_PREFIX = 'omc-canary-';

/** Formats 16 random bytes as a canary token. */
export function formatCanary(bytes: Uint8Array): string {
  if (bytes.length < 16) throw new Error('A canary needs 128 random bits.');
  return CANARY_PREFIX + Buffer.from(bytes.subarray(0, 16)).toString('hex');
}

/**
 * The last texts folded for comparison and their folded forms, two slots (a reply is checked
 * against the canary and the system prompt in turn): a reply is folded once, not per check.
 */
const foldCache: { input: string | undefined; folded: string }[] = [
  { input: undefined, folded: '' },
  { input: undefined, folded: '' },
];
let foldNext = 0;

/** Folded letters of the NFKC form, as both comparisons start from. */
function foldedForCompare(text: string): string {
  for (const slot of foldCache) if (slot.input === text) return slot.folded;
  const slot = foldCache[foldNext] as { input: string | undefined; folded: string };
  foldNext = 1 - foldNext;
  slot.folded = foldLetters(text.normalize('NFKC'));
  slot.input = text;
  return slot.folded;
}

/** Reused output buffer of {@link alphanumeric}. */
let alnumBuffer = Buffer.alloc(1024);

/** Letters and digits only, folded: what survives any spacing or markup game. */
function alphanumeric(text: string): string {
  // `folded.replace(/[^a-z0-9]+/g, '')`, written into a reused byte buffer in one pass.
  const folded = foldedForCompare(text);
  if (alnumBuffer.length < folded.length) {
    alnumBuffer = Buffer.alloc(Math.max(folded.length, alnumBuffer.length * 2));
  }
  const buffer = alnumBuffer;
  let k = 0;
  for (let i = 0; i < folded.length; i++) {
    const c = folded.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) buffer[k++] = c;
  }
  return buffer.toString('latin1', 0, k);
}

/** Whether the reply contains the canary, plainly, obfuscated, or base64/hex-encoded. */
export function containsCanary(reply: string, canary: string): boolean {
  const needle = alphanumeric(canary);
  if (needle.length < 16) return false;
  if (alphanumeric(reply).includes(needle)) return true;
  return decodePayloads(reply).some((payload) => alphanumeric(payload.text).includes(needle));
}

/**
 * What `/[^a-z0-9]+/g` -> `' '` changes: a run of two or more (matched whole from its first
 * character), or a single character other than a space. Single spaces between words stay.
 */
const NON_WORD_TO_SPACE = /[^a-z0-9]{2,}|[^a-z0-9 ]/g;

/** Letters and digits with single spaces between words. */
function canonicalWords(text: string): string {
  return foldedForCompare(text).replace(NON_WORD_TO_SPACE, ' ').trim();
}

const BASE = 0x01000193;

/** BASE^(n-1) mod 2^32, to remove the character leaving a window. */
function power(n: number): number {
  let p = 1;
  for (let i = 1; i < n; i++) p = Math.imul(p, BASE);
  return p;
}

/** Rolling hashes of every window of `size` characters, by start offset. */
function windowHashes(text: string, size: number, visit: (hash: number, start: number) => boolean): void {
  if (text.length < size) return;
  const top = power(size);
  let h = 0;
  for (let i = 0; i < size; i++) h = (Math.imul(h, BASE) + text.charCodeAt(i)) | 0;
  if (visit(h >>> 0, 0)) return;
  for (let i = size; i < text.length; i++) {
    h = (h - Math.imul(text.charCodeAt(i - size), top)) | 0;
    h = (Math.imul(h, BASE) + text.charCodeAt(i)) | 0;
    if (visit(h >>> 0, i - size + 1)) return;
  }
}

/** Default length of a verbatim span that counts as leaking the system prompt. */
export const LEAK_SPAN_CHARS = 50;

/** The windows of a system prompt that a reply is compared with. */
interface PromptIndex {
  readonly systemPrompt: string;
  readonly spanChars: number;
  /** The prompt in canonical words. */
  readonly prompt: string;
  /** Window length: the span, or the whole prompt when it is shorter. */
  readonly size: number;
  /** Window hash -> up to four start offsets in `prompt`. */
  readonly windows: ReadonlyMap<number, readonly number[]>;
  /** A 16-bit filter of the window hashes: most reply windows are ruled out by one array read. */
  readonly filter: Uint8Array;
}

/**
 * The last few prompts' indexes. A streamed reply is checked many times against the same
 * prompt (stream-output-guard.ts), and building the index is most of a check's cost on a short
 * text; a handful of entries covers the requests one process serves at a time.
 */
const recentPrompts: PromptIndex[] = [];
const RECENT_PROMPTS = 8;

function promptIndex(systemPrompt: string, spanChars: number): PromptIndex {
  const known = recentPrompts.find((i) => i.spanChars === spanChars && i.systemPrompt === systemPrompt);
  if (known !== undefined) return known;
  const prompt = canonicalWords(systemPrompt);
  const size = Math.min(spanChars, prompt.length);
  const windows = new Map<number, number[]>();
  windowHashes(prompt, size, (hash, start) => {
    const starts = windows.get(hash);
    if (starts === undefined) windows.set(hash, [start]);
    // Repeated windows (a prompt with a repeated line) need only a few representatives.
    else if (starts.length < 4) starts.push(start);
    return false;
  });
  const filter = new Uint8Array(1 << 13);
  for (const hash of windows.keys()) {
    const at = (hash & 0xffff) >>> 3;
    filter[at] = (filter[at] ?? 0) | (1 << (hash & 7));
  }
  const index = { systemPrompt, spanChars, prompt, size, windows, filter };
  recentPrompts.unshift(index);
  if (recentPrompts.length > RECENT_PROMPTS) recentPrompts.pop();
  return index;
}

/**
 * Whether the reply repeats `spanChars` or more consecutive canonical characters of the
 * system prompt. Prompts shorter than the span are compared whole if they are at least 20
 * characters; shorter ones are too generic to attribute.
 */
export function leaksSystemPrompt(reply: string, systemPrompt: string, spanChars = LEAK_SPAN_CHARS): boolean {
  const { prompt, size, windows, filter } = promptIndex(systemPrompt, spanChars);
  const answer = canonicalWords(reply);
  if (size < 20 || answer.length < size) return false;
  // The reply's windows, rolled inline (the same hashes as windowHashes, without a call per window).
  const top = power(size);
  let h = 0;
  for (let i = 0; i < size; i++) h = (Math.imul(h, BASE) + answer.charCodeAt(i)) | 0;
  for (let start = 0; ; start++) {
    const hash = h >>> 0;
    if (((filter[(hash & 0xffff) >>> 3] as number) & (1 << (hash & 7))) !== 0) {
      const candidates = windows.get(hash);
      if (candidates !== undefined) {
        const span = answer.slice(start, start + size);
        if (candidates.some((s) => prompt.startsWith(span, s))) return true;
      }
    }
    const next = start + size;
    if (next >= answer.length) return false;
    h = (h - Math.imul(answer.charCodeAt(start), top)) | 0;
    h = (Math.imul(h, BASE) + answer.charCodeAt(next)) | 0;
  }
}
