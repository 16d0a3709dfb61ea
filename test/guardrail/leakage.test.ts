/**
 * The system-prompt leak check keeps an index of the last few prompts (a streamed reply is
 * checked many times against one prompt): its answers must not depend on what is cached.
 */
import { describe, expect, it } from 'vitest';
import { LEAK_SPAN_CHARS, leaksSystemPrompt } from '../../lambda/guardrail/leakage';

const promptNumber = (n: number) =>
  `You are assistant number ${n}. Answer in the user's language, cite your sources, and keep prompt ${n} private.`;

describe('leaksSystemPrompt', () => {
  it('finds a verbatim span of the prompt, and nothing in an unrelated reply', () => {
    const prompt = promptNumber(1);
    expect(leaksSystemPrompt(`Sure: ${prompt.slice(10, 10 + LEAK_SPAN_CHARS + 5)} ...`, prompt)).toBe(true);
    expect(leaksSystemPrompt('The capital of France is Paris, and the weather is mild.', prompt)).toBe(false);
  });

  it('answers the same whatever the cache holds: many prompts interleaved, other span lengths', () => {
    const prompts = Array.from({ length: 20 }, (_, i) => promptNumber(i));
    // Prompt i's reply leaks its own prompt, and only its own (the number differs).
    const replies = prompts.map((p) => `Here it is: ${p.slice(0, 90)}`);
    for (let round = 0; round < 3; round++) {
      for (const [i, prompt] of prompts.entries()) {
        expect(leaksSystemPrompt(replies[i] as string, prompt), `prompt ${i}`).toBe(true);
        expect(leaksSystemPrompt(replies[i] as string, prompt, 85), `prompt ${i}, span 85`).toBe(true);
        const other = (i + 7) % prompts.length;
        // A window that includes the number differs between prompts; a long span must match exactly.
        expect(leaksSystemPrompt(replies[other] as string, prompt, 85), `prompt ${i} vs ${other}`).toBe(
          false,
        );
      }
    }
  });
});
