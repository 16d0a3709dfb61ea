/**
 * Benchmarks (not tests; DESIGN.md section 10, issue 10): `npm run bench` prints tables and
 * writes `reports/bench.json` with the machine, Node version and commit they were measured on.
 *
 * 1. Cold start per function: shipped bundle (built exactly as lib/constructs/api-function.ts
 *    builds it) vs a naive reference bundle of the same entry: bytes, and median/p90 of load
 *    (`import`/`require`) and of the first request over fresh processes (scripts/bench/cold-start.ts).
 * 2. Security pipeline time per request on 1k and 10k messages: on-core percentiles per step
 *    and process CPU per request (scripts/bench/pipeline.ts).
 * 3. The chat handler in process against dynalite, the Converse stand-in and local data keys,
 *    at concurrency 1, 8 and 32 (scripts/bench/chat-load.ts).
 * 4. Policy engine worst cases per rule at 10k characters (scripts/bench/guardrail.ts).
 * 5. The streaming chat route in local mode: time to the first delta vs the full reply, and CPU
 *    per request vs the whole-reply path (scripts/bench/chat-stream.ts, issue 20).
 *
 *   npm run bench [-- --quick] [--runs 21] [--iterations 2000] [--env prod]
 *                 [--parts cold,pipeline,chat,guardrail,stream]
 *
 * Timings depend on the machine and on whatever else runs on it: compare runs made on the
 * same machine, and read the load average recorded in the report.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_OWNER_CACHE_SECONDS } from '../lambda/auth/owner-directory';
import { toLambdaEnvironment } from '../lambda/compose/function-env';
import { createPolicyEngine } from '../lambda/guardrail/engine';
import { METRIC_NAMESPACE } from '../lambda/shared/metric-names';
import { deployConfigDefine, deployConfigOf } from '../lib/config/deploy-config';
import { loadEnvironments } from '../lib/config/load';
import { allTables } from '../lib/data/table-schemas';
import { startDynalite } from '../test/support/dynalite';
import { freePort } from '../test/support/moto';
import { generateSigningKey, jwksOf, TEST_CLIENT_ID, TEST_ISSUER } from '../test/support/tokens';
import { buildBundles, SOURCE_MAP_NODE_OPTIONS } from './bench/bundles';
import { benchChatLoad, CHAT_MESSAGE_CHARS, TURNS_PER_CONVERSATION } from './bench/chat-load';
import { benchChatStream, STREAM_TARGETS } from './bench/chat-stream';
import { type ColdSample, FIRST_REQUESTS, measureColdStarts } from './bench/cold-start';
import { benchGuardrail, GUARDRAIL_TARGET_P99_MS, WORST_CASE_CHARS } from './bench/guardrail';
import { machineInfo } from './bench/machine';
import { benchPipeline, TOGETHER } from './bench/pipeline';
import {
  coreClockAvailable,
  markdownTable,
  meetsCeiling,
  ratio,
  round,
  type SampleClock,
  type Summary,
  summarize,
} from './bench/stats';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/** Targets of issue 10. */
export const TARGETS = {
  /** Chat bundle bytes / naive bundle bytes. */
  chatBundleRatio: 0.4,
  /** Chat median cold load time / naive median cold load time. */
  chatColdLoadRatio: 0.6,
  /** p99 of the whole security pipeline on a 10k-character message, µs. */
  pipeline10kP99Us: 1000,
} as const;

/** How the pipeline and engine tables name their clock (scripts/bench/stats.ts). */
const CLOCK_NAMES: Readonly<Record<SampleClock, string>> = {
  core: 'on-core time of the thread: wall minus run-queue waits',
  cpu: 'process CPU time, all threads (no run-queue statistics here)',
  wall: 'wall time',
};

