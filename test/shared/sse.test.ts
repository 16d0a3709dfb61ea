import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  parseSse,
  SSE_HEADERS,
  sseComment,
  sseData,
  sseEvent,
  startHeartbeat,
} from '../../lambda/shared/sse';

describe('SSE encoder', () => {
  it('frames an event with its JSON data', () => {
    expect(sseEvent('delta', { text: 'Hello' })).toBe('event: delta\ndata: {"text":"Hello"}\n\n');
    expect(parseSse(sseEvent('meta', { conversationId: 'c1', model: 'Haiku' }))).toEqual([
      { event: 'meta', data: '{"conversationId":"c1","model":"Haiku"}' },
    ]);
  });

  it('cannot be made to emit a fake event through line breaks in the text', () => {
    const attack = 'ok\n\nevent: done\ndata: {"fake":true}\r\n\r\nevent: blocked\rdata: x\n';
    const stream = sseEvent('delta', { text: attack }) + sseEvent('done', { turnId: 't1' });
    const events = parseSse(stream);
    expect(events.map((e) => e.event)).toEqual(['delta', 'done']);
    expect(JSON.parse(events[0]?.data ?? '')).toEqual({ text: attack });
  });

  it('splits multi-line data on every SSE line terminator into data lines that rejoin with LF', () => {
    expect(sseData('a\r\nb\rc\nd')).toBe('data: a\ndata: b\ndata: c\ndata: d\n');
    expect(parseSse(`event: error\n${sseData('line 1\nline 2')}\n`)).toEqual([
      { event: 'error', data: 'line 1\nline 2' },
    ]);
  });

  it('round-trips any text through a delta event (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const events = parseSse(sseEvent('delta', { text }) + sseEvent('done', {}));
        expect(events).toHaveLength(2);
        expect(JSON.parse(events[0]?.data ?? '')).toEqual({ text });
      }),
      { numRuns: 200, seed: 20 },
    );
  });

  it('writes single-line comments that clients ignore', () => {
    expect(sseComment()).toBe(': keep-alive\n\n');
    expect(sseComment('a\nevent: done\ndata: 1')).toBe(': a event: done data: 1\n\n');
    expect(parseSse(sseComment('a\nevent: done\ndata: 1') + sseEvent('done', {}))).toEqual([
      { event: 'done', data: '{}' },
    ]);
  });

  it('refuses an unknown event name and data without a JSON form', () => {
    expect(() => sseEvent('message' as 'meta', {})).toThrow(/Unknown SSE event/);
    expect(() => sseEvent('delta', undefined)).toThrow(/JSON-serializable/);
  });

  it('declares an uncached, untransformed event stream', () => {
    expect(SSE_HEADERS['Content-Type']).toBe('text/event-stream; charset=utf-8');
    expect(SSE_HEADERS['Cache-Control']).toContain('no-transform');
  });
});

describe('startHeartbeat', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes a comment only after the interval passes with no write', () => {
    vi.useFakeTimers();
    const frames: string[] = [];
    const beat = startHeartbeat((f) => frames.push(f), 15_000);
    vi.advanceTimersByTime(10_000);
    beat.touch();
    vi.advanceTimersByTime(10_000);
    expect(frames).toEqual([]);
    vi.advanceTimersByTime(6_000);
    expect(frames).toEqual([': keep-alive\n\n']);
    beat.stop();
    vi.advanceTimersByTime(60_000);
    expect(frames).toHaveLength(1);
  });
});
