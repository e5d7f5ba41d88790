/**
 * Structured logs through pino: JSON lines on stdout by default, short readable lines on stderr when it is a
 * TTY. Library code only ever sees core's Logger interface; fields are names, counts and positions, never row
 * values or secrets (the library guarantees that for its own fields; here we add none).
 */
import type { Logger } from '@walstream/core';
import { type DestinationStream, pino } from 'pino';
import type { LogConfig } from '../config/schema.js';

export interface ServiceLogger extends Logger {
  child(bindings: Record<string, string>): ServiceLogger;
  flush(): void;
}

const COLORS: Record<number, string> = {
  20: '\x1b[90m',
  30: '\x1b[36m',
  40: '\x1b[33m',
  50: '\x1b[31m',
  60: '\x1b[31m',
};
const NAMES: Record<number, string> = { 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Renders pino's JSON line as `12:00:01 info  [orders] started  slot=orders_slot`. */
export function prettyStream(out: NodeJS.WritableStream, beforeWrite?: () => void): DestinationStream {
  return {
    write(line: string) {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const level = Number(o.level);
      const time = new Date(Number(o.time)).toISOString().slice(11, 19);
      const fields = Object.entries(o)
        .filter(([k]) => !OMIT.has(k) && k !== 'pipeline')
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      const who = o.pipeline ? `[${String(o.pipeline)}] ` : '';
      beforeWrite?.();
      out.write(
        `\x1b[90m${time}\x1b[0m ${COLORS[level] ?? ''}${(NAMES[level] ?? 'log').padEnd(5)}\x1b[0m ${who}${String(o.msg)}${fields ? `  \x1b[90m${fields}\x1b[0m` : ''}\n`,
      );
    },
  };
}

export function createServiceLogger(
  config: LogConfig,
  opts: { pretty?: boolean; beforeWrite?: () => void; destination?: DestinationStream } = {},
): ServiceLogger {
  const pretty =
    opts.pretty ?? (config.format === 'pretty' || (config.format === 'auto' && process.stderr.isTTY === true));
  const dest =
    opts.destination ??
    (pretty ? prettyStream(process.stderr, opts.beforeWrite) : pino.destination({ dest: 1, sync: true }));
  const root = pino(
    { level: config.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.epochTime },
    dest,
  );
  return wrap(root);
}

function wrap(p: pino.Logger, bound: ReadonlySet<string> = new Set()): ServiceLogger {
  const call =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (!fields) {
        p[level](msg);
        return;
      }
      // The library names its pipeline in fields too; a child logger already carries it (no duplicate JSON keys).
      const own = bound.size === 0 ? fields : Object.fromEntries(Object.entries(fields).filter(([k]) => !bound.has(k)));
      p[level](own, msg);
    };
  return {
    debug: call('debug'),
    info: call('info'),
    warn: call('warn'),
    error: call('error'),
    child: (bindings) => wrap(p.child(bindings), new Set([...bound, ...Object.keys(bindings)])),
    flush: () => p.flush(),
  };
}
