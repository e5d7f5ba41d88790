/**
 * Polls `cond` until it holds; throws naming `what` (and never a value) when `timeoutMs` passes first.
 * For tests that wait on a server or a pipeline: a bounded wait with a clear failure, not a fixed sleep.
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
  everyMs = 25,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
