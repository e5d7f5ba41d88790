/**
 * Each sink write gets its own AbortSignal, aborted when the pipeline's is. Sinks (and clients such as fetch)
 * may leave a listener on the signal they were given; on a per-write signal those go away with the write instead
 * of piling up on the pipeline's long-lived one (MaxListenersExceededWarning, a slow leak).
 */
export async function withWriteSignal<T>(parent: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const child = new AbortController();
  if (parent.aborted) child.abort(parent.reason);
  const onAbort = () => child.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn(child.signal);
  } finally {
    parent.removeEventListener('abort', onAbort);
  }
}
