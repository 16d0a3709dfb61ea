/**
 * The streaming chat route in local mode (issue 20): the chat function composed as local mode
 * composes it (`composeFunction('chat', localAdapters(...))`, dynalite, LocalDataKeys, the local
 * stand-in), its `stream` handler called as the transports call it, with the stand-in streaming
 * a reply of {@link STREAM_REPLY_CHARS} characters in {@link STREAM_CHUNK_CHARS}-character
 * deltas, `chunkDelayMs` (40) before each.
 *
 * 1. Latency, one request at a time: from the call to the first `delta` frame written, and to
 *    the `done` frame (the full reply). The output guard holds back STREAM_HOLD_BACK_CHARS
 *    characters, so the first delta cannot come before about that much text has arrived.
 * 2. CPU per request, process-wide (`process.cpuUsage`, user + system: the handler, dynalite in
 *    this process, the stand-in): the streaming route vs the whole-reply handler on the same
 *    reply, in alternating blocks so that drift hits both alike. A model takes as long to
 *    generate a reply whether it streams it or not (Converse answers when the last token is
 *    generated), so for the comparison the whole-reply stand-in answers after the streamed
 *    reply's generation time (its deltas times their wait), in one wait: the whole-reply
 *    function is idle as long, woken once. The whole reply answered at once (the comparison
 *    before 2026-12-06) stays as a diagnostic row. The streaming path pays the
 *    output guard's repeated windows and the SSE frames, and one wake-up of the whole chain
 *    (stand-in, pipeline, guard, transport) per model delta: the diagnostic row runs the same
 *    deltas without the wait, which separates the two, and a second one measures the process
 *    idle for a streamed request's wall time, which no request causes, and a third the process
 *    woken once per model delta with nothing to do: on a shared 2-core machine most of the gap
 *    between the paced and unpaced streaming rows is that bare cost of waking up 50 times.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ALBEvent, Context } from 'aws-lambda';
import type { ChatModel } from '../../lambda/chat/ports';
import { composeFunction } from '../../lambda/compose/compose-function';
import type { DeployConfig } from '../../lambda/compose/deploy-config';
import type { StreamResponse } from '../../lambda/compose/handlers/chat-stream-contract';
import { LocalDataKeys } from '../../lambda/crypto/local-data-keys';
import { localAdapters } from '../../lambda/local/compose';
import { LocalIssuer, type LocalUser } from '../../lambda/local/issuer';
import { createLocalChatModel, createLocalStreamingChatModel } from '../../lambda/model/local-model';
import { withStreaming } from '../../lambda/model/streaming';
import { allTables } from '../../lib/data/table-schemas';
import { startDynalite } from '../../test/support/dynalite';
import { withoutLimits } from './chat-load';
import { typicalMessage } from './pipeline';
import { elapsedMs, type Summary, summarize } from './stats';

/** Characters of the streamed reply (issue 20's figure). */
export const STREAM_REPLY_CHARS = 2_000;
/** Characters per stand-in delta. */
export const STREAM_CHUNK_CHARS = 40;
/** Targets of issue 20. */
export const STREAM_TARGETS = {
  /** Time to the first delta / time to the full reply. */
  firstDeltaShare: 0.15,
  /** Streaming CPU per request / whole-reply CPU per request. */
  cpuRatio: 1.2,
} as const;

/** Options of {@link benchChatStream}. */
export interface ChatStreamBenchOptions {
  readonly deploy: DeployConfig;
  /** Streamed requests timed one at a time. */
  readonly latencyRequests: number;
  /** Requests per path in the CPU comparison. */
  readonly cpuRequests: number;
  /** The stand-in's wait before each delta. @default 40 */
  readonly chunkDelayMs?: number;
}

/** What the bench measured. */
export interface ChatStreamBenchResult {
  readonly replyChars: number;
  readonly chunkChars: number;
  readonly chunkDelayMs: number;
  readonly deltasPerReply: number;
  readonly firstDeltaMs: Summary;
  readonly fullReplyMs: Summary;
  /** First delta / full reply, per request. */
  readonly firstDeltaShare: Summary;
  readonly cpu: {
    readonly requests: number;
    /** CPU ms per request; the whole reply after the streamed reply's generation time. */
    readonly wholeMs: number;
    /** The whole reply answered at once (diagnostic). */
    readonly wholeInstantMs: number;
    readonly streamMs: number;
    /** The streaming path with the same deltas and no wait between them (diagnostic). */
    readonly streamWithoutWaitsMs: number;
    /**
     * The process doing nothing for a streamed request's median wall time (diagnostic): what
     * being awake that long costs here (emulator, timers, GC) with no request at all.
     */
    readonly idleForStreamWallMs: number;
    /**
     * The process woken as often as the stand-in wakes the chain (once per model delta,
     * `chunkDelayMs` apart) with no work at all (diagnostic): what the wake-ups themselves cost
     * on this machine (timer, event loop, a CPU whose caches and clock went cold while asleep).
     */
    readonly wakeUpsOnlyMs: number;
  };
}

