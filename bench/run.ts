/**
 * `npm run bench` — every bench of issue 7, side by side with HAProxy and NSD on loopback, written
 * to docs/benchmarks.md. `npm run bench -- proxy dns` runs only those benches (the others are
 * listed as not measured in that run). Options: `--runs N` (default 3), `--seconds N` (wrk and
 * loadgen run length, default 5), `--dns-seconds N` (dnsperf `-l`, default 10), `--quick` (1 run
 * of 2 s, 1,000 apps at scale: a smoke run), `--out FILE` (default docs/benchmarks.md).
 *
 * It installs its Debian tools when missing (`apt-get install -y wrk haproxy nsd dnsperf`), uses
 * free loopback ports only, and stops every process it started by its PID, also on errors and
 * Ctrl-C. Not part of `npm test` (test/bench/harness.test.ts checks the table rendering only).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { churnBench } from './churn.ts';
import { dnsBench } from './dns.ts';
import { eventsBench } from './events.ts';
import { log, run, stopAll } from './lib.ts';
import { NOTES, TRIED } from './notes.ts';
import { proxyBench } from './proxy.ts';
import { scaleBench } from './scale.ts';
import { BENCH_NAMES, renderDocument, type Row } from './table.ts';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string' },
    seconds: { type: 'string' },
    'dns-seconds': { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url)) },
  },
});

type Name = (typeof BENCH_NAMES)[number];
const unknown = positionals.filter((p) => !(BENCH_NAMES as readonly string[]).includes(p));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown bench ${unknown.join(', ')}; known: ${BENCH_NAMES.join(', ')}\n`);
  process.exit(2);
}
const chosen: readonly Name[] = positionals.length ? BENCH_NAMES.filter((n) => positionals.includes(n)) : BENCH_NAMES;
const RUNS = Number(opts.runs ?? (opts.quick ? 1 : 3));
const SECONDS = Number(opts.seconds ?? (opts.quick ? 2 : 5));
const DNS_SECONDS = Number(opts['dns-seconds'] ?? (opts.quick ? 2 : 10));

/** The Debian packages each bench needs, installed with apt-get when `dpkg -s` does not know them. */
const PACKAGES_BY_BENCH: Readonly<Partial<Record<Name, readonly string[]>>> = {
  proxy: ['wrk', 'haproxy'],
  dns: ['nsd', 'dnsperf'],
};
const PACKAGES = [...new Set(chosen.flatMap((name) => PACKAGES_BY_BENCH[name] ?? []))];

function installed(pkg: string): boolean {
  try {
    return /Status: install ok installed/.test(execFileSync('dpkg', ['-s', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return false;
  }
}

async function ensureTools(): Promise<void> {
  const missing = PACKAGES.filter((p) => !installed(p));
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')} (apt-get install -y)`);
  const asRoot = process.getuid?.() === 0;
  const apt = (args: string[]) => (asRoot ? run('apt-get', args, 600_000) : run('sudo', ['-n', 'apt-get', ...args], 600_000));
  let result = await apt(['install', '-y', ...missing]);
  if (result.code !== 0) {
    await apt(['update']);
    result = await apt(['install', '-y', ...missing]);
  }
  if (result.code !== 0) throw new Error(`apt-get install -y ${missing.join(' ')} failed:\n${result.stderr}`);
}

function version(cmd: string, args: string[], pattern: RegExp): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return pattern.exec(out)?.[1] ?? '?';
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return pattern.exec(`${e.stdout ?? ''}${e.stderr ?? ''}`)?.[1] ?? '?';
  }
}

function dpkgVersion(pkg: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return 'not installed';
  }
}

