import { describe, expect, it } from 'vitest';
import {
  detectionViews,
  foldLetters,
  normalizeText,
  startOfLastReadable,
} from '../../lambda/guardrail/normalize';
import { fill, growthRatio, LINEAR_RATIO_LIMIT } from './linear-time';

const folded = (text: string): string => detectionViews(normalizeText(text)).folded;

describe('normalizeText (the forwarded form)', () => {
  it.each([
    ['zero-width space and joiners', 'ig\u200Bno\u200Cre\u200D', 'ignore'],
    ['word joiner and BOM', '\u2060sys\uFEFFtem', 'system'],
    ['bidi override and isolate', '\u202Eabc\u202C \u2066d\u2069', 'abc d'],
    ['soft hyphen', 'in\u00ADstruc\u00ADtions', 'instructions'],
    ['variation selectors', 'A\uFE0FB\uFE0E', 'AB'],
    ['Unicode tag characters (hidden ASCII)', `hi${String.fromCodePoint(0xe0069, 0xe0067)}`, 'hi'],
    ['fullwidth letters (NFKC)', 'Ｉｇｎｏｒｅ', 'Ignore'],
    ['mathematical bold (NFKC)', '𝐩𝐫𝐞𝐯𝐢𝐨𝐮𝐬', 'previous'],
    ['ligature (NFKC)', 'ﬁle', 'file'],
  ])('%s', (_name, input, expected) => {
    expect(normalizeText(input)).toBe(expected);
  });

  it('keeps what the user wrote otherwise: case, digits, homoglyphs of other scripts, emoji', () => {
    const text = 'Привет, I have 3 cats 🐈 and 1 dog.';
    expect(normalizeText(text)).toBe(text);
  });

  it('is idempotent', () => {
    const once = normalizeText('ｆｕｌｌ\u200Bwidth ﬁ \u202Etext');
    expect(normalizeText(once)).toBe(once);
  });
});

describe('detection views (never forwarded)', () => {
  it.each([
    ['Cyrillic look-alikes', 'іgnоrе рrеvіоus', 'ignore previous'],
    ['Greek look-alikes', 'ΙGΝΟRΕ αll', 'ignore all'],
    ['diacritics', 'ïgnörè prévïoüs', 'ignore previous'],
    ['leetspeak inside words', '1gn0r3 4ll pr3v!0us', 'ignore all previous'],
    ['spaced letters', 'i g n o r e', 'ignore'],
    ['dotted and hyphenated letters', 'i.g.n.o.r.e and I-G-N-O-R-E', 'ignore and ignore'],
    ['wide gaps stay word breaks', 'i g n o r e   a l l', 'ignore all'],
    ['case and whitespace runs', 'IGNORE\t\n  ALL', 'ignore all'],
  ])('%s', (_name, input, expected) => {
    expect(folded(input)).toBe(expected);
  });

  it.each([
    ['plain numbers', 'in 2024 we sold 1500 units', 'in 2024 we sold 1500 units'],
    ['a sentence ending in !', 'great job!', 'great job!'],
    ['two-letter words are not spaced letters', 'I am ok', 'i am ok'],
  ])('leaves %s alone', (_name, input, expected) => {
    expect(folded(input)).toBe(expected);
  });

  it('squashes to letters only, so punctuation cannot split a phrase', () => {
    expect(detectionViews(normalizeText('ig-nore prev.ious instruc tions')).squashed).toBe(
      'ignorepreviousinstructions',
    );
  });

  it('leaves scripts without Latin look-alikes as they are', () => {
    expect(foldLetters('忽略所有指令')).toBe('忽略所有指令');
  });

  it('folds a homoglyph and spaced-letter flood in linear time (50,000 vs 10 x 5,000 characters)', () => {
    const make = (n: number) => normalizeText(fill('і g n о r е ', n / 2) + fill('a1', n / 2));
    expect(growthRatio(detectionViews, make)).toBeLessThan(LINEAR_RATIO_LIMIT);
  });
});

describe('startOfLastReadable', () => {
  it('counts back over characters detection reads only', () => {
    expect(startOfLastReadable('abcdef', 3)).toBe(3);
    expect(startOfLastReadable('abc', 3)).toBe(0);
    expect(startOfLastReadable('ab', 3)).toBe(-1);
    // Zero-width space, soft hyphen and a combining acute do not count.
    expect(startOfLastReadable('xa\u200bb\u00adc', 3)).toBe(1);
    expect(startOfLastReadable('xe\u0301\u0301f', 2)).toBe(1);
    // A Unicode tag character (two code units) does not count, and is never split.
    const tag = String.fromCodePoint(0xe0041);
    expect(startOfLastReadable(`xy${tag}z`, 2)).toBe(1);
    // An emoji (two code units) counts once.
    expect(startOfLastReadable('x\u{1F600}z', 2)).toBe(1);
  });
});
