/**
 * The local guardrail policy engine (DESIGN.md section 6, layers 1 and 3) behind the
 * pipeline's `ChatGuard` port. It is the only guardrail in local mode and a second, cheaper
 * one in front of Bedrock's in hybrid and AWS modes.
 *
 * Input: normalize -> blocked words -> secrets -> prompt injection -> PII -> custom patterns.
 * Output: canary -> system-prompt leakage -> blocked words -> secrets -> PII -> custom patterns.
 * Every detector runs even after a BLOCK, so the audit trail records every reason; findings
 * carry rule identifiers only, never the text that matched.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import type { GuardrailDecision } from '../audit/event';
import type { ChatGuard, GuardVerdict } from '../chat/ports';
import { detectInjection, type InjectionOptions } from './injection';
import { containsCanary, formatCanary, leaksSystemPrompt } from './leakage';
import { type DetectionViews, detectionViews, foldedViews, lettersOnly, normalizeText } from './normalize';
import { findPii, type PiiType, piiMask } from './pii';
import type { FindingAction, LocalGuardrailPolicy } from './policy';
import { findSecrets, SECRET_MASK } from './secrets';

/** Options of {@link createPolicyEngine}. */
export interface PolicyEngineOptions {
  /** Source of randomness for canaries (tests inject a deterministic one). */
  readonly randomBytes?: (n: number) => Uint8Array;
  /** Overrides of the injection detector's thresholds or model. */
  readonly injection?: InjectionOptions;
}

type Layer = GuardrailDecision['layer'];
type Action = GuardrailDecision['action'];

/** A span of the text to replace. */
interface Mask {
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
}

/** Collects findings and masks for one verdict. */
class VerdictBuilder {
  private readonly findings: GuardrailDecision[] = [];
  private readonly keys = new Set<string>();
  private readonly masks: Mask[] = [];
  private blocked = false;

  constructor(private readonly layer: Layer) {}

  record(rule: string, category: string, action: Action): void {
    if (action === 'block') this.blocked = true;
    const key = `${rule}|${action}`;
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.findings.push({ layer: this.layer, rule, category, action });
  }

  /** Masks a span unless an earlier-recorded mask already covers part of it. */
  mask(rule: string, category: string, span: Mask): void {
    if (this.masks.some((m) => m.start < span.end && span.start < m.end)) return;
    this.masks.push(span);
    this.record(rule, category, 'mask');
  }

  build(text: string): GuardVerdict {
    if (this.blocked) return { action: 'BLOCK', text, findings: this.findings };
    if (this.masks.length === 0) return { action: 'ALLOW', text, findings: this.findings };
    const ordered = [...this.masks].sort((a, b) => a.start - b.start);
    let out = '';
    let cursor = 0;
    for (const m of ordered) {
      out += text.slice(cursor, m.start) + m.replacement;
      cursor = m.end;
    }
    return { action: 'MASK', text: out + text.slice(cursor), findings: this.findings };
  }
}

const isWordChar = (c: string | undefined): boolean => c !== undefined && /[a-z0-9]/.test(c);

/** Whether `needle` occurs in `haystack` on word boundaries (indexOf scan: linear per word). */
function containsWord(haystack: string, needle: string): boolean {
  if (needle.length === 0) return false;
  // A needle that starts or ends with punctuation needs no boundary on that side.
  const freeStart = !isWordChar(needle[0]);
  const freeEnd = !isWordChar(needle[needle.length - 1]);
  let at = haystack.indexOf(needle);
  while (at !== -1) {
    const before = haystack[at - 1];
    const after = haystack[at + needle.length];
    if ((freeStart || !isWordChar(before)) && (freeEnd || !isWordChar(after))) return true;
    at = haystack.indexOf(needle, at + 1);
  }
  return false;
}

/** A custom pattern compiled once. */
interface CompiledPattern {
  readonly rule: string;
  readonly regex: RegExp;
  readonly action: FindingAction;
  readonly mask: string;
}

/** Rule-id-safe form of a policy name. */
const ruleName = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

