#!/usr/bin/env node
/** The `walstream` executable: runs the CLI on this process's argv and streams, then exits with its code. */
import { main } from './cli.js';

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
process.exitCode = code;
// Pipelines and servers are closed by now; a stray timer of a client library must not keep the process alive.
setTimeout(() => process.exit(code), 2000).unref();
