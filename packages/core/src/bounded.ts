/** Bounded waits for shutdown: nothing a reader or sink does (throw, reject, hang) keeps `done` from settling. */

/** True when `p` settled within `ms`. */
export async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((r) => {
    t = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(t);
  }
}

/** Runs `fn` (which may throw synchronously, reject or hang): true, the error, or 'timeout' after `ms`. */
export async function settleWithin(fn: () => unknown, ms: number): Promise<true | { error: unknown } | 'timeout'> {
  let outcome: Promise<true | { error: unknown }>;
  try {
    outcome = Promise.resolve(fn()).then(
      () => true as const,
      (error: unknown) => ({ error }),
    );
  } catch (error) {
    return { error };
  }
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((r) => {
    t = setTimeout(() => r('timeout'), ms);
  });
  try {
    return await Promise.race([outcome, timeout]);
  } finally {
    clearTimeout(t);
  }
}
