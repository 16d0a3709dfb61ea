/**
 * The README's curl demo as a black-box test: local mode started as `npm run local` starts it
 * (scripts/local-service.ts), signed in with the login form, then `POST /api/v1/chat` with
 * `Accept: text/event-stream` over real HTTP. The reply arrives as `meta`, several `delta` and
 * one `done`, each frame when it is written (the first delta well before the last), and a
 * request without the header still gets the whole reply as JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSse } from '../../lambda/shared/sse';
import { type LocalService, startLocalService } from '../../scripts/local-service';

const PASSWORD = 'Correct-Horse-42-battery';
const CHUNK_DELAY_MS = 60;
/** The README demo's message: the stand-in echoes it, so the reply is long enough for several deltas. */
const MESSAGE =
  'Hello! Please stream your reply to me: a meta event first, then several delta events with the ' +
  'text as it is checked, and one done event with the usage and the stored turn id at the end. ' +
  'The local stand-in echoes this message, so the reply is long enough to arrive in pieces.';
let dir: string;
let service: LocalService;
let cookie: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'omnichat-local-stream-'));
  service = await startLocalService({ dir, port: 0, chunkDelayMs: CHUNK_DELAY_MS });
  service.issuer.createUser('demo@example.com', PASSWORD, ['user']);
  const login = await fetch(`${service.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: service.url },
    body: new URLSearchParams({ email: 'demo@example.com', password: PASSWORD }).toString(),
  });
  expect(login.status).toBe(303);
  cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
});
afterAll(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One POST, with each body chunk's arrival time (ms after the request was sent). */
function post(
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  chunks: { at: number; text: string }[];
}> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(`${service.url}${path}`, { method: 'POST', headers }, (res) => {
      const chunks: { at: number; text: string }[] = [];
      res.setEncoding('utf8');
      res.on('data', (text: string) => chunks.push({ at: performance.now() - started, text }));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('curl -N -H "Accept: text/event-stream" against npm run local', () => {
  it('streams meta, several deltas and one done, each as it is written', async () => {
    const response = await post(
      '/api/v1/chat',
      { Cookie: cookie, Accept: 'text/event-stream', 'Content-Type': 'application/json' },
      JSON.stringify({ message: MESSAGE }),
    );

    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const body = response.chunks.map((c) => c.text).join('');
    const events = parseSse(body);
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('meta');
    expect(names.at(-1)).toBe('done');
    expect(names.filter((n) => n === 'done')).toHaveLength(1);
    expect(names.filter((n) => n === 'delta').length).toBeGreaterThanOrEqual(3);
    const text = events
      .filter((e) => e.event === 'delta')
      .map((e) => (JSON.parse(e.data) as { text: string }).text)
      .join('');
    expect(text).toContain('[Local stand-in: no AI model was called');
    expect(text).toContain(`You wrote: "${MESSAGE}"`);
    // Streamed, not buffered: the first delta arrived in its own chunk, well before the done.
    const firstDelta = response.chunks.find((c) => c.text.includes('event: delta'));
    const done = response.chunks.find((c) => c.text.includes('event: done'));
    expect(firstDelta).toBeDefined();
    expect(firstDelta?.text).not.toContain('event: done');
    expect((done?.at ?? 0) - (firstDelta?.at ?? 0)).toBeGreaterThan(2 * CHUNK_DELAY_MS);
    // The turn is stored as streamed.
    const meta = JSON.parse(events[0]!.data) as { conversationId: string };
    const stored = await fetch(`${service.url}/api/v1/conversations/${meta.conversationId}`, {
      headers: { Cookie: cookie },
    });
    const messages = ((await stored.json()) as { messages: { role: string; text: string }[] }).messages;
    expect(messages.at(-1)).toEqual(expect.objectContaining({ role: 'assistant', text }));
  });

  it('answers the same request without Accept: text/event-stream with the whole reply as JSON', async () => {
    const response = await post(
      '/api/v1/chat',
      { Cookie: cookie, 'Content-Type': 'application/json' },
      JSON.stringify({ message: MESSAGE }),
    );
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const reply = JSON.parse(response.chunks.map((c) => c.text).join('')) as { reply: string };
    expect(reply.reply).toContain(`You wrote: "${MESSAGE}"`);
  });

  it('refuses a streaming request without credentials at the edge, as JSON', async () => {
    const response = await post(
      '/api/v1/chat',
      { Accept: 'text/event-stream', 'Content-Type': 'application/json' },
      JSON.stringify({ message: 'hi' }),
    );
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toContain('application/json');
  });
});
