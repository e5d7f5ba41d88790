import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@walstream/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restore } from './restore.js';

describe('restore options', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'walstream-restore-unit-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a target time without a time of day or an offset (a date alone is not an offset)', async () => {
    for (const time of ['2026-11-29', '2026-11-29T10:00:00', '2026-11-29 10:00']) {
      await expect(restore({ backup: dir, targetDir: join(dir, 'r'), target: { time } })).rejects.toMatchObject({
        field: 'target.time',
      });
    }
    expect(await readdir(dir)).toEqual([]); // refused before anything was written
  });

  it('refuses an archive directory that does not exist, before anything is restored', async () => {
    const err = await restore({ backup: dir, targetDir: join(dir, 'r'), archive: join(dir, 'no-such-wal') }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ field: 'archive' });
    expect(await readdir(dir)).toEqual([]);
  });
});
