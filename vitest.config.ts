/**
 * One vitest run for the whole workspace: for each package a `unit` project (*.test.ts) and an `int` project
 * (*.int.test.ts, against real servers started by the test kit). Workspace packages resolve to their
 * TypeScript source through the `source` export condition, so tests never run stale builds.
 */
import { existsSync, readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const packages = readdirSync('packages').filter((p) => existsSync(`packages/${p}/package.json`));
// `source` first, then Vite's defaults (`development|production` is resolved by Vite itself).
const client = ['source', 'module', 'browser', 'development|production'];
const server = ['source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions: client },
  ssr: { resolve: { conditions: server } },
  test: {
    projects: packages.flatMap((p) => [
      {
        extends: true,
        test: {
          name: `${p}:unit`,
          root: `packages/${p}`,
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: `${p}:int`,
          root: `packages/${p}`,
          include: ['src/**/*.int.test.ts', 'test/**/*.int.test.ts'],
          // A package's test/global-setup.ts starts the servers its integration tests need.
          globalSetup: existsSync(`packages/${p}/test/global-setup.ts`) ? ['test/global-setup.ts'] : [],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ]),
  },
});
