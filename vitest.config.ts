import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Pipeline tests share one broker and database; files run one at a time to keep timings honest.
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
})