const PARTS = ['cold', 'pipeline', 'chat', 'guardrail', 'stream'] as const;
type Part = (typeof PARTS)[number];

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? String(round(value, digits)) : 'n/a');
const roundSummary = (s: Summary, digits = 1): Summary => ({
  n: s.n,
  min: round(s.min, digits),
  p50: round(s.p50, digits),
  p90: round(s.p90, digits),
  p99: round(s.p99, digits),
  max: round(s.max, digits),
  mean: round(s.mean, digits),
});

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      iterations: { type: 'string' },
      env: { type: 'string', default: 'prod' },
      parts: { type: 'string', default: PARTS.join(',') },
    },
  });
  const quick = values.quick === true;
  const runs = Number(values.runs ?? (quick ? 5 : 21));
  const iterations = Number(values.iterations ?? (quick ? 200 : 2000));
  const parts = (values.parts ?? '').split(',').map((p) => p.trim()) as Part[];
  if (!Number.isInteger(runs) || runs < 3) throw new Error('--runs must be an integer >= 3');
  if (!Number.isInteger(iterations) || iterations < 100)
    throw new Error('--iterations must be an integer >= 100');
  const unknown = parts.filter((p) => !PARTS.includes(p));
  if (unknown.length > 0)
    throw new Error(`--parts: unknown ${unknown.join(', ')} (known: ${PARTS.join(', ')})`);
  return { quick, runs, iterations, env: values.env as string, parts: new Set(parts) };
}

