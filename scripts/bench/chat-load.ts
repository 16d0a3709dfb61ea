/**
 * The chat function in process, under load: the same handler the chat entry exports
 * (`composeFunction('chat', ...)` runs `composeChat`, the composer the AWS entry calls; HTTP
 * edge and claim check included), invoked with ALB events carrying a Bearer token, against
 * - dynalite (in this process) for conversations, limits, settings, API keys and audit;
 * - the Converse stand-in (HTTP/2 on loopback) through the real BedrockRuntimeClient and
 *   the Bedrock adapter, so serialization, SigV4 signing and parsing are real;
 * - LocalDataKeys for KMS (an in-process AES key wrap instead of a KMS round trip; with
 *   data-key caching KMS is called once per conversation and 1,000 messages anyway).
 *
 * Each worker is one user (its own token) who starts a conversation, continues it for a few
 * turns (history read and decrypted, data key cached), then starts another. The per-user
 * limits of the deploy configuration are raised for the run, so the limit store does its
 * conditional writes but never answers 429. Latency is per request; requests/second is the
 * number of requests over the wall time of the level.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { ALBEvent, Context } from 'aws-lambda';
import { composeFunction } from '../../lambda/compose/compose-function';
import type { DeployConfig } from '../../lambda/compose/deploy-config';
import { LocalDataKeys } from '../../lambda/crypto/local-data-keys';
import { localAdapters } from '../../lambda/local/compose';
import { LocalIssuer, type LocalUser } from '../../lambda/local/issuer';
import { createBedrockChatModel } from '../../lambda/model/bedrock-converse-model';
import { allTables } from '../../lib/data/table-schemas';
import { startConverseStandIn } from '../../test/support/converse-standin';
import { startDynalite } from '../../test/support/dynalite';
import { typicalMessage } from './pipeline';
import { elapsedMs, type Summary, summarize, throughput } from './stats';

/** Turns per conversation before a worker starts a new one. */
export const TURNS_PER_CONVERSATION = 5;
/** Characters of each chat message. */
export const CHAT_MESSAGE_CHARS = 1_000;

/** Result at one concurrency level. */
export interface ChatLoadRow {
  readonly concurrency: number;
  readonly requests: number;
  readonly errors: number;
  readonly ms: Summary;
  readonly requestsPerSecond: number;
}

/** Options of {@link benchChatLoad}. */
export interface ChatLoadOptions {
  readonly deploy: DeployConfig;
  readonly concurrencies: readonly number[];
  /** Requests measured per level: max(this, concurrency x 10). */
  readonly requestsPerLevel: number;
}

const GUARDRAIL = { identifier: 'arn:aws:bedrock:eu-west-1:111111111111:guardrail/bench', version: '1' };

function lambdaContext(): Context {
  const deadline = Date.now() + 15_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'omnichat-chat',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:omnichat-chat',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/omnichat-chat',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function chatEvent(token: string, body: Record<string, string>): ALBEvent {
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
      'x-forwarded-for': '203.0.113.7',
      'user-agent': 'omnichat-bench',
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** The deploy configuration with per-user limits raised out of the way (schema maxima). */
export function withoutLimits(deploy: DeployConfig): DeployConfig {
  const open = { requestsPerMinute: 60_000, burst: 10_000, dailyTokens: 1_000_000_000 };
  const limits = Object.fromEntries(Object.keys(deploy.runtimeDefaults.limits).map((name) => [name, open]));
  return {
    ...deploy,
    runtimeDefaults: {
      ...deploy.runtimeDefaults,
      limits: limits as DeployConfig['runtimeDefaults']['limits'],
    },
  };
}

/** Runs the chat handler at each concurrency level. */
export async function benchChatLoad(
  options: ChatLoadOptions,
  onProgress: (message: string) => void = () => undefined,
): Promise<ChatLoadRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'omnichat-bench-chat-'));
  const dynalite = await startDynalite();
  const standIn = await startConverseStandIn({ guardrail: GUARDRAIL });
  const bedrock = new BedrockRuntimeClient({
    endpoint: standIn.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' },
    maxAttempts: 2,
  });
  try {
    const names = await dynalite.createTables(allTables, 'bench-');
    const table = (id: string): string => {
      const name = names[id];
      if (name === undefined) throw new Error(`bench: no table ${id}`);
      return name;
    };
    const issuer = new LocalIssuer({ dir, issuer: 'http://127.0.0.1/bench-issuer' });
    const model = createBedrockChatModel({
      client: bedrock,
      guardrail: GUARDRAIL,
      label: 'Converse stand-in',
    });
    // The same composition root as the AWS entries (lambda/compose/compose-function.ts).
    const { handler, shared } = await composeFunction(
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
    const message = typicalMessage(CHAT_MESSAGE_CHARS);

    const maxConcurrency = Math.max(...options.concurrencies);
    const users: LocalUser[] = Array.from({ length: maxConcurrency }, (_, index) => ({
      sub: randomUUID(),
      email: `bench-${index}@example.com`,
      groups: ['user'],
      enabled: true,
      validAfter: 0,
    }));
    // Tokens are judged on the owner directory: the users "signed in" (as the pre-token trigger records them).
    for (const user of users) {
      await shared.owners.record(user.sub, { groups: user.groups, status: 'active', at: new Date() });
    }
    const tokens = users.map((user) => issuer.mintAccessToken(user));

    /** One worker's state: its conversation and the turn within it. */
    const conversations = new Map<number, { id?: string; turn: number }>();
    const oneRequest = async (worker: number): Promise<{ ms: number; ok: boolean }> => {
      const state = conversations.get(worker) ?? { turn: 0 };
      const body: Record<string, string> = { message };
      if (state.id !== undefined) body.conversationId = state.id;
      const start = process.hrtime.bigint();
      const result = await handler(chatEvent(tokens[worker] as string, body), lambdaContext());
      const ms = elapsedMs(start);
      const ok = result.statusCode === 200;
      if (ok) {
        const turn = state.turn + 1;
        const id = (JSON.parse(result.body ?? '{}') as { conversationId?: string }).conversationId;
        conversations.set(
          worker,
          turn >= TURNS_PER_CONVERSATION || id === undefined ? { turn: 0 } : { id, turn },
        );
      } else {
        conversations.set(worker, { turn: 0 });
      }
      return { ms, ok };
    };

    const runLevel = async (concurrency: number, total: number) => {
      const latencies: number[] = [];
      let errors = 0;
      let issued = 0;
      const start = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: concurrency }, async (_, worker) => {
          while (issued < total) {
            issued += 1;
            const { ms, ok } = await oneRequest(worker);
            latencies.push(ms);
            if (!ok) errors += 1;
          }
        }),
      );
      return { latencies, errors, wallMs: elapsedMs(start) };
    };

    const rows: ChatLoadRow[] = [];
    for (const concurrency of options.concurrencies) {
      const total = Math.max(options.requestsPerLevel, concurrency * 10);
      // Warm-up: JIT, connection pools, settings cache, each worker's first data key.
      await runLevel(concurrency, Math.max(concurrency * 2, 10));
      const { latencies, errors, wallMs } = await runLevel(concurrency, total);
      rows.push({
        concurrency,
        requests: latencies.length,
        errors,
        ms: summarize(latencies),
        requestsPerSecond: throughput(latencies.length, wallMs),
      });
      onProgress(`chat load: concurrency ${concurrency} done`);
    }
    if (standIn.refusals.length > 0)
      throw new Error(`Converse stand-in refused calls: ${standIn.refusals[0]}`);
    return rows;
  } finally {
    bedrock.destroy();
    await standIn.stop();
    await dynalite.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
