/**
 * Shared pieces of the benchmark harness: processes stopped by PID, free ports, statistics, wrk,
 * the fixed-rate load generator, Prometheus samples and small HTTP helpers. Not part of `npm test`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { quantileOf } from './table.ts';

export const WRK = '/usr/bin/wrk';
export const HAPROXY = '/usr/sbin/haproxy';
export const NSD = '/usr/sbin/nsd';
export const DNSPERF = '/usr/bin/dnsperf';
export const BACKEND = fileURLToPath(new URL('./backend.ts', import.meta.url));
export const LOADGEN = fileURLToPath(new URL('./loadgen.ts', import.meta.url));

export interface Stoppable {
  stop(): Promise<unknown>;
}

/** Everything a bench started, stopped in reverse order by `stopAll` (also on errors and Ctrl-C). */
export const started: Stoppable[] = [];

export async function stopAll(): Promise<void> {
  while (started.length > 0) {
    const s = started.pop()!;
    try {
      await s.stop();
    } catch (error) {
      process.stderr.write(`bench: stopping a process failed: ${String(error)}\n`);
    }
  }
}

export function log(text: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

/** Spawn a long-running child, registered in `started`; SIGTERM by PID, SIGKILL after 5 s. */
export function startChild(cmd: string, args: readonly string[], opts: { quiet?: boolean; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const name = cmd.split('/').pop();
  child.stderr?.on('data', (c: Buffer) => {
    if (!opts.quiet) process.stderr.write(`[${name}] ${c.toString()}`);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  started.push({
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
      }, 5_000);
      await exited;
      clearTimeout(timer);
    },
  });
  return child;
}

/** Run a command to completion (killed by PID after `timeoutMs`), collecting its output. */
export function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${String(error)}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<true | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(undefined));
  });
}

export async function answers200(port: number): Promise<true | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  await response.arrayBuffer();
  return response.status === 200 ? true : undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- statistics ----

/** The q-quantile, interpolated (the table's own, so rows and summaries agree). */
export const quantile = quantileOf;

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

// ---- wrk ----

export interface WrkResult {
  readonly rps: number;
  readonly p99ms: number;
  readonly errors: number;
}

export function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

export function wrkArgs(port: number, connections: number, seconds: number): string[] {
  return ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`];
}

export async function wrk(port: number, connections: number, seconds: number): Promise<WrkResult> {
  const { stdout: out } = await run(WRK, wrkArgs(port, connections, seconds), (seconds + 20) * 1000);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1];
  const errs = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1];
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = Number(errs ?? 0) + (sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0);
  if (!Number.isFinite(rps)) log(`wrk output without a rate:\n${out}`);
  return { rps, p99ms: p99 ? toMs(p99) : Number.NaN, errors };
}

// ---- the fixed-rate load generator (bench/loadgen.ts, its own process) ----

export interface LoadgenResult {
  readonly sent: number;
  readonly ok: number;
  readonly errors: number;
  readonly rate: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly maxms: number;
}

export function loadgenArgs(port: number, rate: number, seconds: number, connections: number): string[] {
  return [LOADGEN, '--port', String(port), '--rate', String(Math.round(rate)), '--duration', String(seconds), '--connections', String(connections)];
}

export async function loadgen(port: number, rate: number, seconds: number, connections: number): Promise<LoadgenResult> {
  const { stdout, stderr } = await run(process.execPath, loadgenArgs(port, rate, seconds, connections), (seconds + 30) * 1000);
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as LoadgenResult;
  } catch {
    log(`loadgen gave no result: ${stdout} ${stderr}`);
    return { sent: 0, ok: 0, errors: 0, rate: 0, p50ms: Number.NaN, p99ms: Number.NaN, maxms: Number.NaN };
  }
}

// ---- Prometheus ----

export interface Sample {
  readonly name: string;
  readonly labels: string;
  readonly value: number;
}

export async function scrape(admin: string): Promise<Sample[]> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m) out.push({ name: m[1]!, labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

export function sampleValue(samples: readonly Sample[], name: string, labelText = ''): number {
  return samples.filter((s) => s.name === name && s.labels.includes(labelText)).reduce((a, s) => a + s.value, 0);
}

/** Cumulative histogram buckets [le, count] of one histogram, sorted by le. */
export function buckets(samples: readonly Sample[], name: string): [number, number][] {
  const out: [number, number][] = [];
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = /le="([^"]+)"/.exec(s.labels)?.[1];
    if (le !== undefined) out.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), s.value]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** Prometheus' histogram_quantile over the difference of two scrapes (linear within a bucket). */
export function histogramQuantile(q: number, before: readonly [number, number][], after: readonly [number, number][]): number {
  const delta = after.map(([le, c]) => [le, c - (before.find((b) => b[0] === le)?.[1] ?? 0)] as const);
  const total = delta.at(-1)?.[1] ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of delta) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(count - prevCount, 1e-9);
    }
    prevLe = le;
    prevCount = count;
  }
  return Number.NaN;
}

export async function postJson(url: string, body: unknown, method = 'POST'): Promise<unknown> {
  const response = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (response.status >= 400) throw new Error(`${method} ${url}: HTTP ${response.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}
