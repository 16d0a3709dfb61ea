/**
 * Linear-time checks without wall-clock bounds: a machine-independent size ratio.
 *
 * The same amount of text is processed twice in one run: once as a single large input and
 * once as `SPLIT` inputs a `SPLIT`th of its size. A linear detector costs about the same
 * both ways (ratio near 1, below 1 when per-call overhead shows); a quadratic one costs
 * `SPLIT` times more for the large input. Samples are interleaved and the fastest of each
 * side compared, so a slow or loaded machine slows both sides alike. Absolute times belong to `npm run bench`.
 */

/** How many small inputs make up one large one. */
export const SPLIT = 10;
/** Ratio above which the growth is not linear: far below SPLIT, far above noise. */
export const LINEAR_RATIO_LIMIT = 5;
/** Least duration of one side of a sample, in milliseconds. */
const MIN_SAMPLE_MS = 4;

/**
 * Time of one `large`-character input over the time of {@link SPLIT} inputs of a tenth of
 * that size, each built by `make(chars)`.
 */
export function growthRatio(
  run: (input: string) => unknown,
  make: (chars: number) => string,
  large = 50_000,
  samples = 9,
): number {
  const big = make(large);
  const small = make(Math.floor(large / SPLIT));
  // Warm-up: compile the hot paths, and size the repetitions so that each side of a sample
  // takes a few milliseconds, well above timer resolution and scheduling jitter.
  let started = performance.now();
  run(big);
  for (let i = 0; i < SPLIT; i++) run(small);
  const once = performance.now() - started;
  const reps = Math.min(50, Math.max(1, Math.ceil(MIN_SAMPLE_MS / Math.max(once, 0.01))));
  const bigTimes: number[] = [];
  const smallTimes: number[] = [];
  for (let s = 0; s < samples; s++) {
    started = performance.now();
    for (let r = 0; r < reps; r++) run(big);
    bigTimes.push(performance.now() - started);
    started = performance.now();
    for (let r = 0; r < reps * SPLIT; r++) run(small);
    smallTimes.push(performance.now() - started);
  }
  // The fastest sample of each side: interference from other processes and GC only ever
  // adds time, so the minimum is the closest to the work itself.
  return Math.min(...bigTimes) / Math.max(Math.min(...smallTimes), 0.05);
}

/** `unit` repeated to exactly `chars` characters. */
export const fill = (unit: string, chars: number): string =>
  unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);