async function coldStartPart(define: Record<string, string>, runs: number) {
  const workDir = mkdtempSync(join(tmpdir(), 'omnichat-bench-cold-'));
  const dynalite = await startDynalite();
  try {
    log('building shipped and naive bundles');
    const pairs = await buildBundles(projectRoot, workDir, define);
    const names = await dynalite.createTables(allTables, 'cold-');
    const closedPort = await freePort();
    const functionVariables = {
      authIssuer: TEST_ISSUER,
      authJwks: JSON.stringify(jwksOf(generateSigningKey('cold-1'), generateSigningKey('cold-2'))),
      authClientIds: TEST_CLIENT_ID,
      authMaxTokenSeconds: 3600,
      apiKeysTable: names.ApiKeysTable ?? '',
      auditTable: names.AuditTable ?? '',
      auditRetentionDays: 30,
      ownerCacheSeconds: DEFAULT_OWNER_CACHE_SECONDS,
      metricsNamespace: METRIC_NAMESPACE,
      conversationsTable: names.ConversationsTable ?? '',
      limitsTable: names.LimitsTable ?? '',
      settingsTable: names.SettingsTable ?? '',
      dataKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-000000000000',
    };
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_NO_WARNINGS: '1',
      // Lambda runs Node 22, where the SDK warns about nothing; on an older local Node its
      // support warning would be a cost no deployed function pays.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDBENCH',
      AWS_SECRET_ACCESS_KEY: 'bench-secret',
      AWS_SESSION_TOKEN: 'bench-session',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      // Nothing may leave the machine: DynamoDB is dynalite, every other endpoint refuses.
      AWS_ENDPOINT_URL: `http://127.0.0.1:${closedPort}`,
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      // The functions' variables as the stacks set them (lambda/compose/function-env.ts), with
      // this run's tables and keys; one set serves every entry.
      ...toLambdaEnvironment('chat', {
        ...functionVariables,
        guardrailId: 'arn:aws:bedrock:eu-west-1:111111111111:guardrail/bench',
        guardrailVersion: '1',
      }),
      ...toLambdaEnvironment('web', {
        ...functionVariables,
        cognitoLogoutUrl:
          'https://auth.example.com/logout?client_id=x&logout_uri=https%3A%2F%2Fchat.example.com%2F',
      }),
      ...toLambdaEnvironment('audit-archiver', { auditArchiveBucket: 'omnichat-bench-archive' }),
    };
    const samples = await measureColdStarts(pairs, { workDir, runs, env }, log);
    return pairs.map((pair) => {
      const result = samples.find((s) => s.entry === pair.entry);
      const side = (list: ColdSample[] = []) => ({
        loadMs: summarize(list.map((s) => s.loadMs)),
        firstRequestMs: summarize(list.map((s) => s.firstRequestMs)),
        totalMs: summarize(list.map((s) => s.loadMs + s.firstRequestMs)),
      });
      const shipped = side(result?.shipped);
      const withMaps = side(result?.shippedWithSourceMaps);
      const naive = side(result?.naive);
      return {
        entry: pair.entry,
        firstRequest: FIRST_REQUESTS[pair.entry].what,
        shipped: {
          bytes: pair.shipped.bytes,
          sourceMapBytes: pair.shipped.sourceMapBytes,
          nodeOptions: pair.shipped.nodeOptions,
          ...shipped,
        },
        shippedWithSourceMaps: withMaps,
        naive: { bytes: pair.naive.bytes, ...naive },
        ratios: {
          bytes: ratio(pair.shipped.bytes, pair.naive.bytes),
          loadP50: ratio(shipped.loadMs.p50, naive.loadMs.p50),
          loadP90: ratio(shipped.loadMs.p90, naive.loadMs.p90),
          totalP50: ratio(shipped.totalMs.p50, naive.totalMs.p50),
          totalP90: ratio(shipped.totalMs.p90, naive.totalMs.p90),
          loadP50WithSourceMaps: ratio(withMaps.loadMs.p50, naive.loadMs.p50),
        },
      };
    });
  } finally {
    await dynalite.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const options = parseOptions();
  const machine = machineInfo(projectRoot);
  const [config] = loadEnvironments(options.env);
  if (!config) throw new Error(`no environment ${options.env}`);
  const deploy = deployConfigOf(config);
  const guard = createPolicyEngine(deploy.localPolicy);
  const sampleClock: SampleClock = coreClockAvailable() ? 'core' : 'cpu';
  const out: string[] = [];
  const report: Record<string, unknown> = {
    generatedAt: new Date().toISOString(),
    quick: options.quick,
    machine,
    deployEnvironment: options.env,
    targets: { ...TARGETS, stream: STREAM_TARGETS },
  };
  out.push(
    `# OmniChat benchmarks${options.quick ? ' (--quick smoke run: too few samples to quote)' : ''}`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}/${machine.arch}, Node ${machine.node}, ` +
      `commit ${machine.commit.slice(0, 12)}${machine.dirty ? ' (uncommitted changes)' : ''}, load average ${machine.loadAverage1m} at start.`,
    'Timings are noisy on a shared machine; compare runs made on the same machine.',
  );
  const verdicts: string[] = [];

  if (options.parts.has('cold')) {
    log(`cold start: ${options.runs} fresh processes per bundle`);
    const rows = await coldStartPart(deployConfigDefine(config), options.runs);
    report.coldStart = {
      runsPerBundle: options.runs,
      measuredInside: 'performance.now() around import()/require() and around the first handler call',
      functions: rows,
    };
    out.push(
      '',
      `## 1. Cold start per function (${options.runs} fresh processes per bundle, ms; shipped = ESM minified and split as deployed, run with NODE_OPTIONS=${rows[0]?.shipped.nodeOptions || '(none)'}, and with ${SOURCE_MAP_NODE_OPTIONS}; naive = one esbuild call, CJS, unminified)`,
      '',
      markdownTable(
        [
          'function',
          'shipped bytes',
          'naive bytes',
          'bytes ratio',
          'load p50 shipped / naive',
          'load p90 shipped / naive',
          'load p50 ratio',
          'load p50 with source maps (ratio)',
          'load + 1st request p50 shipped / naive',
          'p90 shipped / naive',
          'p50 ratio',
          'first request',
        ],
        rows.map((r) => [
          r.entry,
          r.shipped.bytes,
          r.naive.bytes,
          fmt(r.ratios.bytes, 3),
          `${fmt(r.shipped.loadMs.p50)} / ${fmt(r.naive.loadMs.p50)}`,
          `${fmt(r.shipped.loadMs.p90)} / ${fmt(r.naive.loadMs.p90)}`,
          fmt(r.ratios.loadP50, 3),
          `${fmt(r.shippedWithSourceMaps.loadMs.p50)} (${fmt(r.ratios.loadP50WithSourceMaps, 3)})`,
          `${fmt(r.shipped.totalMs.p50)} / ${fmt(r.naive.totalMs.p50)}`,
          `${fmt(r.shipped.totalMs.p90)} / ${fmt(r.naive.totalMs.p90)}`,
          fmt(r.ratios.totalP50, 3),
          r.firstRequest,
        ]),
      ),
    );
    const chat = rows.find((r) => r.entry === 'chat');
    if (chat) {
      verdicts.push(
        `chat bundle ${fmt(chat.ratios.bytes, 3)} of naive bytes (target <= ${TARGETS.chatBundleRatio}): ${meetsCeiling(chat.ratios.bytes, TARGETS.chatBundleRatio) ? 'met' : 'NOT met'}`,
        `chat cold load median ${fmt(chat.ratios.loadP50, 3)} of naive as deployed, ${fmt(chat.ratios.loadP50WithSourceMaps, 3)} with ${SOURCE_MAP_NODE_OPTIONS} (target <= ${TARGETS.chatColdLoadRatio}): ${meetsCeiling(chat.ratios.loadP50, TARGETS.chatColdLoadRatio) ? 'met' : 'NOT met'} as deployed`,
      );
    }
  }

  if (options.parts.has('pipeline')) {
    log(`security pipeline: ${options.iterations} samples per row`);
    const rows = await benchPipeline(
      guard,
      deploy.runtimeDefaults.systemPrompt,
      options.iterations,
      sampleClock,
    );
    report.pipeline = {
      iterations: options.iterations,
      unit: 'µs',
      clock: sampleClock,
      rows: rows.map((r) => ({
        ...r,
        us: roundSummary(r.us),
        ...(r.processCpuUs === undefined ? {} : { processCpuUs: round(r.processCpuUs) }),
      })),
    };
    out.push(
      '',
      `## 2. Security pipeline per request, I/O stubbed (${options.iterations} samples per row, µs, ${CLOCK_NAMES[sampleClock]})`,
      '',
      markdownTable(
        ['step', 'chars', 'p50', 'p99', 'max', 'process CPU per call (all threads, mean)'],
        rows.map((r) => [
          r.step,
          r.chars,
          fmt(r.us.p50),
          fmt(r.us.p99),
          fmt(r.us.max),
          r.processCpuUs === undefined ? '' : fmt(r.processCpuUs),
        ]),
      ),
    );
    const whole = rows.find((r) => r.step === TOGETHER && r.chars === 10_000);
    if (whole) {
      verdicts.push(
        `security pipeline p99 on a 10k message ${fmt(whole.us.p99)} µs (target <= ${TARGETS.pipeline10kP99Us} µs): ${meetsCeiling(whole.us.p99, TARGETS.pipeline10kP99Us) ? 'met' : 'NOT met'}`,
      );
    }
  }

  if (options.parts.has('chat')) {
    log('chat in process: dynalite + Converse stand-in + local data keys');
    const rows = await benchChatLoad(
      { deploy, concurrencies: [1, 8, 32], requestsPerLevel: options.quick ? 40 : 400 },
      log,
    );
    report.chatLoad = {
      stores: 'dynalite (in process)',
      model: 'Converse stand-in over HTTP/2 on loopback, real BedrockRuntimeClient',
      keys: 'LocalDataKeys (in-process key wrap standing in for KMS)',
      messageChars: CHAT_MESSAGE_CHARS,
      turnsPerConversation: TURNS_PER_CONVERSATION,
      rows: rows.map((r) => ({
        ...r,
        ms: roundSummary(r.ms, 2),
        requestsPerSecond: round(r.requestsPerSecond, 1),
      })),
    };
    out.push(
      '',
      `## 3. Chat request in process (dynalite, Converse stand-in, LocalDataKeys; ${CHAT_MESSAGE_CHARS}-char messages, ${TURNS_PER_CONVERSATION} turns per conversation; ms)`,
      '',
      markdownTable(
        ['concurrency', 'requests', 'errors', 'p50', 'p99', 'req/s'],
        rows.map((r) => [
          r.concurrency,
          r.requests,
          r.errors,
          fmt(r.ms.p50),
          fmt(r.ms.p99),
          fmt(r.requestsPerSecond),
        ]),
      ),
    );
  }

  if (options.parts.has('guardrail')) {
    const iterations = options.quick ? 100 : 300;
    log(`policy engine worst cases: ${iterations} samples per row`);
    const rows = benchGuardrail(guard, iterations, sampleClock);
    const worst = rows.filter((r) => r.chars >= WORST_CASE_CHARS);
    const worstP99 = Math.max(...worst.flatMap((r) => [r.inputMs.p99, r.outputMs.p99]));
    report.guardrail = {
      iterations,
      unit: 'ms',
      clock: sampleClock,
      targetP99Ms: GUARDRAIL_TARGET_P99_MS,
      worstP99Ms: round(worstP99, 3),
      rows: rows.map((r) => ({
        ...r,
        inputMs: roundSummary(r.inputMs, 3),
        outputMs: roundSummary(r.outputMs, 3),
      })),
    };
    out.push(
      '',
      `## 4. Policy engine worst cases (${iterations} samples per row, ms, ${CLOCK_NAMES[sampleClock]})`,
      '',
      markdownTable(
        ['message', 'chars', 'checkInput p50', 'checkInput p99', 'checkOutput p50', 'checkOutput p99'],
        rows.map((r) => [
          r.message,
          r.chars,
          fmt(r.inputMs.p50, 3),
          fmt(r.inputMs.p99, 3),
          fmt(r.outputMs.p50, 3),
          fmt(r.outputMs.p99, 3),
        ]),
      ),
    );
    verdicts.push(
      `policy engine worst p99 on 10k messages ${fmt(worstP99, 3)} ms per check (target <= ${GUARDRAIL_TARGET_P99_MS} ms): ${meetsCeiling(worstP99, GUARDRAIL_TARGET_P99_MS) ? 'met' : 'NOT met'}`,
    );
  }

  if (options.parts.has('stream')) {
    log('streaming chat route in local mode: stand-in 40 ms per delta');
    const result = await benchChatStream(
      {
        deploy,
        latencyRequests: options.quick ? 5 : 21,
        cpuRequests: options.quick ? 8 : 40,
        chunkDelayMs: 40,
      },
      log,
    );
    const share = result.firstDeltaShare.p50;
    const cpuRatio = ratio(result.cpu.streamMs, result.cpu.wholeMs);
    report.chatStream = {
      stores: 'dynalite (in process)',
      model: `local stand-in, ${result.chunkChars}-character deltas, ${result.chunkDelayMs} ms before each`,
      keys: 'LocalDataKeys',
      ...result,
      firstDeltaMs: roundSummary(result.firstDeltaMs),
      fullReplyMs: roundSummary(result.fullReplyMs),
      firstDeltaShare: roundSummary(result.firstDeltaShare, 3),
      cpu: {
        requests: result.cpu.requests,
        wholeMs: round(result.cpu.wholeMs, 2),
        wholeInstantMs: round(result.cpu.wholeInstantMs, 2),
        streamMs: round(result.cpu.streamMs, 2),
        streamWithoutWaitsMs: round(result.cpu.streamWithoutWaitsMs, 2),
        idleForStreamWallMs: round(result.cpu.idleForStreamWallMs, 2),
        wakeUpsOnlyMs: round(result.cpu.wakeUpsOnlyMs, 2),
      },
      cpuRatio: round(cpuRatio, 3),
    };
    out.push(
      '',
      `## 5. Streaming chat route in local mode (${result.replyChars}-character reply, stand-in ${result.chunkChars}-character deltas ${result.chunkDelayMs} ms apart, ${result.deltasPerReply} SSE deltas per reply; ${result.firstDeltaMs.n} requests one at a time, ms)`,
      '',
      markdownTable(
        ['measure', 'p50', 'p90', 'max'],
        [
          [
            'first delta',
            fmt(result.firstDeltaMs.p50),
            fmt(result.firstDeltaMs.p90),
            fmt(result.firstDeltaMs.max),
          ],
          [
            'full reply (done)',
            fmt(result.fullReplyMs.p50),
            fmt(result.fullReplyMs.p90),
            fmt(result.fullReplyMs.max),
          ],
          [
            'first delta / full reply',
            fmt(result.firstDeltaShare.p50, 3),
            fmt(result.firstDeltaShare.p90, 3),
            fmt(result.firstDeltaShare.max, 3),
          ],
        ],
      ),
      '',
      markdownTable(
        ['CPU per request (process-wide, ms)', 'whole reply', 'streaming', 'ratio'],
        [
          [
            `${result.cpu.requests} requests per path (the whole reply after the stream's generation time, one wait)`,
            fmt(result.cpu.wholeMs, 2),
            fmt(result.cpu.streamMs, 2),
            fmt(cpuRatio, 3),
          ],
          [
            `diagnostic: no model wait on either path (whole reply at once, deltas without the ${result.chunkDelayMs} ms waits)`,
            fmt(result.cpu.wholeInstantMs, 2),
            fmt(result.cpu.streamWithoutWaitsMs, 2),
            fmt(ratio(result.cpu.streamWithoutWaitsMs, result.cpu.wholeInstantMs), 3),
          ],
          [
            `diagnostic: no request, the process idle for a stream's wall time (${fmt(result.fullReplyMs.p50)} ms)`,
            '',
            fmt(result.cpu.idleForStreamWallMs, 2),
            '',
          ],
          [
            `diagnostic: no request, the process woken ${Math.ceil(result.replyChars / result.chunkChars)} times ${result.chunkDelayMs} ms apart (as the stand-in wakes it)`,
            '',
            fmt(result.cpu.wakeUpsOnlyMs, 2),
            '',
          ],
        ],
      ),
    );
    verdicts.push(
      `streaming first delta at ${fmt(share, 3)} of the full reply time, median (target <= ${STREAM_TARGETS.firstDeltaShare}): ${meetsCeiling(share, STREAM_TARGETS.firstDeltaShare) ? 'met' : 'NOT met'}`,
      `streaming CPU per request ${fmt(cpuRatio, 3)}x the whole-reply path (target <= ${STREAM_TARGETS.cpuRatio}x): ${meetsCeiling(cpuRatio, STREAM_TARGETS.cpuRatio) ? 'met' : 'NOT met'}`,
    );
  }

  const loadAtEnd = round(loadavg()[0] ?? 0, 2);
  report.loadAverage1mAtEnd = loadAtEnd;
  report.verdicts = verdicts;
  out.push('', `Load average ${loadAtEnd} at the end of the run.`);
  out.push('', '## Targets', '', ...verdicts.map((v) => `- ${v}`), '');
  process.stdout.write(`${out.join('\n')}\n`);
  mkdirSync(resolve(projectRoot, 'reports'), { recursive: true });
  writeFileSync(resolve(projectRoot, 'reports/bench.json'), `${JSON.stringify(report, null, 2)}\n`);
  log('wrote reports/bench.json');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
