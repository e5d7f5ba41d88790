/**
 * Loads pg (through the caller's `load`, which requires it from the caller's own package) so that on Node 20 pg
 * does not load Node's bundled fetch (undici). pg's lib/stream.js asks at load time whether it runs in a
 * Cloudflare Worker: with no global `navigator` (Node < 21) it builds a `new Response(...)` to find out, which
 * loads undici: about 100 ms and several MB of RSS in every process, for nothing. Node 21+ has `navigator`
 * (userAgent "Node.js/..."), and pg answers from it. Here a `navigator` of that shape exists only while pg's
 * modules are evaluated (synchronously, nothing else runs meanwhile), then is removed. When pg is already loaded
 * (the application imported it first) `load` returns it from the module cache and this changes nothing.
 */
export function loadPgQuietly(load: () => unknown): void {
  const g = globalThis as { navigator?: unknown };
  const shim = g.navigator === undefined;
  if (shim) g.navigator = { userAgent: `Node.js/${process.versions.node.split('.')[0]}` };
  try {
    load();
  } finally {
    if (shim) delete g.navigator;
  }
}
