/**
 * Cold start per function: each sample is a fresh `node` process that loads one bundle
 * (`import()` for the shipped ESM bundle, `require()` for the naive CommonJS one) and serves
 * one first request, timing both from inside the process with `performance.now()` (node's
 * own start-up, identical for both, is not counted). Shipped and naive runs are interleaved
 * so that load on the machine hits both alike.
 *
 * The child gets only the environment the function needs, as Lambda would give it: table
 * names, the verifier's issuer and JWKS, region, static credentials, and the construct's
 * NODE_OPTIONS for the shipped bundle (also measured with `--enable-source-maps`, to show its
 * cost). DynamoDB points at a dynalite on loopback (the first
 * request's audit write really happens); every other AWS endpoint points at a closed
 * loopback port, so a stray call fails at once instead of leaving the machine.
 *
 * First requests: API functions get an unauthenticated request (401, after the denial is
 * written to the audit table), health a `GET /healthz` (200), the archiver an empty stream
 * batch.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BuiltBundle, type BundlePair, type FunctionEntry, SOURCE_MAP_NODE_OPTIONS } from './bundles';

/** What one child process measured. */
export interface ColdSample {
  readonly loadMs: number;
  readonly firstRequestMs: number;
  /** HTTP status of the first request (0 for the stream-triggered archiver). */
  readonly status: number;
}

/** The first request of each function, and the status it must answer with. */
export const FIRST_REQUESTS: Readonly<
  Record<FunctionEntry, { event: unknown; status: number; what: string }>
> = {
  chat: {
    event: albEvent('POST', '/api/v1/chat', '{"message":"hello"}'),
    status: 401,
    what: 'POST /api/v1/chat, no credentials',
  },
  history: {
    event: albEvent('GET', '/api/v1/conversations'),
    status: 401,
    what: 'GET /api/v1/conversations, no credentials',
  },
  keys: { event: albEvent('GET', '/api/v1/keys'), status: 401, what: 'GET /api/v1/keys, no credentials' },
  admin: {
    event: albEvent('GET', '/api/v1/admin/settings'),
    status: 401,
    what: 'GET /api/v1/admin/settings, no credentials',
  },
  web: { event: albEvent('GET', '/app/chat'), status: 401, what: 'GET /app/chat, no session' },
  health: { event: albEvent('GET', '/healthz'), status: 200, what: 'GET /healthz' },
  'audit-archiver': { event: { Records: [] }, status: 0, what: 'empty DynamoDB stream batch' },
};

function albEvent(method: string, path: string, body?: string) {
  return {
    requestContext: {
      elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/bench/0' },
    },
    httpMethod: method,
    path,
    queryStringParameters: {},
    headers: {
      'x-forwarded-for': '203.0.113.7',
      'user-agent': 'omnichat-bench',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body ?? '',
    isBase64Encoded: false,
  };
}

/** The child: loads the bundle, serves the first request, prints one marked JSON line. */
const CHILD_SOURCE = `import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [file, format, eventFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const deadline = Date.now() + 15000;
const context = {
  callbackWaitsForEmptyEventLoop: true, functionName: 'bench', functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:bench', memoryLimitInMB: '512',
  awsRequestId: 'bench-0000', logGroupName: '/aws/lambda/bench', logStreamName: 'bench',
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done() {}, fail() {}, succeed() {},
};
const t0 = performance.now();
const mod = format === 'esm' ? await import(pathToFileURL(file).href) : createRequire(import.meta.url)(file);
const t1 = performance.now();
const result = await mod.handler(event, context);
const t2 = performance.now();
process.stdout.write('\\n@@bench ' + JSON.stringify({ loadMs: t1 - t0, firstRequestMs: t2 - t1, status: result?.statusCode ?? 0 }) + '\\n');
process.exit(0);
`;

/** Options of {@link measureColdStarts}. */
export interface ColdStartOptions {
  readonly workDir: string;
  readonly runs: number;
  /** Environment of every function (tables, verifier, region, credentials, endpoints). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * What is measured per function: the shipped bundle as deployed (with the construct's
 * NODE_OPTIONS, none), the same bundle with `--enable-source-maps` (what loading its source
 * map would cost, the figure behind leaving it off), and the naive reference.
 */
export const COLD_VARIANTS = ['shipped', 'shippedWithSourceMaps', 'naive'] as const;
/** One of {@link COLD_VARIANTS}. */
export type ColdVariant = (typeof COLD_VARIANTS)[number];

/** Per-function samples of each variant. */
export type ColdStartSamples = { readonly entry: FunctionEntry } & Record<ColdVariant, ColdSample[]>;

function bundleOf(pair: BundlePair, variant: ColdVariant): BuiltBundle {
  if (variant === 'naive') return pair.naive;
  return variant === 'shipped' ? pair.shipped : { ...pair.shipped, nodeOptions: SOURCE_MAP_NODE_OPTIONS };
}

function runChild(
  childFile: string,
  bundle: BuiltBundle,
  eventFile: string,
  env: Readonly<Record<string, string>>,
): Promise<ColdSample> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [childFile, bundle.file, bundle.format, eventFile], {
      env: { ...env, ...(bundle.nodeOptions ? { NODE_OPTIONS: bundle.nodeOptions } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('@@bench '));
      if (code !== 0 || line === undefined) {
        reject(new Error(`cold start of ${bundle.file} failed (exit ${code}): ${stderr.trim()}`));
        return;
      }
      resolvePromise(JSON.parse(line.slice('@@bench '.length)) as ColdSample);
    });
  });
}

/** Runs `runs` fresh processes per bundle, interleaving shipped and naive. */
export async function measureColdStarts(
  pairs: readonly BundlePair[],
  options: ColdStartOptions,
  onProgress: (message: string) => void = () => undefined,
): Promise<ColdStartSamples[]> {
  const childFile = join(options.workDir, 'cold-child.mjs');
  writeFileSync(childFile, CHILD_SOURCE);
  const results: ColdStartSamples[] = pairs.map((pair) => ({
    entry: pair.entry,
    shipped: [],
    shippedWithSourceMaps: [],
    naive: [],
  }));
  for (let run = 0; run < options.runs; run++) {
    for (const [index, pair] of pairs.entries()) {
      const first = FIRST_REQUESTS[pair.entry];
      const eventFile = join(options.workDir, `event-${pair.entry}.json`);
      if (run === 0) writeFileSync(eventFile, JSON.stringify(first.event));
      const env = { ...options.env, AWS_LAMBDA_FUNCTION_NAME: `omnichat-${pair.entry}` };
      // Rotate which variant goes first, so none always runs on a warmer page cache.
      const order = COLD_VARIANTS.map(
        (_, i) => COLD_VARIANTS[(i + run) % COLD_VARIANTS.length] as ColdVariant,
      );
      for (const kind of order) {
        const sample = await runChild(childFile, bundleOf(pair, kind), eventFile, env);
        if (sample.status !== first.status) {
          throw new Error(
            `${pair.entry} (${kind}): first request answered ${sample.status}, expected ${first.status} (${first.what})`,
          );
        }
        results[index]?.[kind].push(sample);
      }
    }
    onProgress(`cold start: run ${run + 1}/${options.runs}`);
  }
  return results;
}
