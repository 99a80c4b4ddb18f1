/**
 * Real processes for integration tests: the Marathon emulator and pacer, each started with
 * `bin/pacer.js` exactly as a user would, talking over loopback. Every process is stopped by its
 * PID in `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/pacer.js', import.meta.url));

/**
 * The node flags of bin/pacer.js' `#!/usr/bin/env -S node …` line. The processes here are started
 * with the pinned node (`process.execPath`, not the `#!` line's node from PATH), so they get the
 * flags passed by hand: tests and benches run pacer as users do.
 */
export const PACER_NODE_FLAGS: readonly string[] = (/^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync(BIN, 'utf8').split('\n', 1)[0] ?? '')?.[1] ?? '')
  .trim()
  .split(/\s+/)
  .filter(Boolean);

export interface Proc {
  readonly child: ChildProcess;
  /** Everything the process wrote, for failure messages. */
  readonly output: () => string;
  /** SIGTERM, then wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

function startProc(args: readonly string[], env: NodeJS.ProcessEnv = {}): { proc: Proc; lines: AsyncIterable<string> } {
  const child = spawn(process.execPath, [...PACER_NODE_FLAGS, BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout! });
  const tee = (async function* () {
    for await (const line of lines) {
      output += `${line}\n`;
      yield line;
    }
  })();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    lines: tee,
    proc: {
      child,
      output: () => output,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      },
    },
  };
}

/** Read lines until one parses as JSON and satisfies `match`; keep draining the rest in the background. */
async function firstJsonLine(lines: AsyncIterable<string>, match: (o: Record<string, unknown>) => boolean, proc: Proc, what: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const iterator = lines[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const next = await Promise.race([
      iterator.next(),
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), Math.max(1, deadline - Date.now())).unref()),
    ]);
    if (next === 'timeout') break;
    if (next.done) throw new Error(`${what} exited before it was ready:\n${proc.output()}`);
    try {
      const o = JSON.parse(next.value) as Record<string, unknown>;
      if (match(o)) {
        void (async () => {
          for (;;) {
            const n = await iterator.next();
            if (n.done) return;
          }
        })();
        return o;
      }
    } catch {
      // not a JSON line
    }
  }
  await proc.stop(); // not left running when it did not come up in time
  throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${proc.output()}`);
}

export interface EmulatorProc extends Proc {
  readonly leader: string;
  readonly standby: string | undefined;
  readonly control: string;
  /** POST JSON to the control API (`/_emulator/...`) and return the parsed answer. */
  post(path: string, body?: unknown): Promise<unknown>;
  /** GET a path of the current leader (through the control base). */
  get(path: string): Promise<unknown>;
}

export async function startEmulator(args: readonly string[] = []): Promise<EmulatorProc> {
  const { proc, lines } = startProc(['emulator', '--host', '127.0.0.1', '--port', '0', '--standby-port', '0', ...args]);
  const ready = await firstJsonLine(lines, (o) => o['msg'] === 'emulator listening', proc, 'emulator');
  const leader = String(ready['leader']);
  const control = String(ready['control']);
  const call = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 400) throw new Error(`${method} ${url}: HTTP ${response.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  };
  return {
    ...proc,
    leader,
    standby: typeof ready['standby'] === 'string' ? ready['standby'] : undefined,
    control,
    post: (path, body) => call('POST', `${control}${path}`, body ?? {}),
    get: (path) => call('GET', `${control}${path}`),
  };
}

export interface PacerProc extends Proc {
  readonly admin: string;
}

export async function startPacer(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<PacerProc> {
  // Loopback, and nothing on the privileged default ports (53, 80, 443) unless a test asks.
  const defaults: string[] = [];
  for (const [flag, value] of [
    ['--log-level', 'info'],
    ['--bind', '127.0.0.1'],
    ['--dns-port', '0'],
    ['--http-port', '0'],
    ['--https-port', '0'],
  ] as const) {
    if (!args.includes(flag)) defaults.push(flag, value);
  }
  const { proc, lines } = startProc(['--admin-bind', '127.0.0.1', '--admin-port', '0', ...defaults, ...args], env);
  // Needs --log-level info or lower: "pacer started" is an info line.
  const started = await firstJsonLine(lines, (o) => o['msg'] === 'pacer started', proc, 'pacer');
  return { ...proc, admin: String(started['admin']) };
}

/** `pacer demo` with the given extra options; resolves once it printed its admin URL. */
export async function startDemo(args: readonly string[] = []): Promise<PacerProc> {
  const { proc, lines } = startProc(['demo', ...args]);
  const iterator = lines[Symbol.asyncIterator]();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const next = await iterator.next();
    if (next.done) break;
    const m = /pacer admin\s+(http:\/\/\S+)/.exec(next.value);
    if (m?.[1]) {
      void (async () => {
        while (!(await iterator.next()).done);
      })();
      return { ...proc, admin: m[1] };
    }
  }
  await proc.stop();
  throw new Error(`pacer demo did not print its admin URL:\n${proc.output()}`);
}

/** Run the command to completion and collect its output. */
export function runPacer(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...PACER_NODE_FLAGS, BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Poll `probe` until it returns a value other than undefined or false, or fail after `timeoutMs`
 * (a throw counts as not yet, and is quoted if time runs out). The one polling loop of the tests.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5_000,
  intervalMs = 20,
): Promise<Exclude<T, false>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as Exclude<T, false>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `promise`, or a failure naming `what` after `ms` (for waits on an event rather than a probe). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function getJson<T = unknown>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

/** The value of one sample of a metric on a pacer's /metrics (0 when absent). */
export async function metric(admin: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labelText = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
