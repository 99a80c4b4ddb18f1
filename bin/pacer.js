#!/usr/bin/env node
// pacer's command. The sources are TypeScript that Node 24 runs directly (type stripping),
// so there is no build step between a checkout and `npx pacer`.
import '../src/cli/main.ts';
