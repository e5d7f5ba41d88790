/**
 * Loads pg before anything in this package imports it (index.ts imports this module first), so that on Node 20
 * pg does not load Node's bundled fetch (undici) at startup. pg's lib/stream.js asks at load time whether it runs
 * in a Cloudflare Worker: with no global `navigator` (Node < 21) it builds a `new Response(...)` to find out,
 * which loads undici: about 100 ms and 10 MB of RSS on the machines we measure on, in every process, for nothing.
 * Node 21+ has `navigator` (userAgent "Node.js/..."), and pg answers from it. Here a `navigator` of that shape
 * exists only while pg's modules are evaluated (synchronously, nothing else runs meanwhile), then is removed.
 * When pg is already loaded (the application imported it first) this changes nothing.
 */
import { createRequire } from 'node:module';

const g = globalThis as { navigator?: unknown };
if (g.navigator === undefined) {
  g.navigator = { userAgent: `Node.js/${process.versions.node.split('.')[0]}` };
  try {
    createRequire(import.meta.url)('pg');
  } finally {
    delete g.navigator;
  }
}
