/**
 * SIGTERM under load (FAULTS.md scenario 7): the real `walstream` bin drains, confirms and exits 0; a restart
 * delivers exactly the changes made after it stopped (zero duplicates), and nothing is lost.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freshDatabase, sql, tempDir, waitFor, writeConfig } from './helpers.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

function start(config: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [bin, 'run', '--config', config], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

describe('walstream run under SIGTERM', () => {
  it('drains and exits 0 while rows are being written; a restart delivers only newer rows, once', async () => {
    const url = await freshDatabase('term');
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY, v text)');
    const tmp = await tempDir();
    const out = join(tmp.dir, 'out.jsonl');
    const port = 20000 + Math.floor(Math.random() * 20000);
    const config = await writeConfig(
      tmp.dir,
      `pipelines:
  - name: term
    source: { connectionString: "\${SOURCE_URL}", slot: term_slot, publication: term_pub, tables: [t] }
    sinks: [{ file: { path: ${out} } }]
    batch: { maxWaitMs: 10 }
http: { port: ${port} }
log: { format: json }
`,
    );
    const env = { SOURCE_URL: url };
    try {
      const run1 = start(config, env);
      await waitFor('the service', () =>
        fetch(`http://127.0.0.1:${port}/ready`)
          .then((r) => r.ok)
          .catch(() => false),
      );

      // A writer commits one row per transaction while the service runs; SIGTERM lands mid-stream.
      const writer = new pg.Client({ connectionString: url });
      await writer.connect();
      let next = 1;
      let stop = false;
      const writing = (async () => {
        while (!stop) await writer.query('INSERT INTO t VALUES ($1, $2)', [next++, 'x'.repeat(100)]);
      })();
      await waitFor(
        'a few hundred rows delivered',
        async () => (await metric(port, 'walstream_sink_events_total')) >= 300,
      );
      run1.child.kill('SIGTERM');
      expect(await run1.exited).toBe(0);
      stop = true;
      await writing;
      await writer.end();
      const total = next - 1;
      const delivered1 = (await readFile(out, 'utf8')).trim().split('\n').length;
      expect(run1.output()).toContain('"msg":"stopped"');

      const run2 = start(config, env);
      await waitFor('the restarted service', () =>
        fetch(`http://127.0.0.1:${port}/ready`)
          .then((r) => r.ok)
          .catch(() => false),
      );
      await waitFor(
        'every row in the file',
        async () => (await readFile(out, 'utf8')).trim().split('\n').length >= total,
      );
      // The reader of run 2 handed out exactly the rows run 1 had not confirmed: no replay of confirmed ones.
      await new Promise((r) => setTimeout(r, 500));
      expect({ total, delivered1, run2: await metric(port, 'walstream_events_in_total') }).toEqual({
        total,
        delivered1,
        run2: total - delivered1,
      });
      run2.child.kill('SIGINT');
      expect(await run2.exited).toBe(0);

      const ids = (await readFile(out, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { after: { id: number } }).after.id);
      expect(new Set(ids).size).toBe(total);
      expect(ids.length).toBe(total);
    } finally {
      await tmp.remove();
    }
  });
});
