import { describe, expect, it } from 'vitest';
import { rotations, typicalMessage, VARIANTS } from '../../scripts/bench/pipeline';

describe('bench message rotations', () => {
  it('gives more distinct texts than the engine caches hold (two), each of the same length and characters', () => {
    const message = typicalMessage(10_000);
    const texts = rotations(message);
    expect(VARIANTS).toBeGreaterThan(2);
    expect(new Set(texts).size).toBe(VARIANTS);
    const sorted = (text: string) => [...text].sort().join('');
    for (const text of texts) {
      expect(text).toHaveLength(message.length);
      expect(sorted(text)).toBe(sorted(message));
    }
  });
});
