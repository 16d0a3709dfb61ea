import { describe, expect, it } from 'vitest';
import { findPii, ibanValid, luhnValid, maskPii, type PiiType } from '../../lambda/guardrail/pii';
import { fill, growthRatio, LINEAR_RATIO_LIMIT } from './linear-time';

const kinds = (text: string): PiiType[] => findPii(text).map((f) => f.type);

describe('findPii: hits', () => {
  it.each<[string, string, PiiType]>([
    ['email', 'write to ada.lovelace+work@mail.example.co.uk today', 'EMAIL'],
    ['Visa with spaces', 'card 4111 1111 1111 1111 exp 12/29', 'CREDIT_DEBIT_CARD_NUMBER'],
    ['Mastercard plain', 'my number is 5500005555555559.', 'CREDIT_DEBIT_CARD_NUMBER'],
    ['Amex with hyphens', '3782-822463-10005', 'CREDIT_DEBIT_CARD_NUMBER'],
    ['card after a glued token', 'A0 5500005555555559', 'CREDIT_DEBIT_CARD_NUMBER'],
    ['IBAN grouped', 'IBAN: DE89 3704 0044 0532 0130 00', 'INTERNATIONAL_BANK_ACCOUNT_NUMBER'],
    ['IBAN compact, lower case', 'gb82west12345698765432', 'INTERNATIONAL_BANK_ACCOUNT_NUMBER'],
    ['SSN dashed', 'SSN 123-45-6789', 'US_SOCIAL_SECURITY_NUMBER'],
    ['SSN labelled without dashes', 'social security number: 123456789', 'US_SOCIAL_SECURITY_NUMBER'],
    ['UK NINO', 'NI number AB 12 34 56 C', 'UK_NATIONAL_INSURANCE_NUMBER'],
    ['international phone', 'call +49 30 1234567 tomorrow', 'PHONE'],
    ['NANP phone', 'office (555) 123-4567', 'PHONE'],
    ['labelled phone', 'tel: 030 1234567', 'PHONE'],
    ['IPv4', 'from 203.0.113.9.', 'IP_ADDRESS'],
    ['IPv6', 'peer 2001:db8::8a2e:370:7334 said', 'IP_ADDRESS'],
    ['IPv6 with embedded IPv4', 'mapped ::ffff:192.0.2.128 here', 'IP_ADDRESS'],
    // Black-box review gaps (issue 19).
    ['Visa with dots', 'card 4111.1111.1111.1111 exp 12/29', 'CREDIT_DEBIT_CARD_NUMBER'],
    ['Amex with dots', 'amex 3782.822463.10005.', 'CREDIT_DEBIT_CARD_NUMBER'],
    ['e-mail spelled out', 'write to jane dot doe at example dot com today', 'EMAIL'],
    ['e-mail with bracketed at and dot', 'jane [at] example [dot] com', 'EMAIL'],
    ['e-mail spelled out after a cue', 'e-mail bob at mail dot example dot co dot uk', 'EMAIL'],
    [
      'card spelled out in words',
      'card four one one one one one one one one one one one one one one one exp soon',
      'CREDIT_DEBIT_CARD_NUMBER',
    ],
    [
      'card spelled out in hyphenated, capitalised words',
      'Four-One-One-One-One-One-One-One-One-One-One-One-One-One-One-One',
      'CREDIT_DEBIT_CARD_NUMBER',
    ],
    [
      'card in groups of words and digits, commas between',
      'my card: 5500, zero zero five five, five five five five, five five five nine',
      'CREDIT_DEBIT_CARD_NUMBER',
    ],
    // Review of the first version: each of these passed it.
    [
      'card spelled out after other digits',
      'option 2 - four one one one one one one one one one one one one one one one',
      'CREDIT_DEBIT_CARD_NUMBER',
    ],
    [
      'card from the middle of a list of digit words',
      'one two four one one one one one one one one one one one one one one one',
      'CREDIT_DEBIT_CARD_NUMBER',
    ],
    ['card in digit groups ending in words', '4111 1111 1111 one one one one', 'CREDIT_DEBIT_CARD_NUMBER'],
    [
      'card spelled out with dots, slashes and semicolons',
      'four.one/one;one one. one one one: one one one one_one one one one',
      'CREDIT_DEBIT_CARD_NUMBER',
    ],
  ])('%s', (_name, text, type) => {
    expect(kinds(text)).toEqual([type]);
  });
});