function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'omnichat-chat',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:omnichat-chat',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/omnichat-chat',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function chatEvent(token: string, message: string, stream: boolean): ALBEvent {
  return {
    requestContext: {
      elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/chat/0' },
    },
    httpMethod: 'POST',
    path: '/api/v1/chat',
    queryStringParameters: {},
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(stream ? { accept: 'text/event-stream' } : {}),
      'x-forwarded-for': '203.0.113.7',
      'user-agent': 'omnichat-bench',
    },
    body: JSON.stringify({ message }),
    isBase64Encoded: false,
  };
}

/** The message whose stand-in reply is exactly `chars` characters (the reply echoes the message). */
async function messageForReply(chars: number, modelId: string): Promise<string> {
  const model = createLocalChatModel({ echoChars: 100_000 });
  const replyOf = async (message: string) =>
    (
      await model.converse({
        modelId,
        system: '',
        messages: [{ role: 'user', text: message }],
        maxOutputTokens: 100_000,
      })
    ).text.length;
  let length = chars;
  for (let attempt = 0; attempt < 20; attempt++) {
    const message = typicalMessage(length).replace(/\S+@\S+/g, 'the team');
    const got = await replyOf(message);
    if (got === chars) return message;
    length += chars - got;
  }
  throw new Error(`bench: no message gives a ${chars}-character reply`);
}

