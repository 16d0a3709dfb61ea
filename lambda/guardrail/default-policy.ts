/**
 * A realistic default for the local engine's policy, used by the eval and bench scripts and
 * by tests until the CDK app hands the functions the environment's policy (policy.ts).
 * Checksummed or structured identifiers that nobody needs to send to a model (cards, IBANs,
 * national ids) are refused; contact details are anonymized so the question still works.
 */
import type { LocalGuardrailPolicy } from './policy';

/** The default local policy. */
export const DEFAULT_LOCAL_POLICY: LocalGuardrailPolicy = {
  piiActions: {
    EMAIL: 'ANONYMIZE',
    PHONE: 'ANONYMIZE',
    IP_ADDRESS: 'ANONYMIZE',
    CREDIT_DEBIT_CARD_NUMBER: 'BLOCK',
    INTERNATIONAL_BANK_ACCOUNT_NUMBER: 'BLOCK',
    US_SOCIAL_SECURITY_NUMBER: 'BLOCK',
    UK_NATIONAL_INSURANCE_NUMBER: 'BLOCK',
  },
  customPatterns: [{ name: 'internal-ticket', pattern: '\\bSEC-\\d{4,8}\\b', action: 'ANONYMIZE' }],
  blockedWords: [],
  promptAttackAction: 'BLOCK',
  blockedInputMessage: 'Your message was blocked by the content policy. Please rephrase it.',
  blockedOutputMessage: 'The answer was withheld by the content policy.',
};
