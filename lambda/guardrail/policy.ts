/**
 * The part of the environment's guardrail policy that the local policy engine enforces.
 *
 * The full policy (content-filter strengths, denied topics, words, PII actions, regexes,
 * messages) is defined once per environment in `lib/config/guardrail-policy.ts`; the CDK app
 * builds the Bedrock guardrail from all of it and hands the functions this projection, so
 * both layers enforce the same words, PII actions and patterns (DESIGN.md section 6). Denied
 * topics and content filters need a model to judge them and stay with Bedrock.
 */
import type { PiiType } from './pii';

/** What happens to a finding: masked in place (`{TYPE}`) or the whole text refused. */
export type FindingAction = 'ANONYMIZE' | 'BLOCK';

/** An organisation-specific pattern (ticket ids, account numbers, ...). */
export interface CustomPattern {
  /** Rule name recorded in decisions (never shown to the caller). */
  readonly name: string;
  /**
   * JavaScript regular-expression source. The config schema admits only patterns without
   * backreferences, lookaround, nested quantifiers or unbounded repetition, so matching
   * stays linear in the text length.
   */
  readonly pattern: string;
  readonly action: FindingAction;
}

/** The local engine's policy. */
export interface LocalGuardrailPolicy {
  /** Action per PII kind; kinds not listed are left alone. */
  readonly piiActions: Readonly<Partial<Record<PiiType, FindingAction>>>;
  readonly customPatterns: readonly CustomPattern[];
  /** Custom blocked words and phrases, matched case-insensitively on word boundaries after normalization. */
  readonly blockedWords: readonly string[];
  /** Prompt-injection heuristics: refuse (`BLOCK`) or only record and count (`FLAG`). */
  readonly promptAttackAction: 'BLOCK' | 'FLAG';
  /** Shown to the caller when input is refused; never names the rule that fired. */
  readonly blockedInputMessage: string;
  /** Shown to the caller when a reply is withheld. */
  readonly blockedOutputMessage: string;
}
