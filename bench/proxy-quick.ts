/**
 * Quick side-by-side proxy benchmark, in one run on loopback: the backend straight, HAProxy (one
 * thread, http and tcp mode), and pacer (HTTP-mode and TCP-mode service ports, for each
 * `--workers` count asked), all to the same backend process, all loaded by the same `wrk`.
 * Rounds are interleaved (every path once per round) so that the machine's drift hits all paths
 * alike; the table gives min/median/max req/s over the rounds, the median p99 latency, and the
 * ratio of medians to HAProxy's in the same mode.
 *
 *   npx node bench/proxy-quick.ts [--runs 3] [--duration 5] [--connections 16] [--workers 1,2]
 *                                 [--only pacer] [--cpu-prof DIR]
 *
 * `--cpu-prof DIR` runs pacer under `node --cpu-prof` (profiles land in DIR when it stops).
 * No fixed-rate latency pass: Debian's wrk 4 has no `-R`. Every process started here (backend, HAProxy, the Marathon
 * emulator, pacer, wrk) is stopped by its PID before exit, also on errors and Ctrl-C.
 * Not part of `npm test`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startEmulator, startPacer, waitFor } from '../test/helpers/processes.ts';
import { freePorts } from '../test/proxy/helpers.ts';
import { haproxyConfig } from './proxy.ts';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    workers: { type: 'string', default: '1' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const RUNS = Number(opts.runs);
const DURATION = Number(opts.duration);
const CONNECTIONS = Number(opts.connections);
const WORKERS = opts.workers.split(',').map(Number).filter((n) => n >= 1);
const WRK = '/usr/bin/wrk';
const HAPROXY = '/usr/sbin/haproxy';
const BACKEND = fileURLToPath(new URL('./backend.ts', import.meta.url));

const started: { stop(): Promise<unknown> }[] = [];

function startChild(cmd: string, args: readonly string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.on('data', (c: Buffer) => process.stderr.write(`[${cmd.split('/').pop()}] ${c.toString()}`));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  started.push({
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  });
  return child;
}

function portOpen(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(undefined));
  });
}

async function answers200(port: number): Promise<true | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  await response.arrayBuffer();
  return response.status === 200 ? true : undefined;
}

interface WrkResult {
  readonly rps: number;
  readonly p99ms: number;
  readonly errors: number;
}

function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

async function wrk(port: number): Promise<WrkResult> {
  const child = spawn(WRK, ['-t1', `-c${CONNECTIONS}`, `-d${DURATION}s`, '--latency', `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), (DURATION + 20) * 1000);
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  clearTimeout(timer);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1];
  const errs = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1];
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = Number(errs ?? 0) + (sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0);
  if (!Number.isFinite(rps)) process.stderr.write(`wrk output without a rate:\n${out}\n`);
  return { rps, p99ms: p99 ? toMs(p99) : Number.NaN, errors };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pacer-bench-'));
  const targets: { name: string; port: number; peer?: string }[] = [];
  try {
    // Backend: one port for the direct path and HAProxy, one per pacer app (the emulator pins them).
    const [backendPort, haHttp, haTcp, ...spare] = await freePorts(3 + WORKERS.length * 4);
    const backendPorts = [backendPort!, ...spare.slice(0, WORKERS.length * 2)];
    const backend = startChild(process.execPath, [BACKEND, ...backendPorts.map(String)]);
    await new Promise<void>((resolve, reject) => {
      backend.stdout?.once('data', () => resolve());
      backend.once('exit', () => reject(new Error('backend exited')));
    });
    targets.push({ name: 'backend, direct', port: backendPort! });

    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(haHttp!, haTcp!, backendPort!));
    startChild(HAPROXY, ['-db', '-f', cfg]);
    await waitFor('haproxy', () => portOpen(haHttp!), 5_000);
    targets.push({ name: 'HAProxy 1 thread, http', port: haHttp! }, { name: 'HAProxy 1 thread, tcp', port: haTcp! });

    const emulator = await startEmulator();
    started.push(emulator);
    const listenPorts = spare.slice(WORKERS.length * 2);
    for (const [i, workers] of WORKERS.entries()) {
      const group = `bench${i}`;
      const [bHttp, bTcp] = [backendPorts[1 + i * 2]!, backendPorts[2 + i * 2]!];
      const [lHttp, lTcp] = [listenPorts[i * 2]!, listenPorts[i * 2 + 1]!];
      const app = (id: string, backendPortOf: number, listen: number, mode: string) => ({
        app: { id, instances: 1, cmd: 'serve', requirePorts: true, portDefinitions: [{ port: backendPortOf }], labels: { HAPROXY_GROUP: group, HAPROXY_0_MODE: mode, HAPROXY_0_PORT: String(listen) } },
        backend: 'none',
      });
      await emulator.post('/apps', app(`/bench/w${workers}-${i}/http`, bHttp, lHttp, 'http'));
      await emulator.post('/apps', app(`/bench/w${workers}-${i}/tcp`, bTcp, lTcp, 'tcp'));
      const env: NodeJS.ProcessEnv = opts['cpu-prof'] ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${opts['cpu-prof']}` } : {};
      const args = ['--marathon', emulator.leader, '--group', group, '--log-level', 'info'];
      if (workers > 1) args.push('--workers', String(workers));
      const pacer = await startPacer(args, env);
      started.push(pacer);
      await waitFor(`pacer (workers ${workers}) http port`, () => answers200(lHttp), 15_000, 100);
      await waitFor(`pacer (workers ${workers}) tcp port`, () => answers200(lTcp), 15_000, 100);
      const w = workers === 1 ? '' : `, --workers ${workers}`;
      targets.push({ name: `pacer${w}, http`, port: lHttp, peer: 'HAProxy 1 thread, http' }, { name: `pacer${w}, tcp`, port: lTcp, peer: 'HAProxy 1 thread, tcp' });
    }

    const chosen = opts.only ? targets.filter((t) => t.name.includes(opts.only!)) : targets;
    const results = new Map<string, WrkResult[]>();
    for (let run = 0; run < RUNS; run++) {
      for (const t of chosen) {
        const r = await wrk(t.port);
        process.stderr.write(`run ${run + 1}/${RUNS} ${t.name}: ${fmt(r.rps)} req/s, p99 ${r.p99ms} ms${r.errors ? `, ${r.errors} errors` : ''}\n`);
        const list = results.get(t.name) ?? [];
        list.push(r);
        results.set(t.name, list);
      }
    }

    const med = (name: string | undefined) => (name && results.has(name) ? median(results.get(name)!.map((r) => r.rps)) : Number.NaN);
    const lines = [
      `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, wrk -t1 -c${CONNECTIONS} -d${DURATION}s, ${RUNS} interleaved runs, everything on loopback sharing the cores`,
      '',
      '| path | req/s min | median | max | p99 ms (median) | errors | vs HAProxy (medians) |',
      '|---|---:|---:|---:|---:|---:|---:|',
    ];
    for (const t of chosen) {
      const rs = results.get(t.name) ?? [];
      const rps = rs.map((r) => r.rps);
      const ratio = t.peer ? med(t.name) / med(t.peer) : Number.NaN;
      lines.push(
        `| ${t.name} | ${fmt(Math.min(...rps))} | ${fmt(median(rps))} | ${fmt(Math.max(...rps))} | ${median(rs.map((r) => r.p99ms)).toFixed(2)} | ${rs.reduce((a, r) => a + r.errors, 0)} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : ''} |`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const s of started.reverse()) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.once('SIGINT', () => {
  void Promise.all(started.map((s) => s.stop())).finally(() => process.exit(130));
});

await main();