/** Creates the engine for one policy. Throws on a custom pattern that does not compile. */
export function createPolicyEngine(
  policy: LocalGuardrailPolicy,
  options: PolicyEngineOptions = {},
): ChatGuard {
  const random = options.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)));
  // Words are folded like the text they are matched against, so `Bad-Word` and `b4d w0rd` meet.
  const blockedWords: string[] = policy.blockedWords
    .map((word) => detectionViews(normalizeText(word)).folded)
    .filter((w) => w.length > 0);
  // Phrases are also matched letters-only: a soft hyphen or other format character between
  // two words is stripped by normalization and glues them (`strictly\u00adconfidential`),
  // and `strictly_confidential` or `strictly-confidential` mean the same marker. Only
  // phrases of several words and at least ten letters, which do not occur inside other words.
  const squashedPhrases: string[] = blockedWords
    .filter((w) => w.includes(' '))
    .map((w) => lettersOnly(w))
    .filter((w) => w.length >= 10);
  const patterns: CompiledPattern[] = policy.customPatterns.map((p) => {
    try {
      return {
        rule: `custom.${ruleName(p.name)}`,
        regex: new RegExp(p.pattern, 'g'),
        action: p.action,
        mask: `{${p.name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}}`,
      };
    } catch (error) {
      throw new Error(`Custom guardrail pattern "${p.name}" is not a valid regular expression.`, {
        cause: error,
      });
    }
  });
  const piiTypes = Object.keys(policy.piiActions) as PiiType[];

  const checkWords = (views: Pick<DetectionViews, 'folded' | 'squashed'>, verdict: VerdictBuilder): void => {
    for (const word of blockedWords) {
      if (containsWord(views.folded, word)) {
        verdict.record('word.blocked', 'WORD', 'block');
        return;
      }
    }
    for (const phrase of squashedPhrases) {
      if (views.squashed.includes(phrase)) {
        verdict.record('word.blocked', 'WORD', 'block');
        return;
      }
    }
  };

  /** PII and custom patterns: per policy on input; always masked on output (blocking there hides the whole answer). */
  const checkPiiAndPatterns = (text: string, verdict: VerdictBuilder, isOutput: boolean): void => {
    for (const f of findPii(text, piiTypes)) {
      const rule = `pii.${f.type.toLowerCase()}`;
      if (policy.piiActions[f.type] === 'BLOCK' && !isOutput) verdict.record(rule, 'PII', 'block');
      else verdict.mask(rule, 'PII', { start: f.start, end: f.end, replacement: piiMask(f.type) });
    }
    for (const p of patterns) {
      p.regex.lastIndex = 0;
      for (const m of text.matchAll(p.regex)) {
        if (m[0].length === 0) continue;
        const start = m.index ?? 0;
        if (p.action === 'BLOCK' && !isOutput) verdict.record(p.rule, 'CUSTOM', 'block');
        else verdict.mask(p.rule, 'CUSTOM', { start, end: start + m[0].length, replacement: p.mask });
      }
    }
  };

  return {
    normalize: normalizeText,
    blockedInputMessage: policy.blockedInputMessage,
    blockedOutputMessage: policy.blockedOutputMessage,

    newCanary: () => formatCanary(random(16)),

    checkInput(text: string): GuardVerdict {
      const normalized = normalizeText(text);
      const views = detectionViews(normalized);
      const verdict = new VerdictBuilder('local');
      checkWords(views, verdict);
      for (const s of findSecrets(normalized)) verdict.record(`secret.${s.kind}`, 'SECRET', 'block');
      const injection = detectInjection(normalized, views, {
        action: policy.promptAttackAction,
        ...options.injection,
      });
      if (injection.attack) {
        const action = policy.promptAttackAction === 'BLOCK' ? 'block' : 'flag';
        for (const rule of injection.rules) verdict.record(`injection.${rule}`, 'PROMPT_ATTACK', action);
      }
      checkPiiAndPatterns(normalized, verdict, false);
      return verdict.build(normalized);
    },

    checkOutput(reply: string, context: { canary: string; systemPrompt: string }): GuardVerdict {
      const normalized = normalizeText(reply);
      const verdict = new VerdictBuilder('output');
      if (context.canary !== '' && containsCanary(normalized, context.canary)) {
        verdict.record('output.canary', 'LEAKAGE', 'block');
      }
      if (leaksSystemPrompt(normalized, context.systemPrompt)) {
        verdict.record('output.system_prompt', 'LEAKAGE', 'block');
      }
      // The folded views only serve the blocked-word check: with no blocked words, skip building them.
      if (blockedWords.length > 0) checkWords(foldedViews(normalized), verdict);
      for (const s of findSecrets(normalized)) {
        verdict.mask(`secret.${s.kind}`, 'SECRET', { start: s.start, end: s.end, replacement: SECRET_MASK });
      }
      checkPiiAndPatterns(normalized, verdict, true);
      return verdict.build(normalized);
    },
  };
}
