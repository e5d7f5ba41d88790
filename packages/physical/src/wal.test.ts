import { describe, expect, it } from 'vitest';
import { createPhysicalReader } from './reader.js';
import { restore, restoreCommand } from './restore.js';
import { historyName, parseSegmentName, parseSize, segmentName } from './wal.js';

describe('WAL names', () => {
  it('names segments as Postgres does, for 16 MB and other segment sizes', () => {
    const mb16 = 16 * 1024 * 1024;
    expect(segmentName(1, 0x1b2n, mb16)).toBe('0000000100000001000000B2');
    expect(segmentName(3, 5n, 1024 * 1024 * 1024)).toBe('000000030000000100000001');
    expect(parseSegmentName('0000000100000001000000B2', mb16)).toEqual({ timeline: 1, segno: 0x1b2n });
    expect(parseSegmentName('0000000100000001000000B2.partial', mb16)).toBeNull();
    expect(historyName(10)).toBe('0000000A.history');
    expect(parseSize('16MB')).toBe(mb16);
    expect(parseSize('1GB')).toBe(1024 ** 3);
  });
});

describe('option validation', () => {
  it('rejects bad reader options with the field named', () => {
    expect(() => createPhysicalReader({ connectionString: '', slot: 'a' })).toThrow(/connectionString/);
    expect(() => createPhysicalReader({ connectionString: 'postgres://x', slot: 'Bad-Name' })).toThrow(/slot/);
    expect(() => createPhysicalReader({ connectionString: 'postgres://x', slot: 'a', startLsn: 'nope' })).toThrow(
      /lsn/,
    );
  });

  it('rejects ambiguous restore targets before touching the disk', async () => {
    await expect(
      restore({
        backup: '/nonexistent',
        targetDir: '/nonexistent-2',
        target: { time: '2026-01-01T00:00:00Z', lsn: '0/1' },
      }),
    ).rejects.toThrow(/exactly one/);
    await expect(
      restore({ backup: '/nonexistent', targetDir: '/nonexistent-2', target: { time: '2026-01-01 00:00:00' } }),
    ).rejects.toThrow(/offset/);
    await expect(
      restore({
        backup: '/nonexistent',
        targetDir: '/nonexistent-2',
        target: { name: 'x' },
        standby: { primaryConninfo: 'postgres://p' },
      }),
    ).rejects.toThrow(/standby/);
  });

  it('quotes the archive path for the shell and escapes % for restore_command', () => {
    const cmd = restoreCommand("/backups/it's 100%/wal");
    expect(cmd).toContain(`f='/backups/it'\\''s 100%%/wal'/%f;`);
  });
});
