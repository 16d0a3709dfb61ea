/**
 * A small phrase matcher over word tokens, used by the injection heuristics.
 *
 * Phrase syntax, compiled once at module load:
 * - `{a|b c|}` alternatives; an alternative may be several words, and an empty one makes
 *   the slot optional (not allowed in the first slot, which indexes the phrase),
 * - `~N` skips up to N arbitrary words (N is one digit, so matching stays linear),
 * - `*` matches exactly one arbitrary word.
 *
 * Matching indexes phrases by the words their first slot can start with, so the cost per
 * token is the number of phrases starting with that word times a bounded number of paths
 * through their slots: linear in the text.
 */

/** A slot: alternatives (single words in a set, longer ones as word lists) or a gap. */
type Step =
  | {
      readonly kind: 'alts';
      readonly single: ReadonlySet<string>;
      readonly multi: readonly (readonly string[])[];
      readonly optional: boolean;
    }
  | { readonly kind: 'gap'; readonly min: number; readonly max: number };

/** A rule phrase with the weight it adds to its family's score. */
export interface PhraseRule<F extends string> {
  readonly family: F;
  readonly weight: number;
  readonly source: string;
}

interface CompiledPhrase<F extends string> {
  readonly rule: PhraseRule<F>;
  readonly steps: readonly Step[];
}

/** Splits a phrase source into slots: `{...}` groups, `~N`, `*` and single words. */
function slots(source: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === ' ') {
      i++;
    } else if (c === '{') {
      const close = source.indexOf('}', i);
      if (close === -1) throw new Error(`Unclosed "{" in phrase "${source}"`);
      out.push(source.slice(i, close + 1));
      i = close + 1;
    } else {
      let j = i;
      while (j < source.length && source[j] !== ' ') j++;
      out.push(source.slice(i, j));
      i = j;
    }
  }
  return out;
}

/** Compiles a phrase source into steps. */
export function compilePhrase(source: string): Step[] {
  return slots(source).map((slot): Step => {
    if (slot === '*') return { kind: 'gap', min: 1, max: 1 };
    const gap = /^~(\d)$/.exec(slot);
    if (gap) return { kind: 'gap', min: 0, max: Number(gap[1]) };
    const alternatives = slot.startsWith('{') ? slot.slice(1, -1).split('|') : [slot];
    const words = alternatives.map((a) =>
      a
        .trim()
        .split(/\s+/)
        .filter((w) => w.length > 0),
    );
    return {
      kind: 'alts',
      single: new Set(words.filter((w) => w.length === 1).map((w) => w[0] as string)),
      multi: words.filter((w) => w.length > 1),
      optional: words.some((w) => w.length === 0),
    };
  });
}

/** Words of a folded text: letters, digits and apostrophes. */
export function tokenize(folded: string): string[] {
  const tokens = folded.split(SEPARATORS);
  // Separators are maximal runs, so an empty token can only come first or last (a text that
  // starts or ends with one): dropping those two is the whole filter, without a second array.
  if (tokens[tokens.length - 1] === '') tokens.pop();
  if (tokens[0] === '') tokens.shift();
  return tokens;
}

/** What separates words: anything but letters, digits and apostrophes. */
const SEPARATORS = /[^a-z0-9']+/;

/** Start words a phrase is tried at before checking whether it can occur at all. */
const RECHECK_AFTER = 4;

/** A set of phrase rules indexed for matching. */
export class PhraseIndex<F extends string> {
  private readonly byFirst = new Map<string, CompiledPhrase<F>[]>();

  constructor(rules: readonly PhraseRule<F>[]) {
    for (const rule of rules) {
      const steps = compilePhrase(rule.source);
      const first = steps[0];
      if (first === undefined || first.kind !== 'alts' || first.optional) {
        throw new Error(`Phrase "${rule.source}" must start with a required word`);
      }
      const starts = new Set([...first.single, ...first.multi.map((m) => m[0] as string)]);
      for (const word of starts) {
        const list = this.byFirst.get(word) ?? [];
        list.push({ rule, steps });
        this.byFirst.set(word, list);
      }
    }
  }

  /** The distinct rules whose phrases occur in `tokens`. */
  match(tokens: readonly string[]): Set<PhraseRule<F>> {
    const hits = new Set<PhraseRule<F>>();
    // A phrase tried at many start words is first checked against the text's words: if a
    // required slot has none of its words among the tokens, it cannot occur anywhere and is
    // not tried again (texts that repeat a phrase's first word many times).
    let present: Set<string> | undefined;
    const tries = new Map<CompiledPhrase<F>, number>();
    for (let i = 0; i < tokens.length; i++) {
      const candidates = this.byFirst.get(tokens[i] as string);
      if (candidates === undefined) continue;
      for (const phrase of candidates) {
        if (hits.has(phrase.rule)) continue;
        const tried = tries.get(phrase) ?? 0;
        if (tried < 0) continue;
        if (tried === RECHECK_AFTER) {
          present ??= new Set(tokens);
          if (!canOccur(phrase.steps, present)) {
            tries.set(phrase, -1);
            continue;
          }
        }
        tries.set(phrase, tried + 1);
        if (matchesAt(phrase.steps, tokens, i, 0)) hits.add(phrase.rule);
      }
    }
    return hits;
  }
}

/**
 * False when the phrase cannot match anywhere: some required slot has none of its words in
 * `present` (a single-word alternative is a token of any match; a multi-word one puts all
 * its words there, so its first word is checked). Gaps and optional slots require nothing.
 */
function canOccur(steps: readonly Step[], present: ReadonlySet<string>): boolean {
  for (const step of steps) {
    if (step.kind !== 'alts' || step.optional) continue;
    let any = false;
    for (const word of step.single) {
      if (present.has(word)) {
        any = true;
        break;
      }
    }
    if (!any) any = step.multi.some((words) => present.has(words[0] as string));
    if (!any) return false;
  }
  return true;
}

/** Whether `steps[s..]` match `tokens` from position `t`. */
function matchesAt(steps: readonly Step[], tokens: readonly string[], t: number, s: number): boolean {
  if (s === steps.length) return true;
  const step = steps[s] as Step;
  if (step.kind === 'gap') {
    for (let skip = step.min; skip <= step.max && t + skip <= tokens.length; skip++) {
      if (matchesAt(steps, tokens, t + skip, s + 1)) return true;
    }
    return false;
  }
  if (t < tokens.length && step.single.has(tokens[t] as string) && matchesAt(steps, tokens, t + 1, s + 1)) {
    return true;
  }
  for (const words of step.multi) {
    let k = 0;
    while (k < words.length && tokens[t + k] === words[k]) k++;
    if (k === words.length && matchesAt(steps, tokens, t + k, s + 1)) return true;
  }
  return step.optional && matchesAt(steps, tokens, t, s + 1);
}