/** Runs the streaming bench. */
export async function benchChatStream(
  options: ChatStreamBenchOptions,
  onProgress: (message: string) => void = () => undefined,
): Promise<ChatStreamBenchResult> {
  const chunkDelayMs = options.chunkDelayMs ?? 40;
  const dir = mkdtempSync(join(tmpdir(), 'omnichat-bench-stream-'));
  const dynalite = await startDynalite();
  try {
    const names = await dynalite.createTables(allTables, 'stream-');
    const table = (id: string): string => {
      const name = names[id];
      if (name === undefined) throw new Error(`bench: no table ${id}`);
      return name;
    };
    const issuer = new LocalIssuer({ dir, issuer: 'http://127.0.0.1/bench-issuer' });
    const echo = { echoChars: 100_000 };
    const paced = createLocalStreamingChatModel({ ...echo, chunkChars: STREAM_CHUNK_CHARS, chunkDelayMs });
    const unpaced = createLocalStreamingChatModel({ ...echo, chunkChars: STREAM_CHUNK_CHARS });
    // The same deltas with or without the wait, for the diagnostic row of the CPU comparison;
    // the whole reply after the same generation time in one wait, or at once.
    let waits = true;
    const generationMs = Math.ceil(STREAM_REPLY_CHARS / STREAM_CHUNK_CHARS) * chunkDelayMs;
    const instant = createLocalChatModel(echo);
    const generating: ChatModel = {
      label: instant.label,
      converse: async (request) => {
        if (waits) await sleep(generationMs);
        return instant.converse(request);
      },
    };
    const model = withStreaming(generating, {
      label: paced.label,
      converseStream: (request) => (waits ? paced : unpaced).converseStream(request),
    });
    const composed = await composeFunction(
      'chat',
      localAdapters({
        dynamo: dynalite.client,
        tables: {
          apiKeys: table('ApiKeysTable'),
          audit: table('AuditTable'),
          conversations: table('ConversationsTable'),
          limits: table('LimitsTable'),
          settings: table('SettingsTable'),
        },
        issuer,
        dataKeys: new LocalDataKeys(randomBytes(32)),
        deploy: withoutLimits(options.deploy),
        auditRetentionDays: 30,
        model: () => model,
      }),
    );
    const stream = composed.stream;
    if (!stream) throw new Error('bench: the chat function has no streaming route');
    const user: LocalUser = {
      sub: randomUUID(),
      email: 'bench-stream@example.com',
      groups: ['user'],
      enabled: true,
      validAfter: 0,
    };
    await composed.shared.owners.record(user.sub, { groups: user.groups, status: 'active', at: new Date() });
    const token = issuer.mintAccessToken(user);
    const message = await messageForReply(STREAM_REPLY_CHARS, options.deploy.runtimeDefaults.defaultModelId);

    /** One streamed request: ms to the first delta and to the done frame, and the delta count. */
    const streamOnce = async () => {
      let first = Number.NaN;
      let done = Number.NaN;
      let status = 0;
      let text = '';
      const start = process.hrtime.bigint();
      const response: StreamResponse = {
        start: (statusCode) => {
          status = statusCode;
        },
        write: (chunk) => {
          if (Number.isNaN(first) && chunk.startsWith('event: delta')) first = elapsedMs(start);
          if (chunk.startsWith('event: done')) done = elapsedMs(start);
          text += chunk;
        },
        end: () => undefined,
      };
      await stream(chatEvent(token, message, true), response, {
        awsRequestId: randomUUID(),
        signal: new AbortController().signal,
      });
      if (status !== 200 || Number.isNaN(done))
        throw new Error(`bench: the stream failed: ${text.slice(0, 300)}`);
      return { first, done, text };
    };
    const wholeOnce = async () => {
      const result = await composed.handler(chatEvent(token, message, false), lambdaContext());
      if (result.statusCode !== 200) throw new Error(`bench: the whole reply failed: ${result.body}`);
      return JSON.parse(result.body ?? '{}') as { reply: string };
    };

    // Warm-up: JIT, the settings cache, the data key; and both paths give the same reply.
    const warm = await streamOnce();
    const whole = await wholeOnce();
    const streamedText = warm.text
      .split('\n')
      .filter((line) => line.startsWith('data: {"text"'))
      .map((line) => (JSON.parse(line.slice(6)) as { text: string }).text)
      .join('');
    if (streamedText !== whole.reply || whole.reply.length !== STREAM_REPLY_CHARS) {
      throw new Error(
        `bench: the streamed reply (${streamedText.length}) differs from the whole one (${whole.reply.length})`,
      );
    }
    const deltasPerReply = warm.text.split('event: delta').length - 1;

    const firsts: number[] = [];
    const fulls: number[] = [];
    const shares: number[] = [];
    for (let i = 0; i < options.latencyRequests; i++) {
      const { first, done } = await streamOnce();
      firsts.push(first);
      fulls.push(done);
      shares.push(first / done);
    }
    onProgress('chat stream: latency done');

    const cpuOf = async (run: () => Promise<unknown>, count: number): Promise<number> => {
      const before = process.cpuUsage();
      for (let i = 0; i < count; i++) await run();
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000;
    };
    const blocks = 4;
    const perBlock = Math.max(1, Math.ceil(options.cpuRequests / blocks));
    let wholeCpu = 0;
    let streamCpu = 0;
    for (let block = 0; block < blocks; block++) {
      wholeCpu += await cpuOf(wholeOnce, perBlock);
      streamCpu += await cpuOf(streamOnce, perBlock);
    }
    waits = false;
    let unpacedCpu = 0;
    let instantCpu = 0;
    for (let block = 0; block < blocks; block++) {
      instantCpu += await cpuOf(wholeOnce, perBlock);
      unpacedCpu += await cpuOf(streamOnce, perBlock);
    }
    waits = true;
    const wall = [...fulls].sort((x, y) => x - y)[Math.floor(fulls.length / 2)] ?? 0;
    let idleCpu = 0;
    for (let block = 0; block < blocks; block++) {
      idleCpu += await cpuOf(() => new Promise((resolve) => setTimeout(resolve, wall)), perBlock);
    }
    // As many bare wake-ups as the stand-in makes per reply (one timer per model delta).
    const modelDeltas = Math.ceil(STREAM_REPLY_CHARS / STREAM_CHUNK_CHARS);
    const wakeUps = async () => {
      for (let i = 0; i < modelDeltas; i++) await new Promise((resolve) => setTimeout(resolve, chunkDelayMs));
    };
    let wakeCpu = 0;
    for (let block = 0; block < blocks; block++) wakeCpu += await cpuOf(wakeUps, perBlock);
    onProgress('chat stream: CPU done');
    const requests = blocks * perBlock;
    return {
      replyChars: STREAM_REPLY_CHARS,
      chunkChars: STREAM_CHUNK_CHARS,
      chunkDelayMs,
      deltasPerReply,
      firstDeltaMs: summarize(firsts),
      fullReplyMs: summarize(fulls),
      firstDeltaShare: summarize(shares),
      cpu: {
        requests,
        wholeMs: wholeCpu / requests,
        wholeInstantMs: instantCpu / requests,
        streamMs: streamCpu / requests,
        streamWithoutWaitsMs: unpacedCpu / requests,
        idleForStreamWallMs: idleCpu / requests,
        wakeUpsOnlyMs: wakeCpu / requests,
      },
    };
  } finally {
    await dynalite.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