function environment(wallSeconds: number) {
  const os = (() => {
    try {
      return /PRETTY_NAME="([^"]+)"/.exec(execFileSync('cat', ['/etc/os-release'], { encoding: 'utf8' }))?.[1] ?? `Linux ${release()}`;
    } catch {
      return `Linux ${release()}`;
    }
  })();
  return {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    cpu: cpus()[0]?.model.trim() ?? '?',
    cores: cpus().length,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os}, kernel ${release()}`,
    versions: {
      node: process.version,
      haproxy: version('/usr/sbin/haproxy', ['-v'], /version (\S+)/),
      nsd: dpkgVersion('nsd'),
      wrk: dpkgVersion('wrk'),
      dnsperf: dpkgVersion('dnsperf'),
    },
    wallSeconds,
    benches: chosen,
  };
}

/** The rows of a bench that did not run (or failed), with the reason. */
function notRun(name: Name, reason: string): Row[] {
  const row = (bench: string, unit: string, peer?: string): Row => ({ bench, summary: 'runs', unit, pacer: [], command: '', notMeasured: reason, ...(peer ? { peer: { name: peer, values: [] } } : {}) });
  switch (name) {
    case 'proxy':
      return [
        row('HTTP throughput, keep-alive, 1 process / 1 thread each', 'req/s', 'HAProxy http'),
        row('TCP throughput, request/response over one connection each', 'req/s', 'HAProxy tcp'),
        row('latency at a fixed rate, p99', 'ms', 'HAProxy http'),
        row('`--workers 2` vs `--workers 1`, HTTP', 'req/s', 'pacer --workers 1'),
      ];
    case 'dns':
      return [row('DNS A queries/s, cached answers', 'qps', 'NSD'), row('DNS SRV queries/s, cached answers', 'qps', 'NSD')];
    case 'events':
      return [
        row('event → traffic: a new healthy task gets its first request', 'ms'),
        row('event → traffic: a killed task gets its last request', 'ms'),
        row('event → DNS: a new healthy task appears in A answers', 'ms'),
        row('event → DNS: a new healthy task appears in SRV answers', 'ms'),
      ];
    case 'scale':
      return [row('scale 10,000 apps × 10 tasks: full sync', 's'), row('scale 10,000 apps × 10 tasks: RSS', 'MB'), row('scale 10,000 apps × 10 tasks: one status event applied', 'ms')];
    case 'churn':
      return [row('churn: steady load while apps scale and redeploy, failed requests', 'failures')];
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  await ensureTools();
  const rows: Row[] = [];
  for (const name of BENCH_NAMES) {
    if (!chosen.includes(name)) {
      rows.push(...notRun(name, `not run this time (\`npm run bench -- ${chosen.join(' ')}\`)`));
      continue;
    }
    log(`bench ${name}`);
    try {
      switch (name) {
        case 'proxy':
          rows.push(...(await proxyBench({ runs: RUNS, seconds: SECONDS, connections: 16 })));
          break;
        case 'dns':
          rows.push(...(await dnsBench({ runs: RUNS, seconds: DNS_SECONDS })));
          break;
        case 'events':
          rows.push(...(await eventsBench({ events: opts.quick ? 5 : 25 })));
          break;
        case 'scale':
          rows.push(...(await scaleBench({ apps: opts.quick ? 1_000 : 10_000, tasks: 10 })));
          break;
        case 'churn':
          rows.push(...(await churnBench({ redeploys: opts.quick ? 2 : 10 })));
          break;
      }
    } catch (error) {
      log(`bench ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      rows.push(...notRun(name, `the bench failed in this run: ${String(error instanceof Error ? error.message : error).split('\n')[0]}`));
    } finally {
      await stopAll();
    }
  }
  const doc = renderDocument(environment((performance.now() - t0) / 1000), rows, { notes: NOTES, tried: TRIED });
  writeFileSync(opts.out, doc);
  log(`wrote ${opts.out} in ${Math.round((performance.now() - t0) / 1000)} s`);
  process.stdout.write(`${doc}\n`);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    void stopAll().finally(() => process.exit(130));
  });
}

let code = 0;
try {
  await main();
} catch (error) {
  log(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  code = 1;
} finally {
  await stopAll();
}
// Keep-alive agents and timers of the helpers would keep the process alive: everything started is stopped.
process.exit(code);
