/**
 * Statistics of the benchmark harness: nearest-rank percentiles, sample summaries, ratios
 * and a sampler for synchronous and asynchronous work. Pure functions, unit-tested in
 * test/bench/stats.test.ts; nothing here measures anything by itself.
 */

/**
 * The nearest-rank percentile of `samples` (any order): the smallest value with at least
 * `fraction` of the samples at or below it. `fraction` in (0, 1]; NaN for no samples.
 */
export function percentile(samples: readonly number[], fraction: number): number {
  if (!(fraction > 0 && fraction <= 1))
    throw new RangeError(`percentile: fraction ${fraction} not in (0, 1]`);
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Summary of a set of samples, in the samples' unit. */
export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Summarizes samples (NaN fields when there are none). */
export function summarize(samples: readonly number[]): Summary {
  const n = samples.length;
  const mean = n === 0 ? Number.NaN : samples.reduce((sum, value) => sum + value, 0) / n;
  return {
    n,
    min: n === 0 ? Number.NaN : Math.min(...samples),
    p50: percentile(samples, 0.5),
    p90: percentile(samples, 0.9),
    p99: percentile(samples, 0.99),
    max: n === 0 ? Number.NaN : Math.max(...samples),
    mean,
  };
}

/** `value / reference`, NaN when the reference is not a positive finite number. */
export function ratio(value: number, reference: number): number {
  return Number.isFinite(reference) && reference > 0 && Number.isFinite(value)
    ? value / reference
    : Number.NaN;
}

/** Whether a measured ratio meets a target ceiling (a NaN ratio never does). */
export function meetsCeiling(value: number, ceiling: number): boolean {
  return Number.isFinite(value) && value <= ceiling;
}

/** Rounds to `digits` decimals (for reports; the raw samples are never rounded). */
export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Requests per second for `count` requests completed in `elapsedMs`. */
export function throughput(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : Number.NaN;
}

/** Elapsed milliseconds since `start` (a `process.hrtime.bigint()` value). */
export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * What one sample measures. `wall`: elapsed time (process.hrtime). `cpu`: CPU time this
 * process spent (user + system, process.cpuUsage, microsecond resolution, all of its threads,
 * so garbage collection and compilation on helper threads count too). On a shared machine a
 * wall-clock sample also holds the time the scheduler gave the core to another process (a
 * 2-core box with five engineers: milliseconds at p99); CPU time leaves that out and keeps
 * everything the measured code itself costs.
 */
export type SampleClock = 'wall' | 'cpu';

/** CPU time of this process so far, in microseconds. */
function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Runs `fn` `warmup` times unmeasured, then `iterations` times, returning each duration in µs. */
export function sampleSync(
  fn: () => unknown,
  iterations: number,
  warmup = Math.min(200, iterations),
  clock: SampleClock = 'wall',
): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = new Array(iterations);
  for (let i = 0; i < iterations; i++) {
    if (clock === 'cpu') {
      const start = cpuMicros();
      fn();
      samples[i] = cpuMicros() - start;
      continue;
    }
    const start = process.hrtime.bigint();
    fn();
    samples[i] = Number(process.hrtime.bigint() - start) / 1e3;
  }
  return samples;
}

/** {@link sampleSync} for asynchronous work, awaited one at a time. */
export async function sampleAsync(
  fn: () => Promise<unknown>,
  iterations: number,
  warmup = Math.min(200, iterations),
  clock: SampleClock = 'wall',
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = new Array(iterations);
  for (let i = 0; i < iterations; i++) {
    if (clock === 'cpu') {
      const start = cpuMicros();
      await fn();
      samples[i] = cpuMicros() - start;
      continue;
    }
    const start = process.hrtime.bigint();
    await fn();
    samples[i] = Number(process.hrtime.bigint() - start) / 1e3;
  }
  return samples;
}

/** A Markdown table from a header row and rows of cells. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
