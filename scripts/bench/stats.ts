/**
 * Statistics of the benchmark harness: nearest-rank percentiles, sample summaries, ratios
 * and samplers for synchronous and asynchronous work on three clocks. Unit-tested in
 * test/bench/stats.test.ts; nothing here measures anything by itself.
 */
import { openSync, readSync } from 'node:fs';

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
 * What one sample measures.
 *
 * - `wall`: elapsed time (process.hrtime). On a shared machine it also holds the time the
 *   scheduler gave the core to another process (a 2-core box with five engineers:
 *   milliseconds at p99).
 * - `cpu`: CPU time this process spent (user + system, process.cpuUsage), all of its threads.
 *   Right in total, wrong per sample: Linux brings a helper thread's time (V8's concurrent
 *   marking and compilation) up to date only at a scheduler tick (4 ms at 250 Hz) while that
 *   thread runs on the other core, so a 0.5 ms sample that straddles such a tick reads 4.5 ms.
 *   Measured 2026-12-06 on the input check of a 10,000-character message: p50 0.46 ms, p99
 *   3.0 to 3.5 ms on this clock, with samples of 4.9 ms CPU in 0.46 ms of wall time, which two
 *   cores cannot do. Use it for means over many calls ({@link cpuPerCall}), not percentiles.
 * - `core`: wall time minus the time the calling thread waited in the run queue for a core
 *   (`run_delay`, field 2 of Linux's /proc/thread-self/schedstat, in nanoseconds; the kernel
 *   adds each wait when the thread is switched back in, so every wait that ended inside the
 *   sample is in it). That is the latency the code has on a core of its own: garbage
 *   collection pauses on this thread and waits for GC helpers count (including any time a
 *   helper itself waited for a core), this thread's own turns lost to other processes do
 *   not. The two readings are inside the timed window, so a wait can only be left in, never
 *   taken out of time outside it; their own cost (one system call each, measured once per
 *   process, {@link coreClockOverheadMicros}) is subtracted. Linux only
 *   ({@link coreClockAvailable}).
 */
export type SampleClock = 'wall' | 'cpu' | 'core';

/** CPU time of this process so far, in microseconds. */
function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

const SCHEDSTAT = '/proc/thread-self/schedstat';
let schedstatFd: number | null | undefined;
const schedstatBuffer = Buffer.alloc(128);

/** The fields of /proc/thread-self/schedstat: run time, run-queue wait (ns), timeslices. */
function schedstat(): number[] | undefined {
  if (schedstatFd === undefined) {
    try {
      schedstatFd = openSync(SCHEDSTAT, 'r');
    } catch {
      schedstatFd = null;
    }
  }
  if (schedstatFd === null) return undefined;
  // A procfs file is regenerated on every read from offset 0: one pread per reading.
  const length = readSync(schedstatFd, schedstatBuffer, 0, schedstatBuffer.length, 0);
  return schedstatBuffer.toString('latin1', 0, length).trim().split(' ').map(Number);
}

/** Microseconds the calling thread has waited in the run queue, or NaN without the statistics. */
export function runQueueWaitMicros(): number {
  const fields = schedstat();
  return fields === undefined ? Number.NaN : (fields[1] ?? Number.NaN) / 1000;
}

/**
 * Whether the `core` clock works here: Linux with scheduler statistics. A kernel built without
 * them prints zeros, which would turn the clock into wall time under another name.
 */
export function coreClockAvailable(): boolean {
  const fields = schedstat();
  return fields !== undefined && fields.length >= 3 && fields.every(Number.isFinite) && (fields[0] ?? 0) > 0;
}

let coreOverhead: number | undefined;
/** The `core` clock's own cost per sample (the median of 201 empty samples), in µs. */
export function coreClockOverheadMicros(): number {
  if (coreOverhead === undefined) {
    const empty: number[] = [];
    for (let i = 0; i < 201; i++) empty.push(rawCoreSample(() => undefined));
    coreOverhead = percentile(empty, 0.5);
  }
  return coreOverhead;
}

/** One `core` sample of `fn` before the overhead is subtracted. */
function rawCoreSample(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  const waited = runQueueWaitMicros();
  fn();
  const waitedAfter = runQueueWaitMicros();
  return Number(process.hrtime.bigint() - start) / 1e3 - (waitedAfter - waited);
}

/** One timed call of `fn` on `clock`, in microseconds. */
function timeOnce(fn: () => unknown, clock: SampleClock): number {
  if (clock === 'cpu') {
    const start = cpuMicros();
    fn();
    return cpuMicros() - start;
  }
  if (clock === 'core') {
    const overhead = coreClockOverheadMicros();
    return Math.max(0, rawCoreSample(fn) - overhead);
  }
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e3;
}

/** {@link timeOnce} for asynchronous work. */
async function timeOnceAsync(fn: () => Promise<unknown>, clock: SampleClock): Promise<number> {
  if (clock === 'cpu') {
    const start = cpuMicros();
    await fn();
    return cpuMicros() - start;
  }
  const overhead = clock === 'core' ? coreClockOverheadMicros() : 0;
  const start = process.hrtime.bigint();
  const waited = clock === 'core' ? runQueueWaitMicros() : 0;
  await fn();
  const waitedAfter = clock === 'core' ? runQueueWaitMicros() : 0;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e3;
  return Math.max(0, elapsed - (waitedAfter - waited) - overhead);
}

/**
 * Process CPU time per call of `fn` over `calls` calls, in microseconds: the cost including
 * helper threads, whose tick-late accounting evens out over a long run (see `cpu` above).
 */
export async function cpuPerCall(fn: () => unknown, calls: number): Promise<number> {
  const start = cpuMicros();
  for (let i = 0; i < calls; i++) await fn();
  return (cpuMicros() - start) / calls;
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
  for (let i = 0; i < iterations; i++) samples[i] = timeOnce(fn, clock);
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
  for (let i = 0; i < iterations; i++) samples[i] = await timeOnceAsync(fn, clock);
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
