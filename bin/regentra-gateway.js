#!/usr/bin/env -S node --min-semi-space-size=2 --max-semi-space-size=2
// (the Node.js flags of src/runtime/node-flags.ts: the Dockerfile's CMD and `npm start` pass them too)
// Entry point of the `regentra-gateway` command (Node.js 24 runs the TypeScript sources directly).
//
// This file must parse and run on ANY Node.js version, so that an older one says which
// version is needed instead of failing with a SyntaxError somewhere in the sources: the
// version is checked first, with plain old syntax and no static import; only then are
// the TypeScript entry and Node 24's APIs loaded (dynamic import).
var REQUIRED_MAJOR = 24;
var major = Number(String(process.versions.node).split('.')[0]);

if (!(major >= REQUIRED_MAJOR)) {
  process.stderr.write(
    'regentra-gateway: needs Node.js ' +
      REQUIRED_MAJOR +
      ' or newer (it runs its TypeScript sources directly); ' +
      'this is Node.js ' +
      process.version +
      ' (' +
      process.execPath +
      ').\n' +
      '  In a checkout of the project, `npx regentra-gateway ...` and the npm scripts use the Node.js ' +
      REQUIRED_MAJOR +
      ' that `npm ci` installed;\n  otherwise install Node.js ' +
      REQUIRED_MAJOR +
      ' LTS (https://nodejs.org/) or use the container image.\n',
  );
  process.exitCode = 1;
} else {
  // Node's compile cache (os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE; off with
  // NODE_DISABLE_COMPILE_CACHE=1): the sources are parsed and compiled once, later starts
  // read the result (about half the loading time; docs/operations.md). Without a writable
  // directory it only does nothing.
  import('node:module')
    .then(function (m) {
      m.enableCompileCache();
      return import('../src/main.ts');
    })
    .then(function (entry) {
      return entry.main(process.argv.slice(2), process.env, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
    })
    .then(
      function (code) {
        process.exitCode = code;
      },
      function (err) {
        process.stderr.write('regentra-gateway: fatal: ' + (err instanceof Error ? err.stack || err.message : String(err)) + '\n');
        process.exitCode = 1;
      },
    );
}
