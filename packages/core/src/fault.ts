/**
 * Named fault points for the fault suite. `WALSTREAM_FAULT=<point>` makes the process SIGKILL itself the first time
 * it passes `<point>`; `WALSTREAM_FAULT=<point>:<n>` the n-th time. The variable is read once, when this module
 * loads: unset, a fault point is one string comparison. Points: `after_sink_write_before_ack` (a sink returned
 * from write(), the pipeline has not yet counted it), `after_ack` (the reader accepted a confirmed position),
 * `snapshot_after_chunk` (the Postgres reader handed a snapshot chunk's rows and commit to the pipeline: it asked
 * for the next item; chunks that kept no row count too).
 */
const spec = (typeof process === 'undefined' ? '' : (process.env.WALSTREAM_FAULT ?? '')).trim();
const colon = spec.lastIndexOf(':');
const target = colon > 0 ? spec.slice(0, colon) : spec;
const nth = colon > 0 ? Math.max(1, Number(spec.slice(colon + 1)) || 1) : 1;
let hits = 0;

export function faultPoint(name: string): void {
  if (target === '' || name !== target) return;
  if (++hits < nth) return;
  process.kill(process.pid, 'SIGKILL');
}
