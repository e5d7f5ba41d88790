// walstream as a service, as an operator runs it: `walstream check`, then `walstream run --config walstream.yaml`
// in its own process, a few writes, a look at /status and /metrics, and POST /shutdown (drain, confirm, exit 0).
// Run: pnpm --filter @walstream/example-service start
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '@walstream/example-shared';
import pg from 'pg';

const here = fileURLToPath(new URL('.', import.meta.url));
const bin = createRequire(import.meta.url)
  .resolve('@walstream/cli/package.json')
  .replace(/package\.json$/, 'dist/bin.js');
const db = await startEmbeddedPostgres('shop');
const out = await mkdtemp(join(tmpdir(), 'walstream-service-'));
const port = 9000 + Math.floor(Math.random() * 900);
const env = { ...process.env, SOURCE_URL: db.url, OUT_DIR: out, HTTP_PORT: String(port) };
const config = join(here, 'walstream.yaml');
const sql = async (text) => {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query(text);
  await c.end();
};

try {
  await sql('CREATE TABLE orders (id int PRIMARY KEY, email text, status text)');
  console.log('$ walstream check --config walstream.yaml');
  const check = spawnSync(process.execPath, [bin, 'check', '--config', config], { env, encoding: 'utf8' });
  console.log(check.stdout);

  console.log('$ walstream run --config walstream.yaml');
  const service = spawn(process.execPath, [bin, 'run', '--config', config], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  service.stdout.on('data', (d) => process.stdout.write(`  log ${d}`));
  const exited = new Promise((resolve) => service.on('exit', resolve));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if ((await fetch(`${base}/ready`).catch(() => null))?.ok) break;
    if (i > 300) throw new Error('the service did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  await sql(`INSERT INTO orders SELECT g, 'user' || g || '@example.com', 'new' FROM generate_series(1, 5) g`);
  await sql(`UPDATE orders SET status = 'paid' WHERE id = 3`);
  for (let i = 0; ; i++) {
    const lines = (await readFile(join(out, 'changes.jsonl'), 'utf8').catch(() => '')).trim().split('\n');
    if (lines.length >= 6) break;
    if (i > 300) throw new Error('changes did not arrive');
    await new Promise((r) => setTimeout(r, 100));
  }
  const status = await (await fetch(`${base}/status`)).json();
  const p = status.pipelines[0];
  console.log(
    `GET /status: pipeline ${p.name} ${p.state}, ${p.eventsIn} events, slot ${p.slot?.slot} retains ${p.slot?.retainedBytes} bytes`,
  );
  const metrics = (await (await fetch(`${base}/metrics`)).text()).split('\n');
  console.log('GET /metrics (excerpt):');
  for (const l of metrics.filter((l) => /^walstream_(table_events_total|sink_events_total|lag_bytes)\{/.test(l)))
    console.log(`  ${l}`);
  await fetch(`${base}/shutdown`, { method: 'POST' });
  console.log(`POST /shutdown: exit code ${await exited}`);
  console.log(`changes in ${join(out, 'changes.jsonl')}:`);
  console.log((await readFile(join(out, 'changes.jsonl'), 'utf8')).trim().split('\n').slice(0, 2).join('\n'));
} finally {
  await rm(out, { recursive: true, force: true });
  await db.stop();
}
