/**
 * `walstream backup | archive | restore`: the physical side (@walstream/physical). They take options of their
 * own (directories, recovery targets) that the logical commands do not, so they parse their argv here and map
 * errors to the CLI's exit codes themselves: 2 bad command line or option, 3 could not start, 1 failed.
 */
import { parseArgs } from 'node:util';
import { ConfigError, WalstreamError } from '@walstream/core';
import type { CliIo } from '../cli.js';
import { archiveCommand } from './archive.js';
import { backupCommand } from './backup.js';
import { restoreCommand } from './restore.js';

export const PHYSICAL_USAGE = `Physical backups and point-in-time recovery (@walstream/physical):
  walstream backup   --connection URL --dir DIR [--label L] [--checkpoint fast|spread] [--no-wal]
                     [--manifest-checksums CRC32C|SHA256|...|NONE] [--max-rate KB] [--no-sync] [--no-verify] [--json]
  walstream archive  --connection URL --dir DIR [--slot wal_archive] [--compression gzip] [--no-create-slot]
                     (streams WAL into DIR until SIGINT/SIGTERM, then confirms what is on disk and exits 0)
  walstream restore  --backup DIR --target-dir DIR [--archive DIR]
                     [--to TIME | --lsn X/Y | --xid N | --name RESTORE_POINT] [--exclusive] [--timeline latest|N]
                     [--standby-of URL [--standby-slot S]] [--no-clean]
                     [--port N [--host 127.0.0.1] [--bin-dir DIR] [--user OS_USER] [--json]]
                     (with --port: starts the server, reports where recovery stopped, runs until SIGINT/SIGTERM)
`;

const OPTIONS = {
  connection: { type: 'string' },
  dir: { type: 'string', short: 'D' },
  label: { type: 'string' },
  checkpoint: { type: 'string' },
  'no-wal': { type: 'boolean' },
  'manifest-checksums': { type: 'string' },
  'max-rate': { type: 'string' },
  'no-sync': { type: 'boolean' },
  'no-verify': { type: 'boolean' },
  slot: { type: 'string' },
  compression: { type: 'string' },
  'no-create-slot': { type: 'boolean' },
  backup: { type: 'string' },
  archive: { type: 'string' },
  'target-dir': { type: 'string' },
  to: { type: 'string' },
  lsn: { type: 'string' },
  xid: { type: 'string' },
  name: { type: 'string' },
  exclusive: { type: 'boolean' },
  'no-clean': { type: 'boolean' },
  timeline: { type: 'string' },
  'standby-of': { type: 'string' },
  'standby-slot': { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'bin-dir': { type: 'string' },
  user: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type PhysicalArgs = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

export const PHYSICAL_COMMANDS = new Set(['backup', 'archive', 'restore']);

/** A bad command line: exit 2 with the message, never a stack. */
export class PhysicalUsageError extends Error {
  override readonly name = 'PhysicalUsageError';
}

/** Could not start (connection refused, slot in use, a directory not writable): exit 3. */
export class PhysicalStartError extends Error {
  override readonly name = 'PhysicalStartError';
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export async function physicalMain(command: string, argv: readonly string[], io: CliIo): Promise<number> {
  let v: PhysicalArgs;
  try {
    v = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (err) {
    io.stderr.write(`walstream ${command}: ${(err as Error).message}\n\n${PHYSICAL_USAGE}`);
    return 2;
  }
  if (v.help) {
    io.stdout.write(PHYSICAL_USAGE);
    return 0;
  }
  try {
    if (command === 'backup') return await backupCommand(v, io);
    if (command === 'archive') return await archiveCommand(v, io);
    return await restoreCommand(v, io);
  } catch (err) {
    if (err instanceof PhysicalUsageError || err instanceof ConfigError) {
      io.stderr.write(`walstream ${command}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof PhysicalStartError) {
      io.stderr.write(`walstream ${command}: ${err.code ? `[${err.code}] ` : ''}${err.message}\n`);
      return 3;
    }
    const code = err instanceof WalstreamError ? err.code : undefined;
    io.stderr.write(`walstream ${command}: ${code ? `[${code}] ` : ''}${(err as Error).message}\n`);
    return 1;
  }
}

/** The option, or a usage error naming it. */
export function required(v: PhysicalArgs, name: keyof PhysicalArgs, command: string): string {
  const x = v[name];
  if (typeof x !== 'string' || x === '') throw new PhysicalUsageError(`${command} needs --${name}`);
  return x;
}

export function intOption(v: PhysicalArgs, name: 'port' | 'max-rate', min: number, max: number): number | undefined {
  const x = v[name];
  if (x === undefined) return undefined;
  const n = Number(x);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new PhysicalUsageError(`--${name} ${x} is not an integer from ${min} to ${max}`);
  }
  return n;
}

/** The CLI's signal hook, or the process's. */
export function onSignals(io: CliIo, handler: (sig: 'SIGINT' | 'SIGTERM') => void): void {
  const on = io.onSignal ?? ((sig, h) => process.once(sig, h));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) on(sig, () => handler(sig));
}