describe('findPii: near misses', () => {
  it.each([
    ['card failing Luhn', '4111 1111 1111 1112'],
    ['Luhn-valid but no issuer', '0000 0000 0000 0000'],
    ['card glued to letters', 'x4111111111111111y'],
    ['IBAN with a bad check', 'DE89 3704 0044 0532 0130 01'],
    ['IBAN of the wrong length', 'DE89 3704 0044 0532 0130'],
    ['SSN in a reserved area', '666-45-6789 and 900-12-3456'],
    ['version number', 'upgrade to 1.2.3.4.5 now'],
    ['octet out of range', 'host 256.1.1.1'],
    ['clock time', 'meet at 12:30:45'],
    ['C++ scope', 'std::vector and a[::2]'],
    ['order number', 'order 12345678 shipped'],
    ['ISO date', 'on 2024-01-15 at noon'],
    ['not an email', 'user@localhost and @handle'],
    ['our own masks', '{EMAIL} {PHONE} {IP_ADDRESS}'],
    ['dotted card failing Luhn', '4111.1111.1111.1112'],
    ['a slice of a longer dotted number', 'build 4.1234.5678.9012.3456'],
    ['a long decimal', 'pi is 3.14159265358979'],
    ['"at" before a spelled domain, without any address cue', 'I work at example dot com'],
    ['"at" before a written domain', 'Meet at example.com tomorrow'],
    ['"at" in prose', 'look at this dot com bubble'],
    ['spelled-out card failing Luhn', 'four one one one one one one one one one one one one one one two'],
    ['counting in words', 'one two three four five six seven eight nine zero one two three four five six'],
    ['counting from four', 'four five six seven eight nine zero one two three four five six'],
    ['a list of small numbers', '5, 12, 30, 7, 51, 23, 44, 10, 3, 9, 8, 1, 2'],
  ])('%s', (_name, text) => {
    expect(findPii(text)).toEqual([]);
  });
});

describe('spelled-out addresses are masked whole', () => {
  it('masks from the first local word to the top-level domain', () => {
    const text = 'reach jane dot doe at example dot com dot tomorrow';
    const [finding] = findPii(text);
    expect(text.slice(finding?.start, finding?.end)).toBe('jane dot doe at example dot com');
  });
});

describe('maskPii', () => {
  it('masks every finding with its type and reports input spans', () => {
    const text = 'Mail ada@example.com from 198.51.100.7 with 4111111111111111';
    const { text: masked, findings } = maskPii(text);
    expect(masked).toBe('Mail {EMAIL} from {IP_ADDRESS} with {CREDIT_DEBIT_CARD_NUMBER}');
    expect(findings.map((f) => text.slice(f.start, f.end))).toEqual([
      'ada@example.com',
      '198.51.100.7',
      '4111111111111111',
    ]);
  });

  it('limits masking to the requested kinds and keeps what the caller keeps', () => {
    const text = 'ada@example.com at 198.51.100.7 and 203.0.113.9';
    expect(maskPii(text, { types: ['EMAIL'] }).text).toBe('{EMAIL} at 198.51.100.7 and 203.0.113.9');
    expect(maskPii(text, { keep: (_f, value) => value === '198.51.100.7' }).text).toBe(
      '{EMAIL} at 198.51.100.7 and {IP_ADDRESS}',
    );
  });

  it('is a fixed point: masked text has nothing left to mask', () => {
    const once = maskPii('a@b.io, +44 20 7946 0958, 123-45-6789, DE89370400440532013000').text;
    expect(maskPii(once).text).toBe(once);
  });
});

describe('checksums', () => {
  it('Luhn', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(luhnValid('')).toBe(false);
  });

  it('IBAN mod-97', () => {
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
    expect(ibanValid('XX82WEST12345698765432')).toBe(false);
  });
});

describe('linear time on hostile input', () => {
  // Inputs built to make naive patterns backtrack: long runs of what a detector almost
  // accepts. 50,000 characters each; a quadratic detector would take seconds on these.
  const hostile: Record<string, (chars: number) => string> = {
    'digit groups ending in a letter': (n) => `${fill('1 ', n)}a`,
    'at signs and dots': (n) => fill('a.', n / 2) + '@'.repeat(n / 4) + fill('.b', n / 4),
    'hex and colons': (n) => `${fill('f:', n)}g`,
    'dotted digits': (n) => `${fill('1.', n)}x`,
    'label then spaces': (n) => `ssn${' '.repeat(n)}x`,
    'IBAN-like run': (n) => `DE89${'A'.repeat(n)}`,
    'phone label and separators': (n) => `phone${fill('(1) ', n)}`,
    'spelled-out address words': (n) => fill('jane dot doe at ', n),
    'digit words that never end a card': (n) => `${fill('four one one one ', n)}x`,
    // Eleven tokens and a breaker, over and over: every run fails.
    'runs of digit words that each fall short': (n) =>
      fill('four one one one one one one one one one one x ', n),
    'digit words and short groups': (n) => fill('one 12, two-3 ', n),
  };

  it.each(Object.entries(hostile))('%s', (_name, make) => {
    expect(growthRatio(findPii, make)).toBeLessThan(LINEAR_RATIO_LIMIT);
  });
});
