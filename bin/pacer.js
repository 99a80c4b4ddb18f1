#!/usr/bin/env -S node --max-semi-space-size=16
// pacer's command. The sources are TypeScript that Node 24 runs directly (type stripping),
// so there is no build step between a checkout and `npx pacer`.
//
// --max-semi-space-size=16 (MB): on a machine with much memory, V8 lets the young generation grow
// to 64 MB a half-space, and a first sync of 10,000 apps grows it to the full 134 MB, which then
// stays resident. 16 MB a half-space (V8's long-time default) costs the proxy nothing measurable
// and pacer ~90 MB less RSS at that scale (docs/benchmarks.md). The Dockerfile, `npm start` and
// the tests' process helper run node with the same flags.
import '../src/cli/main.ts';
