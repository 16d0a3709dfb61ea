import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildAuditEvent, parseAuditEvent } from '../../lambda/audit/event';
import { maskAuditText } from '../../lambda/audit/mask';
import { chatInput, testDeps } from './fixtures';

const ACTOR_IP = '198.51.100.7';
const SECRETS = [
  'ada.lovelace@example.com',
  '4111 1111 1111 1111',
  '5500005555555559',
  '203.0.113.9',
  'name: Grace Hopper',
  'Dr. Alan Turing',
];

/** Free text mixing arbitrary words with known PII samples. */
const freeText = fc
  .array(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(...SECRETS), fc.constant(ACTOR_IP)), {
    maxLength: 8,
  })
  .map((parts) => parts.join(' '));

describe('audit masking properties', () => {
  it('is idempotent, which lets the validator tell masked from unmasked text', () => {
    fc.assert(
      fc.property(freeText, (text) => {
        const once = maskAuditText(text, { actorIp: ACTOR_IP });
        expect(maskAuditText(once, { actorIp: ACTOR_IP })).toBe(once);
      }),
      { numRuns: 300 },
    );
  });

  it('never lets a known PII sample through, and every built event passes the validator', () => {
    fc.assert(
      fc.property(freeText, freeText, (reason, note) => {
        const event = buildAuditEvent(chatInput({ reason, fields: { note } }), testDeps());
        const stored = JSON.stringify(event);
        for (const secret of [
          'ada.lovelace@example.com',
          '4111 1111 1111 1111',
          '5500005555555559',
          '203.0.113.9',
          'Grace Hopper',
          'Alan Turing',
        ]) {
          expect(stored).not.toContain(secret);
        }
        expect(parseAuditEvent(JSON.parse(stored))).toEqual(event);
      }),
      { numRuns: 200 },
    );
  });
});
