/**
 * The `walstream` command line. `main` takes argv and streams so tests run it in-process; bin.ts wires it to
 * the real process. Exit codes: 0 ok, 1 failure (a failed check, a pipeline that failed), 2 usage or config
 * error, 3 a pipeline could not start.
 */
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { startBridge } from './bridge/bridge.js';
import { type CheckTarget, formatChecks, runChecks } from './commands/check.js';
import { writeSampleConfig } from './commands/init.js';
import { PHYSICAL_COMMANDS, physicalMain } from './commands/physical.js';
import { dropSource, sourceStatus } from './commands/slot.js';
import { readTableTypes, renderJsonSchema, renderTypeScript, renderZod } from './commands/types.js';
import { ConfigFileError } from './config/errors.js';
import { type LoadedConfig, loadConfig } from './config/load.js';
import { type LogConfig, logSchema, monitorSchema, type PipelineSection } from './config/schema.js';
import { jsonReplacer } from './service/http.js';
import { createServiceLogger } from './service/log.js';
import { ExitCode, type RunningService, sourceClientConfig, startService } from './service/service.js';
import { createStatusLine, type StatusLine } from './service/tty.js';

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Installs signal handlers for `run`; tests pass their own. @default process.once */
  onSignal?: (signal: 'SIGINT' | 'SIGTERM', handler: () => void) => void;
}

