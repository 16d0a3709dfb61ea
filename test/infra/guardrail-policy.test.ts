import { describe, expect, it } from 'vitest';
import { createPolicyEngine } from '../../lambda/guardrail/engine';
import { PII_TYPES } from '../../lambda/guardrail/pii';
import { environments } from '../../lib/config/environments';
import {
  defaultGuardrailPolicy,
  type FilterStrength,
  type GuardrailPolicy,
  guardrailPolicySchema,
  linearSafetyProblem,
  toLocalPolicy,
} from '../../lib/config/guardrail-policy';
import { loadEnvironments, parseEnvironmentConfig } from '../../lib/config/load';

/** The dev config with one guardrail field replaced, addressed by a path under `guardrail`. */
function devWithGuardrail(path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(environments.dev!) as unknown as Record<string, unknown>;
  let target = copy.guardrail as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  target[path.at(-1)!] = value;
  return copy;
}

const regex = (pattern: string) => ({
  name: 'probe',
  description: 'a probe pattern',
  pattern,
  action: 'BLOCK',
});

describe('guardrail policy in the environment config', () => {
  it('gives every committed environment a policy with PROMPT_ATTACK on input only', () => {
    for (const config of loadEnvironments(undefined)) {
      expect(config.guardrail.contentFilters.PROMPT_ATTACK).toEqual({ input: 'HIGH', output: 'NONE' });
      expect(config.guardrail.regexes.length).toBeGreaterThan(0);
    }
  });

  it.each<[string, (string | number)[], unknown, RegExp]>([
    [
      'PROMPT_ATTACK output strength',
      ['contentFilters', 'PROMPT_ATTACK', 'output'],
      'LOW',
      /dev\.guardrail\.contentFilters\.PROMPT_ATTACK\.output: must be NONE: Bedrock applies PROMPT_ATTACK to prompts only/,
    ],
    [
      'unknown strength',
      ['contentFilters', 'HATE', 'input'],
      'EXTREME',
      /dev\.guardrail\.contentFilters\.HATE\.input: must be one of NONE, LOW, MEDIUM, HIGH/,
    ],
    [
      'unbounded regex',
      ['regexes', 0, 'pattern'],
      '\\bSEC-\\d+',
      /dev\.guardrail\.regexes\.0\.pattern: must not use unbounded repetition \('\+'\)/,
    ],
    [
      'regex with a backreference',
      ['regexes', 1, 'pattern'],
      '(INC)-\\d{4}-\\1',
      /dev\.guardrail\.regexes\.1\.pattern: must not use backreferences/,
    ],
    [
      'too-long blocked-input message',
      ['messages', 'blockedInput'],
      'x'.repeat(501),
      /dev\.guardrail\.messages\.blockedInput: must be at most 500 characters/,
    ],
    [
      'empty blocked-output message',
      ['messages', 'blockedOutput'],
      '',
      /dev\.guardrail\.messages\.blockedOutput/,
    ],
    [
      'unknown PII type',
      ['pii', 'SOCIAL_MEDIA_HANDLE'],
      'BLOCK',
      /dev\.guardrail\.pii\.SOCIAL_MEDIA_HANDLE: is not a Bedrock PII entity type/,
    ],
    [
      'unknown PII action',
      ['pii', 'EMAIL'],
      'MASK',
      /dev\.guardrail\.pii\.EMAIL: must be ANONYMIZE or BLOCK/,
    ],
    [
      'topic name with a slash',
      ['deniedTopics', 0, 'name'],
      'Investment/crypto',
      /dev\.guardrail\.deniedTopics\.0\.name: may contain only letters, digits, spaces/,
    ],
    [
      'topic definition over 200 characters',
      ['deniedTopics', 1, 'definition'],
      'd'.repeat(201),
      /dev\.guardrail\.deniedTopics\.1\.definition/,
    ],
    [
      'six topic examples',
      ['deniedTopics', 0, 'examples'],
      ['a', 'b', 'c', 'd', 'e', 'f'],
      /dev\.guardrail\.deniedTopics\.0\.examples/,
    ],
    [
      'duplicate topic name',
      ['deniedTopics', 1, 'name'],
      'investment ADVICE',
      /dev\.guardrail\.deniedTopics\.1\.name: duplicate topic "investment ADVICE"/,
    ],
    [
      'word over 100 characters',
      ['words', 'custom', 0],
      'w'.repeat(101),
      /dev\.guardrail\.words\.custom\.0: must be at most 100 characters/,
    ],
    [
      'eleven regexes',
      ['regexes'],
      Array.from({ length: 11 }, (_, i) => ({ ...regex('x{1,2}'), name: `p${i}` })),
      /dev\.guardrail\.regexes/,
    ],
    [
      'duplicate regex name',
      ['regexes', 1, 'name'],
      'internal-ticket',
      /dev\.guardrail\.regexes\.1\.name: duplicate pattern "internal-ticket"/,
    ],
    [
      'regex name that is not an identifier',
      ['regexes', 0, 'name'],
      'Internal Ticket',
      /dev\.guardrail\.regexes\.0\.name: must be a lower-case identifier/,
    ],
    ['unknown field', ['contextualGrounding'], true, /dev\.guardrail: Unrecognized key.*contextualGrounding/],
  ])('rejects %s with a message naming the field', (_name, path, value, message) => {
    expect(() => parseEnvironmentConfig('dev', devWithGuardrail(path, value))).toThrow(message);
  });

  it('defaults an omitted PROMPT_ATTACK output strength to NONE', () => {
    const input = structuredClone(defaultGuardrailPolicy) as Record<string, unknown>;
    const filters = input.contentFilters as Record<string, Record<string, unknown>>;
    delete filters.PROMPT_ATTACK!.output;
    expect(guardrailPolicySchema.parse(input).contentFilters.PROMPT_ATTACK.output).toBe('NONE');
  });
});

