/**
 * PII masking for audit free text. The guardrail's detector finds the structured kinds
 * (emails, phones, cards, IBANs, national ids, IPs); names have no checksum, so only the
 * forms where a name is labelled as one are masked here (`name: Ada Lovelace`, `Dr. Smith`).
 * The result is a fixed point of masking, which is what lets the validator reject any text
 * that is not masked.
 */
import { maskPii, type PiiFinding } from '../guardrail/pii';

/** Replacement for a detected personal name. */
export const NAME_MASK = '[NAME]';

/** Titles that introduce a name; they also end a name, so `Dr. A Dr. B` masks both. */
const TITLES = 'Mr|Mrs|Ms|Miss|Mx|Dr|Prof';
/** One to `max` capitalised words, not starting another title. */
const nameWords = (max: number): string =>
  `\\p{Lu}[\\p{L}'-]*(?:[ \\t]+(?!(?:${TITLES})\\b)\\p{Lu}[\\p{L}'-]*){0,${max - 1}}`;
/** Capitalised words after a label such as `name:`, `first_name=` or `"displayName": "`. */
const LABELLED_NAME = new RegExp(
  `\\b((?:[Ff]ull|[Ff]irst|[Ll]ast|[Gg]iven|[Ff]amily|[Mm]iddle|[Dd]isplay|[Uu]ser|[Cc]ustomer|[Cc]ontact|[Ss]ur)?[ _-]?(?:[Nn]ame|NAME))(\\s*["']?\\s*[:=]\\s*["']?\\s*)(${nameWords(4)})`,
  'gu',
);
/** Title followed by capitalised words: `Mr. John Smith`, `Dr Jones`. */
const HONORIFIC_NAME = new RegExp(`\\b(${TITLES})(\\.?[ \\t]+)(${nameWords(3)})`, 'gu');

/** Masks personal names where the text labels them as names. */
export function maskNames(text: string): string {
  return text
    .replace(LABELLED_NAME, (_match, label: string, separator: string) => `${label}${separator}${NAME_MASK}`)
    .replace(
      HONORIFIC_NAME,
      (_match, title: string, separator: string) => `${title}${separator}${NAME_MASK}`,
    );
}

/** Options of {@link maskAuditText}. */
export interface MaskAuditTextOptions {
  /** The actor's own source IP: it is already in `actor.sourceIp`, so it stays readable. */
  readonly actorIp?: string;
}

/** Rounds of masking before giving up on a fixed point (each round only masks more). */
const MAX_MASK_ROUNDS = 4;

/**
 * Masks every PII kind in free text that goes into an audit event, except the actor's own IP.
 * Masking one finding can expose another (a rejected long digit run that splits into a valid
 * card once its neighbour is masked), so it repeats until nothing changes: the result is a
 * fixed point, which is what makes "masking would change it" a sound test for unmasked text.
 */
export function maskAuditText(text: string, options: MaskAuditTextOptions = {}): string {
  const actorIp = options.actorIp;
  const keep = actorIp === undefined ? undefined : (_finding: PiiFinding, value: string) => value === actorIp;
  let current = text;
  for (let round = 0; round < MAX_MASK_ROUNDS; round++) {
    const next = maskNames(maskPii(current, { keep }).text);
    if (next === current) return current;
    current = next;
  }
  return current;
}
