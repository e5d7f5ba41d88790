/**
 * `buf.toString('utf8', start, end)` without its argument checks and encoding lookup: Buffer's own utf8Slice,
 * where this Node has it. The wrapper was a tenth of a snapshot's CPU, and as much again as the decoding itself
 * for streamed text values.
 */
export const utf8: (b: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as { utf8Slice?: unknown }).utf8Slice === 'function'
    ? (b, start, end) => (b as Buffer & { utf8Slice(s: number, e: number): string }).utf8Slice(start, end)
    : (b, start, end) => b.toString('utf8', start, end);
