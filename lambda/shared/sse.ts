/**
 * Server-sent events for the streaming chat route (issue 20, item 2): the frames of the
 * `text/event-stream` answer of `POST /api/v1/chat` with `Accept: text/event-stream`.
 *
 * Every event's data is one JSON document. JSON escapes CR and LF inside strings, so a
 * reply's text cannot end a `data:` line early and smuggle a fake `event: done` into the
 * stream; the encoder still splits any data on the three line terminators the SSE grammar
 * knows (CRLF, LF, CR) into one `data:` line each, so it is safe for any string it is given.
 * Event names come from a closed list, and comments (the heartbeat) are single-line.
 *   https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 */

/** The events of the streaming chat contract. */
export const SSE_EVENTS = ['meta', 'delta', 'done', 'blocked', 'error'] as const;
export type SseEventName = (typeof SSE_EVENTS)[number];

/**
 * Headers of a stream: no caching or transformation by intermediaries (a compressing proxy
 * would buffer it), and `X-Accel-Buffering: no` for nginx-style proxies in front of local mode.
 */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-store, no-transform',
  'X-Accel-Buffering': 'no',
};

/** Longest wait between two writes: the ALB's idle timeout is 60 s by default; 15 s leaves margin. */
export const SSE_HEARTBEAT_MS = 15_000;

const LINE_BREAK = /\r\n|\r|\n/;

/** One `event:` frame whose data is `data` as JSON (`undefined` is refused: it has no JSON form). */
export function sseEvent(name: SseEventName, data: unknown): string {
  if (!(SSE_EVENTS as readonly string[]).includes(name)) throw new Error(`Unknown SSE event "${name}".`);
  const json = JSON.stringify(data);
  if (json === undefined) throw new Error('SSE event data must be JSON-serializable.');
  return `event: ${name}\n${sseData(json)}\n`;
}

/** `data:` lines of a string: one per line of it, so no line break inside can start a field. */
export function sseData(text: string): string {
  return text
    .split(LINE_BREAK)
    .map((line) => `data: ${line}\n`)
    .join('');
}

/** A comment frame (`: text`), ignored by clients: the heartbeat. Line breaks become spaces. */
export function sseComment(text = 'keep-alive'): string {
  return `: ${text.replace(/\r\n|\r|\n/g, ' ')}\n\n`;
}

/** A parsed event (tests, and what a client sees). */
export interface ParsedSseEvent {
  readonly event: string;
  readonly data: string;
}

/**
 * Parses a complete event stream as the SSE grammar does (fields `event` and `data`, comment
 * lines ignored, an event dispatched at a blank line, `message` by default): what a browser's
 * EventSource would see, for tests of the route and the encoder.
 */
export function parseSse(stream: string): ParsedSseEvent[] {
  const events: ParsedSseEvent[] = [];
  let event = '';
  let data: string[] = [];
  let hasData = false;
  for (const line of stream.split(LINE_BREAK)) {
    if (line === '') {
      if (hasData) events.push({ event: event === '' ? 'message' : event, data: data.join('\n') });
      event = '';
      data = [];
      hasData = false;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') {
      data.push(value);
      hasData = true;
    }
  }
  return events;
}

/**
 * Writes a heartbeat comment whenever nothing was written for `intervalMs`. Call `touch()` after
 * each write and `stop()` when the stream ends.
 */
export function startHeartbeat(
  write: (frame: string) => void,
  intervalMs: number = SSE_HEARTBEAT_MS,
): { touch(): void; stop(): void } {
  let last = Date.now();
  const timer = setInterval(
    () => {
      if (Date.now() - last >= intervalMs) {
        write(sseComment());
        last = Date.now();
      }
    },
    Math.max(1, Math.floor(intervalMs / 3)),
  );
  timer.unref?.();
  return {
    touch: () => {
      last = Date.now();
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * Whether an `Accept` header asks for an event stream: one of its media ranges is
 * `text/event-stream` with a quality above zero (RFC 9110 section 12.5.1; `q=0` means "not
 * acceptable"). The chat page sends `text/event-stream, application/json;q=0.9`.
 */
export function acceptsEventStream(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((range) => {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    if (type !== 'text/event-stream') return false;
    const q = parameters.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
