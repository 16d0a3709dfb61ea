import { defineConfig } from 'vitest/config';

/** The browser suite (`npm run test:e2e`): headless Chromium against `npm run local`. */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    // One local service and one browser; the steps of a suite run in order.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
