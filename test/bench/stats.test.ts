import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  coreClockAvailable,
  coreClockOverheadMicros,
  cpuPerCall,
  markdownTable,
  meetsCeiling,
  percentile,
  ratio,
  round,
  runQueueWaitMicros,
  sampleAsync,
  sampleSync,
  summarize,
  throughput,
} from '../../scripts/bench/stats';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, index) => 100 - index); // 100..1, unsorted

  it.each([
    [0.5, 50],
    [0.9, 90],
    [0.99, 99],
    [1, 100],
    [0.001, 1],
  ])('p%s of 1..100 is %s, whatever the input order', (fraction, expected) => {
    expect(percentile(hundred, fraction)).toBe(expected);
  });

  it('takes the smallest value with at least the fraction at or below it', () => {
    // 15 cold starts: the median is the 8th, p90 the 14th (ceil(13.5)).
    const fifteen = Array.from({ length: 15 }, (_, index) => (index + 1) * 10);
    expect(percentile(fifteen, 0.5)).toBe(80);
    expect(percentile(fifteen, 0.9)).toBe(140);
  });

  it('handles one sample and no samples', () => {
    expect(percentile([7], 0.5)).toBe(7);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('does not reorder the caller’s samples', () => {
    const samples = [3, 1, 2];
    percentile(samples, 0.5);
    expect(samples).toEqual([3, 1, 2]);
  });

  it.each([0, -0.1, 1.01, Number.NaN])('refuses fraction %s', (fraction) => {
    expect(() => percentile([1, 2], fraction)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('reports count, extremes, mean and percentiles', () => {
    const summary = summarize([4, 1, 3, 2, 10]);
    expect(summary).toEqual({ n: 5, min: 1, p50: 3, p90: 10, p99: 10, max: 10, mean: 4 });
  });

  it('is all NaN for no samples', () => {
    const summary = summarize([]);
    expect(summary.n).toBe(0);
    for (const key of ['min', 'p50', 'p90', 'p99', 'max', 'mean'] as const) expect(summary[key]).toBeNaN();
  });
});

describe('ratio and targets', () => {
  it('divides by the reference', () => {
    expect(ratio(632_369, 2_064_840)).toBeCloseTo(0.3063, 4);
    expect(ratio(60, 100)).toBe(0.6);
  });

  it.each([
    [1, 0],
    [1, -1],
    [1, Number.NaN],
    [Number.NaN, 1],
    [1, Number.POSITIVE_INFINITY],
  ])('is NaN for %s / %s', (value, reference) => {
    expect(ratio(value, reference)).toBeNaN();
  });

  it('meets a ceiling at or below it, never with NaN', () => {
    expect(meetsCeiling(0.4, 0.4)).toBe(true);
    expect(meetsCeiling(0.39, 0.4)).toBe(true);
    expect(meetsCeiling(0.41, 0.4)).toBe(false);
    expect(meetsCeiling(Number.NaN, 0.4)).toBe(false);
  });

  it('computes requests per second from a count and a wall time', () => {
    expect(throughput(400, 2000)).toBe(200);
    expect(throughput(10, 0)).toBeNaN();
  });

  it('rounds for reports and leaves non-finite values alone', () => {
    expect(round(1.2345, 2)).toBe(1.23);
    expect(round(1.25, 1)).toBe(1.3);
    expect(round(Number.NaN)).toBeNaN();
  });
});

describe('samplers', () => {
  it('runs the warm-up unmeasured and returns one duration per iteration', async () => {
    let calls = 0;
    const samples = sampleSync(() => calls++, 25, 5);
    expect(calls).toBe(30);
    expect(samples).toHaveLength(25);
    expect(samples.every((us) => us >= 0)).toBe(true);

    let asyncCalls = 0;
    const asyncSamples = await sampleAsync(async () => asyncCalls++, 10, 3);
    expect(asyncCalls).toBe(13);
    expect(asyncSamples).toHaveLength(10);
  });

  it('on the cpu clock, leaves out time the process does not run', async () => {
    const sleep = () => new Promise((resolve) => setTimeout(resolve, 30));
    const [wall] = await sampleAsync(sleep, 1, 0, 'wall');
    const [cpu] = await sampleAsync(sleep, 1, 0, 'cpu');
    expect(wall).toBeGreaterThanOrEqual(25_000);
    expect(cpu).toBeLessThan(25_000);
    // Work is counted: a busy loop of a few milliseconds registers on the cpu clock.
    const busy = () => {
      const until = process.hrtime.bigint() + 5_000_000n;
      while (process.hrtime.bigint() < until);
    };
    const [spent] = sampleSync(busy, 1, 0, 'cpu');
    expect(spent).toBeGreaterThan(1_000);
    // Spinning until the process has used 3 ms of CPU, whatever the machine's load.
    const burn = () => {
      const start = process.cpuUsage();
      for (;;) {
        const used = process.cpuUsage(start);
        if (used.user + used.system >= 3_000) return;
      }
    };
    expect(await cpuPerCall(burn, 2)).toBeGreaterThanOrEqual(3_000);
  });

  it.runIf(coreClockAvailable())(
    'on the core clock, subtracts its own cost: an empty call measures next to nothing',
    () => {
      expect(coreClockOverheadMicros()).toBeGreaterThan(0);
      const samples = sampleSync(() => undefined, 101, 0, 'core');
      expect(percentile(samples, 0.5)).toBeLessThan(2);
    },
  );

  // Twice as many spinning processes as cores: this thread gets under half a core, so it
  // spends part of any stretch of spinning in the run queue. Beyond 16 cores that many
  // processes would cost more than the test is worth. Without scheduler statistics (another
  // OS, a kernel built without them) there is no core clock and the bench uses the cpu one.
  it.runIf(coreClockAvailable() && availableParallelism() <= 16)(
    'on the core clock, leaves out the time the thread waits for a core',
    async () => {
      const hogs = Array.from({ length: 2 * availableParallelism() }, () =>
        spawn(process.execPath, ['-e', 'const end = Date.now() + 4000; while (Date.now() < end);'], {
          stdio: 'ignore',
        }),
      );
      try {
        await sleep(300);
        const spin = () => {
          const until = process.hrtime.bigint() + 400_000_000n;
          while (process.hrtime.bigint() < until);
        };
        const waitedBefore = runQueueWaitMicros();
        const [core] = sampleSync(spin, 1, 0, 'core');
        const waited = runQueueWaitMicros() - waitedBefore;
        // 400 ms of wall time, of which the run queue held a good part.
        expect(waited).toBeGreaterThan(40_000);
        expect(core).toBeLessThan(400_000 - 30_000);
        expect(core).toBeGreaterThan(20_000);
      } finally {
        for (const hog of hogs) hog.kill();
      }
    },
  );
});

describe('markdownTable', () => {
  it('renders a header, a separator and the rows', () => {
    expect(markdownTable(['a', 'b'], [[1, 'x']])).toBe('| a | b |\n| --- | --- |\n| 1 | x |');
  });
});
