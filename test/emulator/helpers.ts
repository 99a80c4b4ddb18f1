// Test helpers: a raw-socket SSE client (sees the exact bytes) and deadline-bound waiting.
import net from 'node:net';
import { waitFor } from '../helpers/processes.ts';

export type Obj = Record<string, unknown>;

/** Polls `fn` until it returns a truthy value; throws after `timeoutMs` (waitFor, truthy). */
export function waitUntil<T>(fn: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<NonNullable<T>> {
  return waitFor(what, async () => (await fn()) || undefined, timeoutMs, 5) as Promise<NonNullable<T>>;
}

export interface SseEvent {
  event: string;
  data: Obj;
  rawData: string;
}

export interface RawClient {
  /** Every byte received so far (latin1 decoded). */
  readonly raw: string;
  readonly status: number | undefined;
  readonly head: string;
  readonly body: string;
  readonly ended: boolean;
  events(): SseEvent[];
  header(name: string): string | undefined;
  waitForEvent(pred: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  waitForEnd(timeoutMs?: number): Promise<void>;
  pause(): void;
  resume(): void;
  close(): void;
}

export function parseSse(body: string): SseEvent[] {
  const out: SseEvent[] = [];
  let event: string | undefined;
  let data: string | undefined;
  for (const line of body.split('\r\n')) {
    if (line === '' || line === '\r' || line === '\n') {
      if (event !== undefined && data !== undefined) {
        let parsed: Obj = {};
        try { parsed = JSON.parse(data) as Obj; } catch { /* malformed: keep raw */ }
        out.push({ event, data: parsed, rawData: data });
      }
      event = undefined; data = undefined;
      continue;
    }
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data = line.slice(6);
  }
  return out;
}

/** Opens a raw HTTP/1.1 GET over node:net (default: an SSE request to /v2/events). */
export function rawGet(baseUrl: string, path = '/v2/events', headers: Record<string, string> = { Accept: 'text/event-stream' }): Promise<RawClient> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let raw = '';
    let ended = false;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => { raw += d; });
    sock.on('close', () => { ended = true; });
    sock.on('error', () => { ended = true; });
    const split = (): [string, string] => {
      const i = raw.indexOf('\r\n\r\n');
      return i < 0 ? [raw, ''] : [raw.slice(0, i), raw.slice(i + 4)];
    };
    const client: RawClient = {
      get raw() { return raw; },
      get head() { return split()[0]; },
      get body() { return split()[1]; },
      get status() {
        const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
        return m === null ? undefined : Number(m[1]);
      },
      get ended() { return ended; },
      events: () => parseSse(split()[1]),
      header(name) {
        const re = new RegExp(`^${name}: (.*)$`, 'im');
        const m = re.exec(split()[0]);
        return m === null ? undefined : m[1];
      },
      async waitForEvent(pred, timeoutMs = 5000) {
        return waitUntil(() => client.events().find(pred), timeoutMs, 'SSE event');
      },
      async waitForEnd(timeoutMs = 5000) {
        await waitUntil(() => ended, timeoutMs, 'connection end');
      },
      pause() { sock.pause(); },
      resume() { sock.resume(); },
      close() { sock.destroy(); },
    };
    sock.once('connect', () => {
      const hdrs = Object.entries({ Host: u.host, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      sock.write(`GET ${path} HTTP/1.1\r\n${hdrs}\r\n`);
      resolve(client);
    });
    sock.once('error', reject);
  });
}

/** Opens an SSE stream and waits for its headers and its own event_stream_attached. */
export async function openStream(baseUrl: string, query = '', headers: Record<string, string> = {}): Promise<RawClient> {
  const c = await rawGet(baseUrl, `/v2/events${query}`, { Accept: 'text/event-stream', ...headers });
  await waitUntil(() => c.status !== undefined && c.head.length > 0 && c.raw.includes('\r\n\r\n'), 5000, 'SSE headers');
  return c;
}

export async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: Obj; headers: Headers }> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, body: text === '' ? {} : (JSON.parse(text) as Obj), headers: r.headers };
}

export function postJson(url: string, body: unknown, method = 'POST'): Promise<{ status: number; body: Obj; headers: Headers }> {
  return getJson(url, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

export function allRunning(n: number): (tasks: Obj[]) => boolean {
  return (tasks) => tasks.length === n && tasks.every((t) => t['state'] === 'TASK_RUNNING');
}
