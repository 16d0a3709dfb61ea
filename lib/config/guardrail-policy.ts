import { z } from 'zod';
import { PII_TYPES, type PiiType } from '../../lambda/guardrail/pii';
import type { FindingAction, LocalGuardrailPolicy } from '../../lambda/guardrail/policy';

/**
 * The guardrail policy of one environment (DESIGN.md section 6): defined once, it feeds the
 * Bedrock guardrail the CDK app creates (lib/constructs/guardrail/bedrock-guardrail.ts) and,
 * through {@link toLocalPolicy}, the local policy engine in the functions. Limits are
 * Bedrock's (CreateGuardrail API reference), so a value Bedrock would reject fails synth
 * with the field's name instead of failing the deployment.
 */

/** Content-filter strengths, weakest first. */
export const FILTER_STRENGTHS = ['NONE', 'LOW', 'MEDIUM', 'HIGH'] as const;
/** A content-filter strength. */
export type FilterStrength = (typeof FILTER_STRENGTHS)[number];

/** Content-filter categories judged on prompts and replies alike. */
export const CONTENT_FILTER_TYPES = ['HATE', 'INSULTS', 'SEXUAL', 'VIOLENCE', 'MISCONDUCT'] as const;

/** Every sensitive-information entity type Bedrock knows (GuardrailPiiEntityConfig `type`). */
export const BEDROCK_PII_TYPES = [
  'ADDRESS',
  'AGE',
  'AWS_ACCESS_KEY',
  'AWS_SECRET_KEY',
  'CA_HEALTH_NUMBER',
  'CA_SOCIAL_INSURANCE_NUMBER',
  'CREDIT_DEBIT_CARD_CVV',
  'CREDIT_DEBIT_CARD_EXPIRY',
  'CREDIT_DEBIT_CARD_NUMBER',
  'DRIVER_ID',
  'EMAIL',
  'INTERNATIONAL_BANK_ACCOUNT_NUMBER',
  'IP_ADDRESS',
  'LICENSE_PLATE',
  'MAC_ADDRESS',
  'NAME',
  'PASSWORD',
  'PHONE',
  'PIN',
  'SWIFT_CODE',
  'UK_NATIONAL_HEALTH_SERVICE_NUMBER',
  'UK_NATIONAL_INSURANCE_NUMBER',
  'UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER',
  'URL',
  'USERNAME',
  'US_BANK_ACCOUNT_NUMBER',
  'US_BANK_ROUTING_NUMBER',
  'US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER',
  'US_PASSPORT_NUMBER',
  'US_SOCIAL_SECURITY_NUMBER',
  'VEHICLE_IDENTIFICATION_NUMBER',
] as const;
/** A Bedrock PII entity type. */
export type BedrockPiiType = (typeof BEDROCK_PII_TYPES)[number];
const BEDROCK_PII_TYPE_SET: ReadonlySet<string> = new Set(BEDROCK_PII_TYPES);

/** Bedrock's limits on a guardrail (API reference and service quotas). */
export const GUARDRAIL_LIMITS = {
  messageLength: 500,
  topics: 30,
  topicNameLength: 100,
  topicDefinitionLength: 200,
  topicExamples: 5,
  topicExampleLength: 100,
  words: 10_000,
  wordLength: 100,
  regexes: 10,
  regexNameLength: 100,
  regexDescriptionLength: 1000,
  regexPatternLength: 500,
} as const;

/**
 * Worst-case backtracking steps a custom pattern may take from one start position. All
 * repetition is bounded and never nested, so a match attempt costs at most the product of
 * the quantifiers' ranges; capping that keeps matching linear in the text with a small
 * constant on any input.
 */
export const MAX_PATTERN_STEPS = 1_000;

// ---------------------------------------------------------------------------------------------
// Linear-safety of custom patterns

/** What the scanner knows about an atom that a following quantifier applies to. */
interface Atom {
  /** The atom is a group that itself contains a quantifier. */
  readonly quantifiedInside: boolean;
  /** Alternatives directly inside the group (1 for anything but a group with `|`). */
  readonly branches: number;
}

/** An open group while scanning. */
interface GroupFrame {
  quantifiedInside: boolean;
  branches: number;
}

