// A sink that prints each change as one colored line. Printing is its job, so it is a sink of the example,
// not of the library (which never writes to the console).
const color = { INSERT: 32, UPDATE: 33, DELETE: 31, TRUNCATE: 35, MESSAGE: 36 };
const paint = (code, s) => (process.stdout.isTTY ? `\x1b[${code}m${s}\x1b[0m` : s);
const dim = (s) => paint(2, s);

function show(row) {
  if (row === null) return 'null';
  return Object.entries(row)
    .map(([k, v]) => `${k}=${typeof v === 'bigint' ? `${v}n` : typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}

export function createTerminalSink() {
  return {
    name: 'terminal',
    async write(batch) {
      for (const e of batch.events) {
        const op = paint(color[e.operation] ?? 0, e.operation.padEnd(6));
        const where = `${e.schema}.${e.table}`;
        const detail =
          e.operation === 'UPDATE'
            ? `${show(e.key)}  ${dim('->')} ${show(e.after)}`
            : e.operation === 'DELETE'
              ? show(e.before)
              : show(e.after);
        process.stdout.write(`${dim(e.id.padEnd(14))} ${op} ${where}  ${detail}\n`);
      }
      for (const c of batch.commits) {
        if (c.eventCount > 1)
          process.stdout.write(dim(`               commit of ${c.eventCount} changes (xid ${c.transactionId})\n`));
      }
    },
  };
}
