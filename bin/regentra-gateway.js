#!/usr/bin/env -S node --max-semi-space-size=16
// (the Node.js flags of src/ops/runtime.ts: the Dockerfile's CMD and `npm start` pass them too)
// Entry point of the `regentra-gateway` command (Node.js 24 runs the TypeScript sources directly).
import { enableCompileCache } from 'node:module';

// Node's compile cache (os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE; off with
// NODE_DISABLE_COMPILE_CACHE=1): the sources are parsed and compiled once, later starts
// read the result (about half the loading time; docs/operations.md). Without a writable
// directory it only does nothing.
enableCompileCache();
const { main } = await import('../src/main.ts');

main(process.argv.slice(2), process.env, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`regentra-gateway: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
