/**
 * Whether importing a walstream package loads pg without its Cloudflare probe (see loadPgQuietly in
 * @walstream/core/internal): run in a fresh Node process from the package's folder, so the built package and its
 * own pg are what load.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PgLoadProbe {
  /** Node's bundled fetch (undici) was loaded. */
  undici: boolean;
  /** `typeof navigator` after the import, and in a process that imported nothing. */
  navigator: string;
  bareNavigator: string;
  /** The class of a new pg.Client's socket: `Socket` when pg took its Node.js path. */
  stream: string;
}

export async function probePgLoad(packageDir: string, packageName: string): Promise<PgLoadProbe> {
  const probe = async (code: string) => {
    const src = `${code}
      console.log(JSON.stringify({
        undici: process.moduleLoadList.some((m) => m.includes('undici')),
        navigator: typeof navigator,
        stream: globalThis.__stream,
      }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', src], { cwd: packageDir });
    return JSON.parse(stdout.trim()) as { undici: boolean; navigator: string; stream?: string };
  };
  const bare = await probe('');
  const loaded = await probe(`
    await import(${JSON.stringify(packageName)});
    const pg = (await import('pg')).default;
    globalThis.__stream = new pg.Client().connection.stream.constructor.name;`);
  return {
    undici: loaded.undici,
    navigator: loaded.navigator,
    bareNavigator: bare.navigator,
    stream: loaded.stream ?? '',
  };
}
