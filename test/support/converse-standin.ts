/**
 * A STAND-IN for Amazon Bedrock Converse, because no emulator of it exists (moto has no
 * bedrock-runtime). It is the smallest wire-compatible server the tests need: an HTTP/2
 * server on 127.0.0.1 (cleartext: the Bedrock runtime client talks HTTP/2 by default, and
 * plain HTTP only because the tests override the endpoint) answering `POST /model/{modelId}/converse` with Converse's JSON
 * shapes, so the real `BedrockRuntimeClient` (endpoint override, fake credentials)
 * serializes, signs and parses exactly as it would against AWS.
 *
 * What it models, from the Converse API reference:
 * - a reply with `output.message`, `stopReason`, `usage`, `metrics`;
 * - guardrail intervention: `stopReason: "guardrail_intervened"`, the guardrail's blocked
 *   message as the text, and with `trace: "enabled"` a `trace.guardrail` whose input
 *   assessment or output assessments carry the policy that acted (a test can script them);
 * - errors as AWS sends them: the HTTP status, an `x-amzn-errortype` header (with the
 *   `:http://internal.amazon.com/...` suffix AWS appends) and `{ "message" }`.
 *
 * Stricter than Bedrock on purpose: a call without a SigV4 `Authorization` header or
 * without a `guardrailConfig` naming the expected guardrail is refused (403 / 400), so a
 * test proves the adapter never calls a model unguarded. It generates no text of its own:
 * it answers what the test scripts with `behave()` (an echo of the last user turn by default).
 */
import {
  createServer,
  type Http2Session,
  type Http2ServerRequest as IncomingMessage,
  type Http2ServerResponse as ServerResponse,
} from 'node:http2';
import type { AddressInfo } from 'node:net';

/** A call the stand-in received, after its checks. */
export interface ConverseCall {
  readonly modelId: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: ConverseBody;
}

/** The parts of a Converse request body the stand-in reads. */
export interface ConverseBody {
  readonly messages: readonly { role: string; content: readonly { text?: string }[] }[];
  readonly system?: readonly { text?: string }[];
  readonly inferenceConfig?: { maxTokens?: number };
  readonly guardrailConfig?: { guardrailIdentifier?: string; guardrailVersion?: string; trace?: string };
}

/** Error names Converse documents, with the HTTP status AWS answers them with. */
export const CONVERSE_ERRORS = {
  AccessDeniedException: 403,
  InternalServerException: 500,
  ModelErrorException: 424,
  ModelNotReadyException: 429,
  ModelTimeoutException: 408,
  ResourceNotFoundException: 404,
  ServiceQuotaExceededException: 400,
  ServiceUnavailableException: 503,
  ThrottlingException: 429,
  ValidationException: 400,
} as const;

/** One guardrail's assessment in a trace (`contentPolicy`, `topicPolicy`, ...), JSON as on the wire. */
export type GuardrailAssessmentJson = Readonly<Record<string, unknown>>;

/** The input assessment and output assessments a scripted intervention returns in its trace. */
export interface GuardrailAssessments {
  readonly input?: GuardrailAssessmentJson;
  readonly output?: readonly GuardrailAssessmentJson[];
}

/** What the stand-in does with one call. */
export type ConverseBehaviour =
  | { readonly reply: string; readonly stopReason?: 'end_turn' | 'max_tokens' }
  | {
      readonly guardrail: 'input' | 'output';
      readonly blockedMessage?: string;
      /**
       * The assessments of the trace, as Converse's JSON has them (default: a PROMPT_ATTACK
       * block on input, an EMAIL block on output). Each gets the invocation metrics added.
       */
      readonly assessments?: GuardrailAssessments;
    }
  | { readonly error: keyof typeof CONVERSE_ERRORS; readonly message?: string }
  /** Answers only after `ms` (or never, when the client gives up first). */
  | { readonly delayMs: number; readonly next: ConverseBehaviour };

