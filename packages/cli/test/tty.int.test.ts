/**
 * `walstream run` on a real terminal: `script` gives it a pseudo-terminal, so the status line and the snapshot's
 * progress bars are drawn as a person sees them, and a Ctrl-C byte reaches it as SIGINT from the line discipline.
 * A slow webhook receiver and a small in-flight budget keep the initial snapshot copying for several seconds.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { runInTerminal, until } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';
import { freshDatabase, sql, tempDir, writeConfig } from './helpers.js';

const ESC = String.fromCharCode(27);
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

describe('walstream run on a terminal', () => {
  it('draws the status line and a progress bar per table while copying, and stops cleanly on Ctrl-C', async () => {
    const url = await freshDatabase('tty');
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY, v text)');
    await sql(url, `INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g`);
    await sql(url, 'ANALYZE t');
    let requests = 0;
    const slow = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        requests++;
        setTimeout(() => res.writeHead(200).end(), 150);
      });
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const tmp = await tempDir();
    const config = await writeConfig(
      tmp.dir,
      `pipelines:
  - name: tty
    source:
      connectionString: "\${SOURCE_URL}"
      slot: tty_slot
      publication: tty_pub
      tables: [t]
      snapshot: { mode: initial, chunkRows: 1000 }
    sinks: [{ webhook: { url: "http://127.0.0.1:${(slow.address() as AddressInfo).port}/", secret: "whsec_c2VjcmV0" } }]
    batch: { maxEvents: 200, maxBytes: 100000, maxWaitMs: 10 }
    maxInFlightBytes: 200000
`,
    );
    const term = runInTerminal(`${process.execPath} ${bin} run --config ${config} --no-http`, {
      env: { SOURCE_URL: url },
    });
    const { child } = term;
    try {
      const running = () => {
        if (child.exitCode !== null) throw new Error(`walstream exited with ${child.exitCode}`);
        return true;
      };
      await until(
        () => running() && /snapshot public\.t [█░]{24} [\d,]+\/20,000 rows/.test(term.output()),
        'a progress bar',
        60_000,
      );
      expect(term.output()).toMatch(/tty running {2}[\d,]+ events {2}[\d,]+\/s {2}lag /);
      const drawn = term.output().length;
      await until(() => term.output().length > drawn && requests > 0, 'a redraw', 10_000);
      // Each redraw first moves up over the lines drawn before and clears them.
      expect(term.output().slice(drawn)).toMatch(new RegExp(`${ESC}\\[\\d+F${ESC}\\[0J`));
      const code = await term.ctrlC();
      expect(code, term.output().slice(-2000)).toBe(0);
      expect(term.output()).not.toMatch(/Unhandled|TypeError|whsec_/);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the terminal showed:\n${term.output().slice(-3000)}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      slow.close();
      await tmp.remove();
    }
  }, 180_000);
});
