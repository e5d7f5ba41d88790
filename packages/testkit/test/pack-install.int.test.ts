/**
 * Every publishable package under packages/ (iterated, so packages added later are covered) is packed with
 * pnpm, installed from the tarballs with plain npm into a fresh app outside the monorepo, imported, and the
 * README's "Use it in your app" program is type-checked against the installed types.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../..', import.meta.url));

interface Pkg {
  dir: string;
  json: {
    name: string;
    version: string;
    private?: boolean;
    exports?: Record<string, { types?: string; default?: string }>;
    [k: string]: unknown;
  };
}

const packages: Pkg[] = readdirSync(join(root, 'packages'))
  .filter((d) => existsSync(join(root, 'packages', d, 'package.json')))
  .map((d) => ({
    dir: join(root, 'packages', d),
    json: JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')),
  }))
  .filter((p) => !p.json.private);

/** The child's environment without the npm_* variables an outer `npm test` sets (they would steer npm install). */
const cleanEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));

describe('every package installs outside the monorepo', () => {
  let tmp: string;
  let app: string;
  const tarballs: string[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'walstream-pack-'));
    app = join(tmp, 'app');
    await mkdir(app);
    for (const p of packages) {
      const dist = join(p.dir, (p.json.exports?.['.']?.default ?? './dist/index.js').replace(/^\.\//, ''));
      if (!existsSync(dist))
        throw new Error(`${p.json.name} is not built (${dist} is missing): run npm run build first`);
      const { stdout } = await run(join(root, 'node_modules/.bin/pnpm'), ['pack', '--pack-destination', tmp], {
        cwd: p.dir,
        env: cleanEnv(),
      });
      const tgz = stdout.trim().split('\n').at(-1) as string;
      tarballs.push(tgz.startsWith('/') ? tgz : join(tmp, tgz));
    }
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], {
      cwd: app,
      env: cleanEnv(),
      maxBuffer: 16 << 20,
    });
  }, 600_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('finds the packages it checks', () => {
    expect(packages.map((p) => p.json.name)).toEqual(
      expect.arrayContaining(['@walstream/core', '@walstream/reader-postgres', '@walstream/sink-file']),
    );
  });

  for (const p of packages) {
    it(`${p.json.name}: publish-ready package.json, no workspace: ranges in the tarball, imports with plain node`, async () => {
      for (const field of ['license', 'repository', 'publishConfig', 'files', 'exports', 'types', 'main']) {
        expect(p.json[field], `${p.json.name} package.json needs "${field}"`).toBeDefined();
      }
      const packed = readFileSync(join(app, 'node_modules', p.json.name, 'package.json'), 'utf8');
      expect(packed).not.toContain('workspace:');
      const { stdout } = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(p.json.name)}); console.log(Object.keys(m).length);`,
        ],
        { cwd: app, env: cleanEnv() },
      );
      expect(Number(stdout.trim())).toBeGreaterThan(0);
    });
  }

  it('runs every package bin from the installed tarballs (npx walstream)', async () => {
    const withBins = packages.filter((p) => p.json.bin !== undefined);
    expect(withBins.map((p) => p.json.name)).toContain('@walstream/cli');
    for (const p of withBins) {
      for (const name of Object.keys(p.json.bin as Record<string, string>)) {
        const { stdout } = await run('npx', ['--no-install', name, '--help'], { cwd: app, env: cleanEnv() });
        expect(stdout).toMatch(/^\S+: /);
      }
    }
  });

  it("type-checks the README's program and an import of every package against the installed types", async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Use it in your app'));
    const program = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(program, 'README.md "Use it in your app" has a ```ts block').toBeDefined();
    await writeFile(join(app, 'readme.ts'), program as string);
    await writeFile(
      join(app, 'all.ts'),
      `${packages.map((p, i) => `import * as p${i} from ${JSON.stringify(p.json.name)};`).join('\n')}\n` +
        `export const modules: object[] = [${packages.map((_, i) => `p${i}`).join(', ')}];\n`,
    );
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
        },
        files: ['readme.ts', 'all.ts'],
      }),
    );
    const tsc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], {
      cwd: app,
      env: cleanEnv(),
    }).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
    expect(tsc).toBe('');
  }, 300_000);
});
