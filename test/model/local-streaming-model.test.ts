import { describe, expect, it } from 'vitest';
import type { ModelRequest } from '../../lambda/chat/ports';
import { ModelUnavailableError } from '../../lambda/model/errors';
import { createLocalChatModel, createLocalStreamingChatModel } from '../../lambda/model/local-model';
import { collectStream, type ModelStreamEvent } from '../../lambda/model/streaming';

const REQUEST: ModelRequest = {
  modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0',
  system: 'You are OmniChat.',
  messages: [{ role: 'user', text: 'Tell me about envelope encryption and why data keys are cached. ü€😀' }],
  maxOutputTokens: 1000,
};

describe('local stand-in model, streaming', () => {
  it('streams exactly the whole-reply stand-in text, in chunks, then usage', async () => {
    const whole = await createLocalChatModel().converse(REQUEST);
    const { text, end, deltas } = await collectStream(
      createLocalStreamingChatModel({ chunkChars: 7 }).converseStream(REQUEST),
    );
    expect(text).toBe(whole.text);
    expect(deltas).toBe(Math.ceil([...whole.text].length / 7));
    expect(end).toEqual({
      type: 'end',
      inputTokens: whole.inputTokens,
      outputTokens: whole.outputTokens,
      stopReason: 'end_turn',
      guardrail: { action: 'none' },
    });
  });

  it('echoes up to echoChars of the message, the same in both stand-ins', async () => {
    const long = { ...REQUEST, messages: [{ role: 'user' as const, text: 'word '.repeat(200).trim() }] };
    const whole = await createLocalChatModel({ echoChars: 1_000 }).converse(long);
    const { text } = await collectStream(
      createLocalStreamingChatModel({ echoChars: 1_000 }).converseStream(long),
    );
    expect(whole.text).toContain(`You wrote: "${long.messages[0]!.text}"`);
    expect(text).toBe(whole.text);
    const standard = await createLocalChatModel().converse(long);
    expect(standard.text).toContain('…"');
    expect(standard.text.length).toBeLessThan(whole.text.length);
    expect(() => createLocalChatModel({ echoChars: -1 })).toThrow(/echoChars/);
  });

  it('cuts chunks at code points (no lone surrogate in any delta)', async () => {
    for await (const event of createLocalStreamingChatModel({ chunkChars: 1 }).converseStream(REQUEST)) {
      if (event.type === 'delta') expect(event.text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    }
  });

  it('waits the configured delay before each delta', async () => {
    const started = performance.now();
    const arrivals: number[] = [];
    const model = createLocalStreamingChatModel({ chunkChars: 100, chunkDelayMs: 30 });
    for await (const event of model.converseStream(REQUEST)) {
      if (event.type === 'delta') arrivals.push(performance.now() - started);
    }
    expect(arrivals.length).toBeGreaterThan(1);
    // Timers may fire late, never early (1 ms of rounding slack).
    for (const [i, at] of arrivals.entries()) expect(at).toBeGreaterThanOrEqual(30 * (i + 1) - 1);
  });

  it('stops producing deltas when the signal aborts, with the port error', async () => {
    const controller = new AbortController();
    const model = createLocalStreamingChatModel({ chunkChars: 5, chunkDelayMs: 20 });
    const seen: ModelStreamEvent[] = [];
    const consume = (async () => {
      for await (const event of model.converseStream({ ...REQUEST, signal: controller.signal })) {
        seen.push(event);
        if (seen.length === 2) controller.abort(new Error('client went away'));
      }
    })();
    await expect(consume).rejects.toBeInstanceOf(ModelUnavailableError);
    expect(seen).toHaveLength(2);
    expect(seen.every((e) => e.type === 'delta')).toBe(true);
  });

  it('refuses an already-aborted request and bad options', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      collectStream(
        createLocalStreamingChatModel().converseStream({ ...REQUEST, signal: controller.signal }),
      ),
    ).rejects.toBeInstanceOf(ModelUnavailableError);
    expect(() => createLocalStreamingChatModel({ chunkChars: 0 })).toThrow(/chunkChars/);
    expect(() => createLocalStreamingChatModel({ chunkDelayMs: -1 })).toThrow(/chunkDelayMs/);
  });
});