/** A running stand-in. */
export interface ConverseStandIn {
  readonly endpoint: string;
  /** Calls received, oldest first (refused ones included, with the reason). */
  readonly calls: ConverseCall[];
  readonly refusals: string[];
  /** Sets what the next calls do (default: an echo reply). */
  behave(decide: (call: ConverseCall) => ConverseBehaviour): void;
  stop(): Promise<void>;
}

/** Options of {@link startConverseStandIn}. */
export interface ConverseStandInOptions {
  /** The guardrail every call must name. */
  readonly guardrail: { readonly identifier: string; readonly version: string };
}

const PATH = /^\/model\/([^/]+)\/converse$/;
const DEFAULT_BLOCKED = 'Sorry, the model cannot answer this question.';

/** Words as a crude token count: the stand-in only needs numbers that move with the text. */
function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': `standin-${Math.random().toString(16).slice(2, 10)}`,
    ...headers,
  });
  res.end(payload);
}

function sendError(res: ServerResponse, name: keyof typeof CONVERSE_ERRORS, message: string): void {
  send(
    res,
    CONVERSE_ERRORS[name],
    { message },
    { 'x-amzn-errortype': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
  );
}

function checkBody(body: unknown, guardrail: ConverseStandInOptions['guardrail']): string | undefined {
  const b = body as Partial<ConverseBody> | null;
  if (typeof b !== 'object' || b === null || !Array.isArray(b.messages) || b.messages.length === 0) {
    return 'messages must be a non-empty list';
  }
  for (const message of b.messages) {
    if (message.role !== 'user' && message.role !== 'assistant') return 'a message has an invalid role';
    if (
      !Array.isArray(message.content) ||
      message.content.some((c: { text?: unknown }) => typeof c.text !== 'string' || !c.text)
    ) {
      return 'a message has an empty or non-text content block';
    }
  }
  if (b.messages[0]?.role !== 'user') return 'A conversation must start with a user message.';
  const maxTokens = b.inferenceConfig?.maxTokens;
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1))
    return 'maxTokens must be >= 1';
  const config = b.guardrailConfig;
  if (config === undefined) return 'stand-in: guardrailConfig is required';
  if (config.guardrailIdentifier !== guardrail.identifier || config.guardrailVersion !== guardrail.version) {
    return 'The guardrail identifier or version provided in the request does not exist.';
  }
  return undefined;
}

function lastUserText(body: ConverseBody): string {
  const last = [...body.messages].reverse().find((m) => m.role === 'user');
  return last?.content.map((c) => c.text ?? '').join('') ?? '';
}

function promptWords(body: ConverseBody): number {
  const texts = [...(body.system ?? []), ...body.messages.flatMap((m) => m.content)].map((c) => c.text ?? '');
  return texts.reduce((sum, text) => sum + words(text), 0);
}

