import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TarExtractor } from './tar.js';

describe('TarExtractor', () => {
  const dirs: string[] = [];
  const temp = () => {
    const d = mkdtempSync(join(tmpdir(), 'walstream-tar-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('extracts files, directories and modes from a ustar stream fed in odd-sized pieces', () => {
    const src = temp();
    mkdirSync(join(src, 'base/1'), { recursive: true, mode: 0o700 });
    const big = Buffer.alloc(70_000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    writeFileSync(join(src, 'base/1/16384'), big, { mode: 0o600 });
    writeFileSync(join(src, 'PG_VERSION'), '18\n');
    writeFileSync(join(src, 'empty'), '');
    const tar = execFileSync('tar', ['--format=ustar', '-cf', '-', '-C', src, 'PG_VERSION', 'base', 'empty']);
    const out = temp();
    const x = new TarExtractor(out);
    for (let off = 0; off < tar.length; off += 777) x.push(tar.subarray(off, off + 777));
    x.finish();
    expect(readFileSync(join(out, 'base/1/16384')).equals(big)).toBe(true);
    expect(readFileSync(join(out, 'PG_VERSION'), 'utf8')).toBe('18\n');
    expect(statSync(join(out, 'empty')).size).toBe(0);
    expect(statSync(join(out, 'base/1/16384')).mode & 0o777).toBe(0o600);
    expect(x.files.sort()).toEqual(['PG_VERSION', 'base/1/16384', 'empty']);
  });

  it('refuses paths that leave the target directory and streams cut short', () => {
    const src = temp();
    writeFileSync(join(src, 'f'), 'x');
    const tar = execFileSync('tar', ['--format=ustar', '-cf', '-', '-C', src, '--transform', 's,^f,../evil,', 'f']);
    expect(() => new TarExtractor(temp()).push(tar)).toThrow(/unsafe path/);
    const ok = execFileSync('tar', ['--format=ustar', '-cf', '-', '-C', src, 'f']);
    const x = new TarExtractor(temp());
    x.push(ok.subarray(0, 600));
    expect(() => x.finish()).toThrow(/cut short/);
  });
});