export const USAGE = `walstream: Postgres change data capture as a service

Usage:
  walstream run      --config walstream.yaml [--port N] [--no-http]
  walstream check    --config walstream.yaml [--pipeline NAME] [--json]
  walstream init     [--out walstream.yaml] [--force]
  walstream status   --config walstream.yaml [--pipeline NAME] [--url http://127.0.0.1:9090] [--json]
  walstream drop     --config walstream.yaml [--pipeline NAME] [--keep-publication] [--yes]
  walstream types    --config walstream.yaml [--pipeline NAME] [--out DIR] [--format ts|zod|json-schema]
  walstream snapshot TABLE... [--pipeline NAME] [--url http://127.0.0.1:9090] [--token T]
  walstream verify   --source URL --target URL --tables a,b
  walstream nats     --slot S --pub P [--port 9090] [--host 127.0.0.1] [--json] [--zstd]
                     (drop-in for the reference Postgres -> NATS bridge: PG_HOST, PG_PORT, PG_DB,
                      POSTGRES_BRIDGE_USER, POSTGRES_BRIDGE_PASSWORD, NATS_HOST, NATS_BRIDGE_USER, NATS_BRIDGE_PASSWORD)
  walstream backup   --connection URL --dir DIR             (base backup, verified against its manifest)
  walstream archive  --connection URL --dir DIR [--slot S]  (WAL archiver, until SIGINT/SIGTERM)
  walstream restore  --backup DIR --archive DIR --target-dir DIR --to TIME [--port N]
                     (point-in-time recovery; walstream backup|archive|restore --help for every option)

Instead of --config, check/status/drop/types accept --connection URL --slot S --publication P [--tables a,b].
Exit codes: 0 ok, 1 failed (check failed, pipeline failed), 2 usage or config error, 3 could not start.
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  pipeline: { type: 'string', short: 'p' },
  connection: { type: 'string' },
  slot: { type: 'string' },
  publication: { type: 'string' },
  pub: { type: 'string' },
  host: { type: 'string' },
  zstd: { type: 'boolean' },
  tables: { type: 'string' },
  port: { type: 'string' },
  'no-http': { type: 'boolean' },
  json: { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  force: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  'keep-publication': { type: 'boolean' },
  format: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  source: { type: 'string' },
  target: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

/** The source a command works on: a pipeline of the config file, or --connection/--slot/--publication. */
async function resolveSource(
  v: Values,
  env: NodeJS.ProcessEnv,
): Promise<{ section: PipelineSection | null; target: CheckTarget; cfg: LoadedConfig | null }> {
  if (v.config) {
    const cfg = await loadConfig(v.config, env);
    const section = v.pipeline ? cfg.config.pipelines.find((p) => p.name === v.pipeline) : cfg.config.pipelines[0];
    if (!section) throw new UsageError(`no pipeline named ${v.pipeline} in ${v.config}`);
    const src = section.source as Record<string, unknown>;
    if (typeof src.slot !== 'string' || typeof src.publication !== 'string') {
      const i = cfg.config.pipelines.indexOf(section);
      throw cfg.error(['pipelines', i, 'source', typeof src.slot !== 'string' ? 'slot' : 'publication'], 'required');
    }
    const snapshot = (src.snapshot as { mode?: string } | undefined)?.mode;
    return {
      section,
      cfg,
      target: {
        client: sourceClientConfig(src),
        slot: src.slot,
        publication: src.publication,
        ...(Array.isArray(src.tables) ? { tables: src.tables as string[] } : {}),
        snapshot: snapshot !== undefined && snapshot !== 'never',
      },
    };
  }
  if (!v.connection || !v.slot || !v.publication)
    throw new UsageError('give --config FILE, or --connection URL --slot S --publication P');
  const client: pg.ClientConfig = { connectionString: v.connection };
  return {
    section: null,
    cfg: null,
    target: { client, slot: v.slot, publication: v.publication, ...(v.tables ? { tables: v.tables.split(',') } : {}) },
  };
}

async function confirm(io: CliIo, question: string, expected: string): Promise<boolean> {
  if (!io.stdin.isTTY) return false;
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  try {
    return (await rl.question(question)).trim() === expected;
  } finally {
    rl.close();
  }
}

const json = (x: unknown) => `${JSON.stringify(x, jsonReplacer, 2)}\n`;

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  // The physical commands have options of their own (directories, recovery targets).
  if (argv[0] !== undefined && PHYSICAL_COMMANDS.has(argv[0])) return physicalMain(argv[0], argv.slice(1), io);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return ExitCode.Usage;
  }
  const v = parsed.values;
  const [command, ...rest] = parsed.positionals;
  if (v.help || !command) {
    (v.help ? io.stdout : io.stderr).write(USAGE);
    return v.help ? ExitCode.Ok : ExitCode.Usage;
  }
  try {
    switch (command) {
      case 'run':
        return await runCommand(v, io);
      case 'check': {
        const { target } = await resolveSource(v, io.env);
        const results = await runChecks(target);
        io.stdout.write(v.json ? json(results) : formatChecks(results, io.stdout.isTTY === true));
        return results.some((r) => r.level === 'fail') ? 1 : 0;
      }
      case 'init': {
        const out = v.out ?? 'walstream.yaml';
        try {
          await writeSampleConfig(out, v.force === true);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST')
            throw new UsageError(`${out} exists; use --force to overwrite`);
          throw err;
        }
        io.stdout.write(`wrote ${out}; edit it, then: walstream check --config ${out}\n`);
        return 0;
      }
      case 'status': {
        const { target, cfg } = await resolveSource(v, io.env);
        const monitor = monitorSchema.parse(cfg?.config.monitor ?? {});
        const s = await sourceStatus(target.client, target.slot, target.publication, monitor);
        const url = v.url ?? (cfg?.config.http ? `http://${cfg.config.http.host}:${cfg.config.http.port}` : undefined);
        if (url) {
          try {
            const r = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2000) });
            if (r.ok) Object.assign(s, { service: await r.json() });
          } catch {
            // Not running there: the server-side view alone is still useful.
          }
        }
        if (v.json) io.stdout.write(json(s));
        else {
          const sl = s.slot;
          io.stdout.write(
            `slot ${sl.slot}: ${sl.exists ? `${sl.active ? 'active' : 'inactive'}, retains ${sl.retainedBytes} bytes of WAL, ${sl.confirmedLagBytes} bytes behind, wal_status ${sl.walStatus ?? 'n/a'}, level ${sl.level}` : 'does not exist'}\n` +
              `publication ${target.publication}: ${s.publication.exists ? s.publication.tables.join(', ') || '(no tables)' : 'does not exist'}\n` +
              (s.service ? `service: ${json(s.service)}` : ''),
          );
        }
        return 0;
      }
      case 'drop': {
        const { target } = await resolveSource(v, io.env);
        const pub = v['keep-publication'] ? null : target.publication;
        const what = `slot ${target.slot}${pub ? ` and publication ${pub}` : ''}`;
        if (
          !v.yes &&
          !(await confirm(
            io,
            `Drop ${what}? Changes not yet read are lost. Type the slot name to confirm: `,
            target.slot,
          ))
        ) {
          io.stderr.write(`not dropped (confirm interactively or pass --yes)\n`);
          return 1;
        }
        const r = await dropSource(target.client, target.slot, pub);
        io.stdout.write(
          `slot ${target.slot}: ${r.slotDropped ? 'dropped' : 'did not exist'}${pub ? `; publication ${pub}: ${r.publicationDropped ? 'dropped' : 'did not exist'}` : ''}\n`,
        );
        return 0;
      }
      case 'types':
        return await typesCommand(v, io);
      case 'snapshot':
        return await snapshotCommand(v, rest, io);
      case 'verify':
        return await verifyCommand(v, io);
      case 'nats':
        return await natsCommand(v, io);
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`walstream: ${err.message}\n`);
      return ExitCode.Usage;
    }
    if (err instanceof ConfigFileError) {
      io.stderr.write(`walstream: ${err.message}\n`);
      return ExitCode.Usage;
    }
    const e = err as { code?: string; message?: string; exitCode?: number };
    io.stderr.write(`walstream: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
    // A library's ConfigError (bad options given on the command line) is a usage error too.
    return e.exitCode ?? (e.code === 'CONFIG' ? ExitCode.Usage : 1);
  }
}

async function runCommand(v: Values, io: CliIo): Promise<number> {
  if (!v.config) throw new UsageError('run needs --config FILE (walstream init writes a sample)');
  const cfg = await loadConfig(v.config, io.env);
  const logCfg: LogConfig = logSchema.parse(cfg.config.log ?? {});
  const tty = io.stderr.isTTY === true;
  const line = tty ? createStatusLine(io.stderr as NodeJS.WriteStream) : null;
  const logger = createServiceLogger(logCfg, { ...(line ? { beforeWrite: () => line.clear() } : {}) });
  const port = v.port === undefined ? undefined : Number(v.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`--port ${v.port} is not a port number`);
  const service = await startService(cfg, {
    logger,
    ...(port !== undefined ? { port } : {}),
    noHttp: v['no-http'] === true,
    ...(line ? { onTick: (s) => line.update(s) } : {}),
  });
  return untilStopped(service, io, line);
}

/** Runs a service until it stops, stopping it on SIGINT/SIGTERM. */
async function untilStopped(service: RunningService, io: CliIo, line: StatusLine | null): Promise<number> {
  const onSignal = io.onSignal ?? ((sig, h) => process.once(sig, h));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    onSignal(sig, () => {
      service.logger.info('signal received', { signal: sig });
      void service.stop();
    });
  }
  const code = await service.done;
  line?.clear();
  return code;
}

async function natsCommand(v: Values, io: CliIo): Promise<number> {
  const slot = v.slot ?? 'cdc_slot';
  const publication = v.pub ?? v.publication;
  if (!publication) throw new UsageError('nats needs --pub PUBLICATION (and --slot SLOT, default cdc_slot)');
  const port = v.port === undefined ? 9090 : Number(v.port);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`--port ${v.port} is not a port number`);
  const tty = io.stderr.isTTY === true;
  const line = tty ? createStatusLine(io.stderr as NodeJS.WriteStream) : null;
  const logger = createServiceLogger(
    { level: 'info', format: 'auto' },
    { ...(line ? { beforeWrite: () => line.clear() } : {}) },
  );
  const service = await startBridge({
    slot,
    publication,
    port,
    host: v.host ?? '127.0.0.1',
    json: v.json === true,
    zstd: v.zstd === true,
    env: io.env,
    logger,
  });
  return untilStopped(service, io, line);
}

const RENDERERS: Record<string, [file: string, render: (t: Awaited<ReturnType<typeof readTableTypes>>) => string]> = {
  ts: ['tables.ts', renderTypeScript],
  zod: ['schemas.ts', renderZod],
  'json-schema': ['tables.schema.json', renderJsonSchema],
};

async function typesCommand(v: Values, io: CliIo): Promise<number> {
  // Checked before connecting: a mistyped format is a usage error (exit 2), whether or not the server answers.
  const formats = (v.format ?? 'ts,zod,json-schema').split(',');
  for (const f of formats) {
    if (!Object.hasOwn(RENDERERS, f)) throw new UsageError(`unknown --format ${f} (ts, zod, json-schema)`);
  }
  const { target } = await resolveSource(v, io.env);
  const tables = await readTableTypes(target.client, target.publication);
  const files: Record<string, string> = {};
  for (const f of formats) {
    const [file, render] = RENDERERS[f] as (typeof RENDERERS)[string];
    files[file] = render(tables);
  }
  if (!v.out) {
    for (const [name, text] of Object.entries(files)) io.stdout.write(`// ---- ${name}\n${text}\n`);
    return 0;
  }
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(v.out, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(v.out, name), text);
  io.stdout.write(
    `wrote ${Object.keys(files)
      .map((f) => join(v.out as string, f))
      .join(', ')} for ${tables.length} table(s)\n`,
  );
  return 0;
}