describe('linear-safety check of custom patterns', () => {
  it.each([
    ['a star', 'ab*c', /unbounded repetition \('\*'\)/],
    ['a plus', '[A-Z]+', /unbounded repetition \('\+'\)/],
    ['a lazy plus', 'x.+?y', /unbounded repetition \('\+'\)/],
    ['an open-ended range', '\\d{3,}', /unbounded repetition \('\{3,\}'\)/],
    ['a numbered backreference', '(a)\\1', /backreferences/],
    ['a named backreference', '(?<t>a)\\k<t>', /backreferences/],
    ['a lookahead', 'foo(?=bar)', /lookahead or lookbehind/],
    ['a negative lookbehind', '(?<!x)y', /lookahead or lookbehind/],
    ['a nested quantified group', '(\\d{2}-){1,4}', /group that contains a quantifier/],
    ['a deeper nested quantified group', '((a{2})b){2}', /group that contains a quantifier/],
    ['overlapping alternatives repeated', '(a|ab){1,12}', /backtrack up to \d+ steps/],
    ['unrepeated alternations in sequence', `${'(?:a|a)'.repeat(24)}b`, /backtrack up to \d+ steps/],
    ['wide ranges in sequence', '\\w{1,40}\\d{1,40}', /backtrack up to 1600 steps/],
    ['a unicode property escape', '\\p{L}{2}', /u flag/],
    ['a literal brace', 'a{b', /escape a literal/],
    ['an invalid expression', '(ab', /not a valid regular expression/],
  ])('rejects %s', (_name, pattern, message) => {
    expect(linearSafetyProblem(pattern)).toMatch(message);
  });

  it.each([
    ['bounded ranges', '\\bSEC-\\d{4,8}\\b'],
    ['quantifier characters inside a class', '[*+?]{1,3}'],
    ['escaped quantifier characters', 'a\\*b\\+c\\{d'],
    ['an optional group without quantifiers inside', '-----BEGIN (RSA |EC )?PRIVATE KEY-----'],
    ['an alternation that is not repeated', '(AKIA|ASIA)[A-Z0-9]{16}'],
    ['a non-capturing group', '(?:ab){1,3}'],
    ['a named group', '(?<id>[0-9]){1,2}x'],
    ['an empty class', '[]?x'],
  ])('accepts %s', (_name, pattern) => {
    expect(linearSafetyProblem(pattern)).toBeUndefined();
  });

  it('accepts every pattern of the default policy', () => {
    for (const r of defaultGuardrailPolicy.regexes)
      expect([r.name, linearSafetyProblem(r.pattern)]).toEqual([r.name, undefined]);
  });
});

