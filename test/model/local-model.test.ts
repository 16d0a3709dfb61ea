import { describe, expect, it } from 'vitest';
import type { ModelRequest } from '../../lambda/chat/ports';
import { ModelUnavailableError } from '../../lambda/model/errors';
import { createLocalChatModel, estimateLocalTokens, LOCAL_MODEL_LABEL } from '../../lambda/model/local-model';

const REQUEST: ModelRequest = {
  modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0',
  system: 'You are OmniChat. Canary: canary-7f3a.',
  messages: [
    { role: 'user', text: 'Hello there' },
    { role: 'assistant', text: 'Hi.' },
    { role: 'user', text: 'Summarise envelope encryption in one line, please.' },
  ],
  maxOutputTokens: 1000,
};

describe('local stand-in model', () => {
  const model = createLocalChatModel();

  it('is labelled as a stand-in and never claims to be a model', async () => {
    expect(model.label).toBe(LOCAL_MODEL_LABEL);
    expect(model.label).toMatch(/stand-in/i);
    expect(model.label).toMatch(/not an AI model/);
    const reply = await model.converse(REQUEST);
    expect(reply.text.split('\n')[0]).toBe(
      '[Local stand-in: no AI model was called; this reply is computed from your message.]',
    );
    expect(reply.text).not.toMatch(/\bI am (an? )?(AI|assistant|language model|Claude)/i);
  });

  it('answers the same request with the same reply, byte for byte', async () => {
    const replies = await Promise.all([1, 2, 3].map(() => createLocalChatModel().converse(REQUEST)));
    expect(replies[1]).toEqual(replies[0]);
    expect(replies[2]).toEqual(replies[0]);
  });

  it('reports counts of the conversation, echoes the last user turn, never the system prompt', async () => {
    const reply = await model.converse(REQUEST);
    expect(reply.text).toContain('Your message has 7 words and 50 characters.');
    expect(reply.text).toContain('The conversation has 2 earlier turns (1 from you).');
    expect(reply.text).toContain(`Requested model: ${REQUEST.modelId}.`);
    expect(reply.text).toContain('You wrote: "Summarise envelope encryption in one line, please."');
    expect(reply.text).not.toContain('canary-7f3a');
    expect(reply.text).not.toContain('You are OmniChat');
    expect(reply).toMatchObject({ stopReason: 'end_turn', guardrail: { action: 'none' } });
  });

  it('gives a different fingerprint to a different conversation', async () => {
    const fingerprint = (text: string) => /Fingerprint: ([0-9a-f]{12})\./.exec(text)?.[1];
    const a = fingerprint((await model.converse(REQUEST)).text);
    const b = fingerprint(
      (
        await model.converse({
          ...REQUEST,
          messages: [...REQUEST.messages.slice(0, 2), { role: 'user', text: 'Other.' }],
        })
      ).text,
    );
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(b).toMatch(/^[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
  });

  it('counts tokens with the documented estimate: ceil(code points / 4) per text', async () => {
    expect(estimateLocalTokens('')).toBe(0);
    expect(estimateLocalTokens('abcd')).toBe(1);
    expect(estimateLocalTokens('abcde')).toBe(2);
    expect(estimateLocalTokens('🙂🙂🙂🙂')).toBe(1); // code points, not UTF-16 units
    const reply = await model.converse(REQUEST);
    // system 38 -> 10, "Hello there" 11 -> 3, "Hi." 3 -> 1, last turn 50 -> 13
    expect(reply.inputTokens).toBe(27);
    expect(reply.outputTokens).toBe(estimateLocalTokens(reply.text));
  });

  it.each([1, 5, 20, 40])(
    'never exceeds maxOutputTokens = %i and says when it cut',
    async (maxOutputTokens) => {
      const full = await model.converse(REQUEST);
      const reply = await model.converse({ ...REQUEST, maxOutputTokens });
      expect(reply.outputTokens).toBeLessThanOrEqual(maxOutputTokens);
      expect(reply.outputTokens).toBe(estimateLocalTokens(reply.text));
      expect(reply.stopReason).toBe('max_tokens');
      expect(full.text.startsWith(reply.text)).toBe(true);
      expect([...reply.text]).toHaveLength(maxOutputTokens * 4);
    },
  );

  it('cuts a long echo at a code-point boundary', async () => {
    const long = '🙂'.repeat(400);
    const reply = await model.converse({ ...REQUEST, messages: [{ role: 'user', text: long }] });
    expect(reply.text).toContain(`You wrote: "${'🙂'.repeat(280)}…"`);
    expect(reply.text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    const cut = await model.converse({
      ...REQUEST,
      messages: [{ role: 'user', text: long }],
      maxOutputTokens: 60,
    });
    expect(cut.text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it.each<[string, Partial<ModelRequest>]>([
    ['maxOutputTokens 0', { maxOutputTokens: 0 }],
    ['fractional maxOutputTokens', { maxOutputTokens: 1.5 }],
    ['no messages', { messages: [] }],
    [
      'an assistant turn first',
      {
        messages: [
          { role: 'assistant', text: 'hi' },
          { role: 'user', text: 'x' },
        ],
      },
    ],
    [
      'an assistant turn last',
      {
        messages: [
          { role: 'user', text: 'hi' },
          { role: 'assistant', text: 'x' },
        ],
      },
    ],
    ['an empty turn', { messages: [{ role: 'user', text: '' }] }],
  ])('refuses %s like Converse would (503 misconfigured)', async (_, change) => {
    const error = await model.converse({ ...REQUEST, ...change }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect((error as ModelUnavailableError).reason).toBe('misconfigured');
  });

  it('honours an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await model.converse({ ...REQUEST, signal: controller.signal }).catch((e: unknown) => e);
    expect((error as ModelUnavailableError).reason).toBe('timeout');
  });
});
