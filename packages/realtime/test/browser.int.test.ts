import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type ChromiumHandle, freePort, launchChromium, type PostgresCluster, startPostgres } from '@walstream/testkit';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
let cluster: PostgresCluster;
let example: ChildProcess;
let chromium: ChromiumHandle;
let output = '';
let pageUrl = '';

beforeAll(async () => {
  cluster = await startPostgres({ version: 18 });
  const port = await freePort();
  example = spawn(process.execPath, ['examples/realtime/index.mjs'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: cluster.connectionString,
      PORT: String(port),
      CHANNEL_PREFIX: `realtime-browser-${randomBytes(6).toString('hex')}:`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  example.stdout?.on('data', (d) => {
    output += d;
  });
  example.stderr?.on('data', (d) => {
    output += d;
  });
  const started = Date.now();
  while (!/live table at (http:\S+)/.test(output)) {
    if (example.exitCode !== null || Date.now() - started > 120_000)
      throw new Error(`example did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  pageUrl = (/live table at (http:\S+)/.exec(output) as RegExpExecArray)[1] as string;
  chromium = await launchChromium();
}, 600_000);

afterAll(async () => {
  await chromium?.close();
  if (example && example.exitCode === null) {
    const exited = new Promise((r) => example.once('exit', r));
    example.kill('SIGTERM');
    await exited;
  }
  await cluster?.stop();
});

it('the example page in headless Chromium shows changes made in Postgres, with the email masked', async () => {
  const db = new pg.Client({ connectionString: cluster.connectionString });
  await db.connect();
  try {
    await db.query(
      `INSERT INTO orders (project_id, status, amount, customer_email) VALUES ('demo', 'new', 10.00, 'grace@example.org')`,
    );
    const page = await chromium.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(pageUrl);
    // the snapshot is on the page once the subscription is live
    await page.waitForSelector('#status[data-ready="yes"]', { timeout: 30_000 });
    await page.waitForSelector('tr[data-id="1"]', { timeout: 30_000 });

    const { rows } = await db.query(
      `INSERT INTO orders (project_id, status, amount, customer_email) VALUES ('demo', 'paid', 42.50, 'ada@example.org') RETURNING id`,
    );
    const id = rows[0].id as number;
    await db.query(
      `INSERT INTO orders (project_id, status, amount, customer_email) VALUES ('other', 'paid', 1.00, 'x@example.org')`,
    );
    const row = page.locator(`tr[data-id="${id}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.locator('td').allTextContents()).toEqual([String(id), 'paid', '42.50', '[REDACTED]']);

    await db.query(`UPDATE orders SET status = 'shipped' WHERE id = $1`, [id]);
    await page.locator(`tr[data-id="${id}"] td:nth-child(2)`, { hasText: /^shipped$/ }).waitFor({ timeout: 30_000 });
    await db.query('DELETE FROM orders WHERE id = 1');
    await page.waitForSelector('tr[data-id="1"]', { state: 'detached', timeout: 30_000 });

    const html = await page.content();
    expect(html).not.toContain('example.org');
    expect(await page.locator('tbody tr').count()).toBe(1); // the other project's order never shows
    expect(pageErrors).toEqual([]);
  } finally {
    await db.end();
  }
});