/**
 * Why `pattern` is not linear-safe for the local engine's regex matcher, or undefined when it
 * is: no backreferences, no lookaround, no unbounded repetition (`*`, `+`, `{n,}`), no
 * quantified group that contains a quantifier, and at most {@link MAX_PATTERN_STEPS}
 * backtracking steps per start position.
 */
export function linearSafetyProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
  } catch (e) {
    return `is not a valid regular expression (${(e as Error).message})`;
  }
  const frames: GroupFrame[] = [{ quantifiedInside: false, branches: 1 }];
  let last: Atom | undefined;
  let steps = 1;
  let i = 0;
  const quantify = (min: number, max: number): string | undefined => {
    if (last === undefined) return undefined; // RegExp() above already rejected a dangling quantifier
    if (last.quantifiedInside) {
      return 'must not repeat a group that contains a quantifier (nested quantifiers backtrack exponentially)';
    }
    // The group's branches were counted once when it closed; each further repetition
    // multiplies by them again.
    steps *= (max - min + 1) * last.branches ** Math.max(0, max - 1);
    frames.at(-1)!.quantifiedInside = true;
    last = undefined;
    if (pattern[i] === '?') i++; // a lazy quantifier explores the same paths
    return undefined;
  };
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || (next === 'k' && pattern[i + 2] === '<')) {
        return 'must not use backreferences (matching them is not linear)';
      }
      if ((next === 'p' || next === 'P' || next === 'u') && pattern[i + 2] === '{') {
        return `must not use \\${next}{...} escapes: the local engine compiles patterns without the u flag`;
      }
      i += 2;
      last = { quantifiedInside: false, branches: 1 };
    } else if (c === '[') {
      i += pattern[i + 1] === '^' ? 2 : 1;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
      last = { quantifiedInside: false, branches: 1 };
    } else if (c === '(') {
      if (/^\(\?<?[=!]/.test(pattern.slice(i, i + 4))) {
        return 'must not use lookahead or lookbehind (not linear, and not supported by every engine)';
      }
      frames.push({ quantifiedInside: false, branches: 1 });
      if (pattern.startsWith('(?<', i))
        i = pattern.indexOf('>', i) + 1; // named group
      else i += pattern.startsWith('(?', i) ? 3 : 1; // (?: or a plain group
      last = undefined;
    } else if (c === ')') {
      const group = frames.pop()!;
      frames.at(-1)!.quantifiedInside ||= group.quantifiedInside;
      // Alternatives multiply even unrepeated: `(?:a|a)` 24 times in a row is 2^24 paths.
      steps *= group.branches;
      last = { quantifiedInside: group.quantifiedInside, branches: group.branches };
      i++;
    } else if (c === '|') {
      frames.at(-1)!.branches++;
      last = undefined;
      i++;
    } else if (c === '*' || c === '+') {
      return `must not use unbounded repetition ('${c}'): bound it, e.g. {1,64}`;
    } else if (c === '?') {
      i++;
      const problem = quantify(0, 1);
      if (problem) return problem;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (!m) return "must escape a literal '{' as '\\{'";
      if (m[2] !== undefined && m[3] === '') {
        return `must not use unbounded repetition ('${m[0]}'): give it an upper bound, e.g. {${m[1]},64}`;
      }
      i += m[0].length;
      const min = Number(m[1]);
      const problem = quantify(min, m[3] === undefined ? min : Number(m[3]));
      if (problem) return problem;
    } else {
      last = c === '^' || c === '$' ? undefined : { quantifiedInside: false, branches: 1 };
      i++;
    }
    if (steps > MAX_PATTERN_STEPS) {
      return `may backtrack up to ${steps} steps per position (limit ${MAX_PATTERN_STEPS}): narrow its quantifier ranges`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Schema

const strength = z.enum(FILTER_STRENGTHS, { error: `must be one of ${FILTER_STRENGTHS.join(', ')}` });
const filter = z.object({ input: strength, output: strength }).strict();
const action = z.enum(['ANONYMIZE', 'BLOCK'], { error: 'must be ANONYMIZE or BLOCK' });
const message = z
  .string()
  .min(1)
  .max(GUARDRAIL_LIMITS.messageLength, `must be at most ${GUARDRAIL_LIMITS.messageLength} characters`);

const topic = z
  .object({
    /** Topic name (recorded in Bedrock's assessment, never shown to the caller). */
    name: z
      .string()
      .max(GUARDRAIL_LIMITS.topicNameLength)
      .regex(/^[0-9a-zA-Z-_ !?.]+$/, 'may contain only letters, digits, spaces and - _ ! ? .'),
    /** What the topic is, in one or two sentences; Bedrock's classifier reads it. */
    definition: z.string().min(1).max(GUARDRAIL_LIMITS.topicDefinitionLength),
    /** Sample prompts that belong to the topic. */
    examples: z
      .array(z.string().min(1).max(GUARDRAIL_LIMITS.topicExampleLength))
      .max(GUARDRAIL_LIMITS.topicExamples)
      .default([]),
  })
  .strict();

const customRegex = z
  .object({
    /** Rule name, recorded in audit decisions (a lower-case identifier). */
    name: z
      .string()
      .max(64)
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a lower-case identifier such as internal-ticket'),
    /** What the pattern finds and why it matters. */
    description: z.string().min(1).max(GUARDRAIL_LIMITS.regexDescriptionLength),
    /** Regular expression in the subset both Bedrock and the local engine run in linear time. */
    pattern: z
      .string()
      .min(1)
      .max(GUARDRAIL_LIMITS.regexPatternLength)
      .superRefine((pattern, ctx) => {
        const problem = linearSafetyProblem(pattern);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    action,
  })
  .strict();

/** Adds an issue at `path(i)` for every name that occurs a second time (case-insensitive). */
function addDuplicateIssues(
  ctx: z.RefinementCtx,
  label: string,
  names: readonly string[],
  path: (i: number) => (string | number)[],
): void {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    const key = name.toLowerCase();
    if (seen.has(key))
      ctx.addIssue({ code: 'custom', path: path(i), message: `duplicate ${label} "${name}"` });
    seen.add(key);
  });
}

/** One environment's guardrail policy. */
export const guardrailPolicySchema = z
  .object({
    /** Content-filter strengths on prompts (`input`) and replies (`output`). */
    contentFilters: z
      .object({
        HATE: filter,
        INSULTS: filter,
        SEXUAL: filter,
        VIOLENCE: filter,
        MISCONDUCT: filter,
        /** Jailbreaks and prompt injection. Bedrock judges prompts only, so `output` must be NONE. */
        PROMPT_ATTACK: z
          .object({
            input: strength,
            output: z
              .literal('NONE', { error: 'must be NONE: Bedrock applies PROMPT_ATTACK to prompts only' })
              .default('NONE'),
          })
          .strict(),
      })
      .strict(),
    /** Subjects the service refuses, in prompts and replies. */
    deniedTopics: z.array(topic).max(GUARDRAIL_LIMITS.topics).default([]),
    words: z
      .object({
        /** Words and phrases refused in prompts and replies (case-insensitive, whole words). */
        custom: z
          .array(
            z
              .string()
              .trim()
              .min(1)
              .max(GUARDRAIL_LIMITS.wordLength, `must be at most ${GUARDRAIL_LIMITS.wordLength} characters`),
          )
          .max(GUARDRAIL_LIMITS.words)
          .default([]),
        /** Bedrock's managed profanity list (Bedrock only: the local engine has no such list). */
        managedProfanity: z.boolean(),
      })
      .strict(),
    /** Action per sensitive-information type; types not listed pass untouched. */
    pii: z
      .record(z.string(), action)
      .superRefine((pii, ctx) => {
        for (const type of Object.keys(pii)) {
          if (!BEDROCK_PII_TYPE_SET.has(type)) {
            ctx.addIssue({
              code: 'custom',
              path: [type],
              message: `is not a Bedrock PII entity type (one of ${BEDROCK_PII_TYPES.join(', ')})`,
            });
          }
        }
      })
      .transform((pii) => pii as Partial<Record<BedrockPiiType, FindingAction>>),
    /** Organisation-specific patterns (ticket ids, credentials of other clouds, ...). */
    regexes: z.array(customRegex).max(GUARDRAIL_LIMITS.regexes).default([]),
    messages: z
      .object({
        /** Shown when a prompt is refused; never names the rule that fired. */
        blockedInput: message,
        /** Shown when a reply is withheld. */
        blockedOutput: message,
      })
      .strict(),
  })
  .strict()
  .superRefine((policy, ctx) => {
    addDuplicateIssues(
      ctx,
      'topic',
      policy.deniedTopics.map((t) => t.name),
      (i) => ['deniedTopics', i, 'name'],
    );
    addDuplicateIssues(
      ctx,
      'pattern',
      policy.regexes.map((r) => r.name),
      (i) => ['regexes', i, 'name'],
    );
    addDuplicateIssues(ctx, 'word', policy.words.custom, (i) => ['words', 'custom', i]);
  });

/** A parsed guardrail policy. */
export type GuardrailPolicy = z.infer<typeof guardrailPolicySchema>;
/** A guardrail policy as written in config, before defaults. */
export type GuardrailPolicyInput = z.input<typeof guardrailPolicySchema>;

// ---------------------------------------------------------------------------------------------
// Projection onto the local engine

const LOCAL_PII_TYPES: ReadonlySet<string> = new Set(PII_TYPES);
const isLocalPiiType = (type: string): type is PiiType => LOCAL_PII_TYPES.has(type);

/**
 * The part of `policy` the local engine enforces (lambda/guardrail/policy.ts): PII actions for
 * the kinds it detects (the others stay with Bedrock), custom patterns, custom words and the
 * messages. Content filters, denied topics and the managed profanity list need Bedrock's
 * classifiers and have no local counterpart.
 *
 * Prompt attacks: the local heuristics refuse (`BLOCK`) when the PROMPT_ATTACK input strength
 * is MEDIUM or HIGH, i.e. whenever the policy asks Bedrock to refuse all but blatant attacks
 * too; at LOW or NONE they only record and count (`FLAG`), so a weak setting never makes the
 * local layer refuse what Bedrock would let through.
 */
export function toLocalPolicy(policy: GuardrailPolicy): LocalGuardrailPolicy {
  const piiActions: Partial<Record<PiiType, FindingAction>> = {};
  for (const [type, piiAction] of Object.entries(policy.pii)) {
    if (piiAction !== undefined && isLocalPiiType(type)) piiActions[type] = piiAction;
  }
  const attack = policy.contentFilters.PROMPT_ATTACK.input;
  return {
    piiActions,
    customPatterns: policy.regexes.map((r) => ({ name: r.name, pattern: r.pattern, action: r.action })),
    blockedWords: [...policy.words.custom],
    promptAttackAction: attack === 'HIGH' || attack === 'MEDIUM' ? 'BLOCK' : 'FLAG',
    blockedInputMessage: policy.messages.blockedInput,
    blockedOutputMessage: policy.messages.blockedOutput,
  };
}

// ---------------------------------------------------------------------------------------------
// Default

/**
 * A realistic policy for a company chat assistant. Harmful content is filtered hard both
 * ways; insults and misconduct only at MEDIUM, because staff legitimately discuss incidents,
 * security findings and blunt feedback. Prompt attacks are filtered at HIGH. Identifiers
 * nobody needs to send to a model (cards, bank and national ids, credentials) are refused;
 * contact details are anonymized so the question still works. Custom patterns catch
 * internal ticket ids and credentials Bedrock has no entity type for, every repetition bounded.
 */
export const defaultGuardrailPolicy: GuardrailPolicy = guardrailPolicySchema.parse({
  contentFilters: {
    HATE: { input: 'HIGH', output: 'HIGH' },
    INSULTS: { input: 'MEDIUM', output: 'MEDIUM' },
    SEXUAL: { input: 'HIGH', output: 'HIGH' },
    VIOLENCE: { input: 'HIGH', output: 'HIGH' },
    MISCONDUCT: { input: 'MEDIUM', output: 'MEDIUM' },
    PROMPT_ATTACK: { input: 'HIGH', output: 'NONE' },
  },
  deniedTopics: [
    {
      name: 'Investment advice',
      definition:
        'Personalised recommendations to buy, sell or hold specific securities, funds or crypto assets, or to time a market.',
      examples: [
        'Should I put my bonus into this tech stock now?',
        'Which crypto coin will go up the most next month?',
        'Is it a good time to sell my company shares?',
      ],
    },
    {
      name: 'Malware and intrusion',
      definition:
        'Writing, improving or deploying malware, exploits, credential stealers or instructions to break into systems the user does not own.',
      examples: [
        'Write ransomware that encrypts a network share.',
        'Give me a working exploit for this unpatched VPN appliance.',
        'How do I dump the passwords from a colleague laptop?',
      ],
    },
    {
      name: 'Medical diagnosis',
      definition:
        'Diagnosing a condition or prescribing treatment or medication doses for a specific person instead of pointing to a clinician.',
      examples: [
        'What is wrong with me if my chest hurts when I breathe?',
        'How many of these pills should I take?',
      ],
    },
    {
      name: 'Circumventing company controls',
      definition:
        'Help to bypass the company security, data-loss or access controls, such as disabling endpoint agents or exfiltrating data.',
      examples: [
        'How can I turn off the endpoint protection on my work laptop?',
        'How do I copy the customer database to my personal drive unnoticed?',
      ],
    },
  ],
  words: {
    // Classification markers: documents carrying them must not be pasted into a model.
    custom: ['strictly confidential', 'restricted - do not distribute', 'attorney-client privileged'],
    managedProfanity: true,
  },
  pii: {
    EMAIL: 'ANONYMIZE',
    PHONE: 'ANONYMIZE',
    IP_ADDRESS: 'ANONYMIZE',
    CREDIT_DEBIT_CARD_NUMBER: 'BLOCK',
    CREDIT_DEBIT_CARD_CVV: 'BLOCK',
    INTERNATIONAL_BANK_ACCOUNT_NUMBER: 'BLOCK',
    US_SOCIAL_SECURITY_NUMBER: 'BLOCK',
    UK_NATIONAL_INSURANCE_NUMBER: 'BLOCK',
    US_PASSPORT_NUMBER: 'BLOCK',
    AWS_ACCESS_KEY: 'BLOCK',
    AWS_SECRET_KEY: 'BLOCK',
    PASSWORD: 'BLOCK',
  },
  regexes: [
    {
      name: 'internal-ticket',
      description:
        'Security ticket ids (SEC-1234): internal references, masked so they do not leave the company.',
      pattern: '\\bSEC-\\d{4,8}\\b',
      action: 'ANONYMIZE',
    },
    {
      name: 'ops-ticket',
      description: 'Incident and change ticket ids (INC-123456, CHG-123456) of the service desk.',
      pattern: '\\b(INC|CHG|PRB)-\\d{4,9}\\b',
      action: 'ANONYMIZE',
    },
    {
      name: 'aws-access-key-id',
      description: 'AWS access key ids (long-term AKIA and temporary ASIA).',
      pattern: '\\b(AKIA|ASIA)[A-Z0-9]{16}\\b',
      action: 'BLOCK',
    },
    {
      name: 'github-token',
      description: 'GitHub personal access, OAuth, app and refresh tokens.',
      pattern: '\\bgh[pousr]_[A-Za-z0-9]{36}\\b',
      action: 'BLOCK',
    },
    {
      name: 'slack-token',
      description: 'Slack bot, user, app and refresh tokens.',
      pattern: '\\bxox[abprs]-[A-Za-z0-9-]{10,72}',
      action: 'BLOCK',
    },
    {
      name: 'google-api-key',
      description: 'Google Cloud API keys.',
      // No trailing \b: a key may end in - or _, after which there is no word boundary.
      pattern: '\\bAIza[0-9A-Za-z_-]{35}',
      action: 'BLOCK',
    },
    {
      name: 'azure-storage-key',
      description: 'Azure storage account keys in connection strings.',
      pattern: 'AccountKey=[A-Za-z0-9+/]{86}==',
      action: 'BLOCK',
    },
    {
      name: 'private-key-block',
      description: 'PEM private key headers (RSA, EC, OpenSSH, DSA, encrypted PKCS#8).',
      pattern: '-----BEGIN (RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----',
      action: 'BLOCK',
    },
  ],
  messages: {
    blockedInput:
      'Your message was blocked by the content policy. Remove confidential data or rephrase it, then try again.',
    blockedOutput: 'The answer was withheld by the content policy.',
  },
});