describe('default policy patterns', () => {
  const pattern = (name: string): RegExp => {
    const found = defaultGuardrailPolicy.regexes.find((r) => r.name === name);
    if (!found) throw new Error(`no pattern ${name}`);
    return new RegExp(found.pattern);
  };

  it.each([
    ['internal-ticket', 'see SEC-20931 for the timeline', 'ticket SEC-12 is too short'],
    ['ops-ticket', 'caused by CHG-0041234', 'the INCIDENT-1234 report'],
    ['aws-access-key-id', 'key AKIAIOSFODNN7EXAMPLE leaked', 'AKIA is the prefix of long-term keys'],
    ['github-token', `token ghp_${'a1B2'.repeat(9)}`, `ghx_${'a1B2'.repeat(9)}`],
    ['slack-token', 'xoxb-1234567890-abcdefghij', 'xoxz-1234567890-abcdefghij'],
    ['google-api-key', `AIza${'Sy0_-'.repeat(7)}`, `AIza${'Sy0'.repeat(3)}`],
    ['azure-storage-key', `AccountKey=${'Ab1+'.repeat(21)}xy==`, 'AccountKey=short=='],
    ['private-key-block', '-----BEGIN OPENSSH PRIVATE KEY-----', '-----BEGIN PUBLIC KEY-----'],
  ])('%s finds the real thing and leaves the near miss', (name, hit, miss) => {
    expect(pattern(name).test(hit)).toBe(true);
    expect(pattern(name).test(miss)).toBe(false);
  });
});

describe('toLocalPolicy', () => {
  const local = toLocalPolicy(defaultGuardrailPolicy);

  it('keeps the PII actions of the kinds the local engine detects and leaves the rest to Bedrock', () => {
    expect(local.piiActions).toEqual({
      EMAIL: 'ANONYMIZE',
      PHONE: 'ANONYMIZE',
      IP_ADDRESS: 'ANONYMIZE',
      CREDIT_DEBIT_CARD_NUMBER: 'BLOCK',
      INTERNATIONAL_BANK_ACCOUNT_NUMBER: 'BLOCK',
      US_SOCIAL_SECURITY_NUMBER: 'BLOCK',
      UK_NATIONAL_INSURANCE_NUMBER: 'BLOCK',
    });
    for (const type of Object.keys(local.piiActions)) expect(PII_TYPES).toContain(type);
    expect(defaultGuardrailPolicy.pii.AWS_SECRET_KEY).toBe('BLOCK'); // Bedrock-only, not dropped from the policy
  });

  it('carries patterns, words and messages over unchanged', () => {
    expect(local.customPatterns).toEqual(
      defaultGuardrailPolicy.regexes.map((r) => ({ name: r.name, pattern: r.pattern, action: r.action })),
    );
    expect(local.blockedWords).toEqual(defaultGuardrailPolicy.words.custom);
    expect(local.blockedInputMessage).toBe(defaultGuardrailPolicy.messages.blockedInput);
    expect(local.blockedOutputMessage).toBe(defaultGuardrailPolicy.messages.blockedOutput);
  });

  it.each<[FilterStrength, 'BLOCK' | 'FLAG']>([
    ['HIGH', 'BLOCK'],
    ['MEDIUM', 'BLOCK'],
    ['LOW', 'FLAG'],
    ['NONE', 'FLAG'],
  ])('maps PROMPT_ATTACK input %s to a local %s', (input, expected) => {
    const policy: GuardrailPolicy = {
      ...defaultGuardrailPolicy,
      contentFilters: { ...defaultGuardrailPolicy.contentFilters, PROMPT_ATTACK: { input, output: 'NONE' } },
    };
    expect(toLocalPolicy(policy).promptAttackAction).toBe(expected);
  });

  it('drives the local engine: masks ticket ids, refuses credentials and marked documents', () => {
    const engine = createPolicyEngine(local);
    const masked = engine.checkInput('Summarise SEC-20931 for the postmortem');
    expect(masked.action).toBe('MASK');
    expect(masked.text).toBe('Summarise {INTERNAL_TICKET} for the postmortem');

    const credential = engine.checkInput(`Why does this fail: ghp_${'a1B2'.repeat(9)}`);
    expect(credential.action).toBe('BLOCK');
    expect(credential.findings.map((f) => f.rule)).toContain('custom.github_token');

    const marked = engine.checkInput('Here is the STRICTLY CONFIDENTIAL board memo');
    expect(marked.action).toBe('BLOCK');
    expect(marked.findings.map((f) => f.rule)).toContain('word.blocked');
  });
});