async function snapshotCommand(v: Values, tables: string[], io: CliIo): Promise<number> {
  if (tables.length === 0) throw new UsageError('snapshot needs at least one table: walstream snapshot public.orders');
  let url = v.url;
  if (!url && v.config) {
    const cfg = await loadConfig(v.config, io.env);
    const h = cfg.config.http;
    url = `http://${h?.host ?? '127.0.0.1'}:${h?.port ?? 9090}`;
  }
  url ??= 'http://127.0.0.1:9090';
  const r = await fetch(`${url}/snapshot`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(v.token ? { authorization: `Bearer ${v.token}` } : {}) },
    body: JSON.stringify({ tables, ...(v.pipeline ? { pipeline: v.pipeline } : {}) }),
  }).catch((err: unknown) => {
    throw new Error(`no walstream service answers at ${url} (${(err as Error).message}); start it with walstream run`);
  });
  const body = (await r.json()) as Record<string, unknown>;
  if (!r.ok) {
    io.stderr.write(`walstream: snapshot refused (${r.status}): ${String(body.error)}\n`);
    return 1;
  }
  io.stdout.write(
    `snapshot ${String(body.id)} started for ${tables.join(', ')} in pipeline ${String(body.pipeline)}; progress: ${url}/status\n`,
  );
  return 0;
}

async function verifyCommand(v: Values, io: CliIo): Promise<number> {
  if (!v.source || !v.target || !v.tables) throw new UsageError('verify needs --source URL --target URL --tables a,b');
  const pkg = /^mysql|^mariadb/.test(v.target) ? '@walstream/sink-mysql' : '@walstream/sink-postgres';
  let mod: { verifyTables?: (o: { source: string; target: string; tables: string[] }) => Promise<{ equal: boolean }> };
  try {
    mod = (await import(pkg)) as typeof mod;
  } catch {
    throw new Error(`verify needs ${pkg} (npm install ${pkg})`);
  }
  if (typeof mod.verifyTables !== 'function') throw new Error(`${pkg} has no verifyTables`);
  const r = await mod.verifyTables({ source: v.source, target: v.target, tables: v.tables.split(',') });
  io.stdout.write(json(r));
  return r.equal ? 0 : 1;
}