/** A guardrail trace as Converse returns it with `trace: "enabled"`. */
function guardrailTrace(side: 'input' | 'output', guardrailId: string, scripted?: GuardrailAssessments) {
  const metrics = {
    invocationMetrics: { guardrailProcessingLatency: 120, usage: { contentPolicyUnits: 1 } },
  };
  if (scripted !== undefined) {
    return {
      inputAssessment: { [guardrailId]: { ...scripted.input, ...metrics } },
      ...(scripted.output === undefined
        ? {}
        : { outputAssessments: { [guardrailId]: scripted.output.map((a) => ({ ...a, ...metrics })) } }),
    };
  }
  if (side === 'input') {
    return {
      inputAssessment: {
        [guardrailId]: {
          contentPolicy: {
            filters: [
              {
                type: 'PROMPT_ATTACK',
                confidence: 'HIGH',
                filterStrength: 'HIGH',
                action: 'BLOCKED',
                detected: true,
              },
            ],
          },
          ...metrics,
        },
      },
    };
  }
  return {
    inputAssessment: { [guardrailId]: { ...metrics } },
    outputAssessments: {
      [guardrailId]: [
        {
          sensitiveInformationPolicy: {
            piiEntities: [{ match: 'jane@example.com', type: 'EMAIL', action: 'BLOCKED', detected: true }],
          },
          ...metrics,
        },
      ],
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the stand-in on 127.0.0.1 with an OS-assigned port. */
export async function startConverseStandIn(options: ConverseStandInOptions): Promise<ConverseStandIn> {
  const calls: ConverseCall[] = [];
  const refusals: string[] = [];
  let decide: (call: ConverseCall) => ConverseBehaviour = (call) => ({
    reply: `echo: ${lastUserText(call.body)}`,
  });

  function answer(res: ServerResponse, call: ConverseCall, behaviour: ConverseBehaviour): void {
    if ('delayMs' in behaviour) {
      const timer = setTimeout(() => answer(res, call, behaviour.next), behaviour.delayMs);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    if ('error' in behaviour) {
      sendError(res, behaviour.error, behaviour.message ?? 'stand-in error');
      return;
    }
    const inputTokens = promptWords(call.body);
    const traced =
      call.body.guardrailConfig?.trace === 'enabled' || call.body.guardrailConfig?.trace === 'enabled_full';
    if ('guardrail' in behaviour) {
      const text = behaviour.blockedMessage ?? DEFAULT_BLOCKED;
      // A blocked prompt never reaches the model: no output tokens.
      const outputTokens = behaviour.guardrail === 'input' ? 0 : words(text);
      send(res, 200, {
        output: { message: { role: 'assistant', content: [{ text }] } },
        stopReason: 'guardrail_intervened',
        usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
        metrics: { latencyMs: 5 },
        ...(traced
          ? {
              trace: {
                guardrail: guardrailTrace(
                  behaviour.guardrail,
                  options.guardrail.identifier,
                  behaviour.assessments,
                ),
              },
            }
          : {}),
      });
      return;
    }
    const maxTokens = call.body.inferenceConfig?.maxTokens ?? Number.POSITIVE_INFINITY;
    const all = behaviour.reply.split(/\s+/).filter(Boolean);
    const cut = all.length > maxTokens;
    const text = cut ? all.slice(0, maxTokens).join(' ') : behaviour.reply;
    const outputTokens = Math.min(all.length, maxTokens);
    send(res, 200, {
      output: { message: { role: 'assistant', content: [{ text }] } },
      stopReason: cut ? 'max_tokens' : (behaviour.stopReason ?? 'end_turn'),
      usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
      metrics: { latencyMs: 5 },
    });
  }

  const sessions = new Set<Http2Session>();
  const server = createServer((req, res) => {
    void (async () => {
      const match = PATH.exec(req.url ?? '');
      if (req.method !== 'POST' || match === null) {
        refusals.push(`unknown route ${req.method} ${req.url}`);
        return send(
          res,
          404,
          { message: 'stand-in: unknown route' },
          { 'x-amzn-errortype': 'UnknownOperationException' },
        );
      }
      const raw = await readBody(req);
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential=')) {
        refusals.push('unsigned request');
        return send(
          res,
          403,
          { message: 'Missing Authentication Token' },
          {
            'x-amzn-errortype': 'MissingAuthenticationTokenException',
          },
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        refusals.push('body is not JSON');
        return sendError(res, 'ValidationException', 'The request body is not valid JSON.');
      }
      const problem = checkBody(body, options.guardrail);
      if (problem !== undefined) {
        refusals.push(problem);
        return sendError(res, 'ValidationException', problem);
      }
      const call: ConverseCall = {
        modelId: decodeURIComponent(match[1] ?? ''),
        headers: req.headers,
        body: body as ConverseBody,
      };
      calls.push(call);
      answer(res, call, decide(call));
    })().catch((error: unknown) => {
      refusals.push(`stand-in failure: ${String(error)}`);
      if (!res.headersSent) sendError(res, 'InternalServerException', 'stand-in failure');
    });
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    refusals,
    behave(next) {
      decide = next;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}
