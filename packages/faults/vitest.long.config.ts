/**
 * The long fault scenarios (`npm run faults`): large transactions and a scaled soak. Not part of `npm test`
 * (the root config only picks up src/ and test/).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
  ssr: { resolve: { conditions: ['source', 'module', 'node', 'development|production'] } },
  test: {
    name: 'faults:long',
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['long/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 900_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
