import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no services (marble tests, pure code); `integration` (`*.int.test.ts`)
// runs against the real local stack, which its global setup reuses or starts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // One broker and two cores: run integration files one or two at a time.
          maxWorkers: 2,
        },
      },
    ],
  },
});
