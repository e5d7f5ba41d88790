/**
 * One vitest run for the whole workspace: for each package a `unit` project (*.test.ts) and an `int` project
 * (*.int.test.ts, against real servers started by the test kit). Workspace packages resolve to their
 * TypeScript source through the `source` export condition, so tests never run stale builds.
 */
import { existsSync, readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const packages = readdirSync('packages').filter((p) => existsSync(`packages/${p}/package.json`));
const conditions = ['source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['node'] } },
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
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ]),
  },
});
