/**
 * The benchmarks' smoke variant (issue 7): one quick bench end to end, a few seconds, no targets
 * checked. It proves the harness still runs and renders; the figures mean nothing here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUN = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));

describe('npm run bench (smoke)', () => {
  it('runs the event bench quickly and writes a table with its rows', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pacer-bench-')), 'benchmarks.md');
    const result = spawnSync(process.execPath, [RUN, 'events', '--quick', '--out', out], { encoding: 'utf8', timeout: 90_000 });
    expect(result.status, result.stderr).toBe(0);
    const doc = readFileSync(out, 'utf8');
    expect(doc).toMatch(/event → traffic: a new healthy task gets its first request \| ms \| \d+ events/);
    expect(doc).toMatch(/\| ✅ pass \||\| ❌ miss \|/);
    expect(doc).toContain('not run this time');
  }, 120_000);
});
