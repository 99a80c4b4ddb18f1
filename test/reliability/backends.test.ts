/**
 * Backend faults through pacer's proxy (issue #8, "Reliability and security"): backends that
 * refuse connects, never accept them, accept and hang, reset or close mid-response, answer slowly,
 * half-close or stop reading, flap healthy/unhealthy, answer garbage framing; UDP backends that
 * answer ICMP port unreachable or stop answering. In TCP mode, HTTP mode on service ports and
 * HTTP through the virtual-host listener.
 *
 * One Marathon emulator and one pacer process (real processes, loopback only). Every app is
 * IP-per-task with `backend: 'none'`, so each task gets its own 127.0.x.y and the test puts a
 * fault backend of its choosing on `thatIP:containerPort` (test/reliability/fault-backends.ts).
 * pacer runs with short timeouts: connect 0.3 s, idle 1 s, request 2 s, drain 1 s. At the end,
 * pacer's open file descriptors and its open-connection and UDP-flow gauges are back to where
 * they were before any traffic.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, metric, startEmulator, startPacer, waitFor, within, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import { rawConnect } from '../helpers/raw-socket.ts';
import { freePort } from '../helpers/ports.ts';
import { http as httpVia, pacerArgs, tcpFirstLine, type HttpAnswer } from '../proxy/helpers.ts';
import { FRAMING, startFault, type FaultBackend, type FaultKind } from './fault-backends.ts';

type Mode = 'http' | 'tcp' | 'udp';

interface Scenario {
  readonly id: string;
  readonly mode: Mode;
  readonly kinds: readonly FaultKind[];
  readonly vhost?: string;
  readonly health?: boolean;
  /** The service port pacer listens on. */
  port: number;
  /** One per task, in the order of `kinds`. */
  backends: FaultBackend[];
  taskIds: string[];
}

function scenario(id: string, mode: Mode, kinds: readonly FaultKind[], extra: { vhost?: string; health?: boolean } = {}): Scenario {
  return { id, mode, kinds, ...extra, port: 0, backends: [], taskIds: [] };
}

const S = {
  refuseHttp: scenario('/r/refuse-http', 'http', ['http', 'refuse'], { vhost: 'refuse.reliability.test' }),
  refuseTcp: scenario('/r/refuse-tcp', 'tcp', ['tcp', 'refuse']),
  refuseAllHttp: scenario('/r/refuse-all-http', 'http', ['refuse', 'refuse']),
  refuseAllTcp: scenario('/r/refuse-all-tcp', 'tcp', ['refuse', 'refuse']),
  blackholeHttp: scenario('/r/blackhole-http', 'http', ['blackhole', 'http']),
  blackholeTcp: scenario('/r/blackhole-tcp', 'tcp', ['blackhole', 'tcp']),
  hangHttp: scenario('/r/hang-http', 'http', ['hang']),
  hangMixHttp: scenario('/r/hang-mix-http', 'http', ['http', 'hang']),
  scriptHttp: scenario('/r/script-http', 'http', ['http'], { vhost: 'script.reliability.test' }),
  scriptTcp: scenario('/r/script-tcp', 'tcp', ['tcp']),
  tcpHang: scenario('/r/tcp-hang', 'tcp', ['tcp']),
  tcpSlow: scenario('/r/tcp-slow', 'tcp', ['tcp']),
  tcpFin: scenario('/r/tcp-fin', 'tcp', ['tcp']),
  tcpNoread: scenario('/r/tcp-noread', 'tcp', ['tcp']),
  httpNoread: scenario('/r/http-noread', 'http', ['http']),
  slowClient: scenario('/r/slow-client', 'http', ['http']),
  flapHttp: scenario('/r/flap-http', 'http', ['http', 'http'], { health: true }),
  flapTcp: scenario('/r/flap-tcp', 'tcp', ['tcp', 'tcp'], { health: true }),
  udpRefuse: scenario('/r/udp-refuse', 'udp', ['udp-echo', 'udp-refuse']),
  udpSilent: scenario('/r/udp-silent', 'udp', ['udp-silent']),
};
const ALL: readonly Scenario[] = Object.values(S);

let emulator: EmulatorProc;
let pacer: PacerProc;
let httpPort: number;
let baselineFds = 0;

const service = (s: Scenario): string => `${s.id}:0`;
const url = (s: Scenario, path = '/'): string => `http://127.0.0.1:${s.port}${path}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** A first line the scripted TCP backend does not know: it greets with its name and echoes. */
const GREET = 'hello\n';

function appDefinition(s: Scenario, containerPort: number): object {
  return {
    id: s.id,
    instances: s.kinds.length,
    cmd: 'serve',
    labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: s.mode === 'http' ? 'http' : 'tcp', ...(s.vhost ? { HAPROXY_0_VHOST: s.vhost } : {}) },
    container: { type: 'MESOS', portMappings: [{ containerPort, servicePort: s.port, protocol: s.mode === 'udp' ? 'udp' : 'tcp', name: 'p' }] },
    networks: [{ mode: 'container', name: 'overlay' }],
    ...(s.health ? { healthChecks: [{ protocol: 'HTTP', portIndex: 0, path: '/', gracePeriodSeconds: 1, intervalSeconds: 1, maxConsecutiveFailures: 1 }] } : {}),
  };
}

interface EmuTask {
  id: string;
  state: string;
  ipAddresses?: { ipAddress: string }[];
}

function pacerFds(): number {
  return readdirSync(`/proc/${pacer.child.pid}/fd`).length;
}

async function backendUp(s: Scenario, b: FaultBackend): Promise<number> {
  return metric(pacer.admin, 'pacer_backend_up', { service: service(s), backend: b.name });
}

beforeAll(async () => {
  const containerPort = await freePort();
  httpPort = await freePort();
  emulator = await startEmulator(['--keepalive-ms', '1000']);
  for (const s of ALL) {
    s.port = await freePort();
    await emulator.post('/apps', { app: appDefinition(s, containerPort), backend: 'none' });
  }
  for (const s of ALL) {
    const tasks = await waitFor(`${s.id} to run ${s.kinds.length} tasks`, async () => {
      const { body } = await getJson<{ app: { tasks: EmuTask[] } }>(`${emulator.leader}/v2/apps${s.id}`);
      const ts = body.app.tasks;
      return ts.length === s.kinds.length && ts.every((t) => t.state === 'TASK_RUNNING' && t.ipAddresses?.[0]) ? ts : undefined;
    }, 15_000);
    tasks.sort((a, b) => (a.id < b.id ? -1 : 1));
    s.taskIds = tasks.map((t) => t.id);
    s.backends = await Promise.all(tasks.map((t, i) => startFault(s.kinds[i]!, t.ipAddresses![0]!.ipAddress, containerPort)));
  }
  pacer = await startPacer(
    pacerArgs(emulator.leader, httpPort, 0, [
      '--proxy-connect-timeout', '0.3',
      '--proxy-idle-timeout', '1',
      '--proxy-request-timeout', '2',
      '--drain-timeout', '1',
    ]),
  );
  await waitFor('pacer to open every listener and route to every backend', async () => {
    const { body } = await getJson<{ listeners: { listener: string }[] }>(`${pacer.admin}/proxy/listeners`);
    const open = new Set(body.listeners.map((l) => l.listener));
    for (const s of ALL) if (!open.has(`${s.mode === 'udp' ? 'udp' : 'tcp'} 127.0.0.1:${s.port}`)) return undefined;
    for (const s of ALL) {
      if (s.mode === 'udp') continue;
      for (const b of s.backends) if ((await backendUp(s, b)) !== 1) return undefined;
    }
    return true;
  }, 15_000);
  baselineFds = pacerFds();
}, 60_000);

afterAll(async () => {
  if (!agent.closed) await agent.close();
  await pacer?.stop();
  await emulator?.stop();
  await Promise.all(ALL.flatMap((s) => s.backends.map((b) => b.close())));
});

// -- clients ----------------------------------------------------------------------------------

/**
 * The test's HTTP clients keep connections alive for 1 s at most (undici otherwise follows the
 * server's `Keep-Alive: timeout=30` hint), and are closed before pacer's fds are counted.
 */
const agent = new Agent({ keepAliveTimeout: 1_000, keepAliveMaxTimeout: 1_000, connections: 8 });

function http(target: string, options: Parameters<typeof httpVia>[1] = {}): Promise<HttpAnswer> {
  return httpVia(target, { dispatcher: agent, ...options });
}

interface RawResult {
  /** Everything received, latin1. */
  readonly text: string;
  /** The connection closed (FIN or RST) within the wait. */
  readonly closed: boolean;
}

/** Send `payload` on a new connection and collect what comes back until the connection closes. */
async function rawExchange(port: number, payload: string, timeoutMs = 10_000): Promise<RawResult> {
  const c = await rawConnect(port);
  c.write(payload);
  const closed = await c.closed(timeoutMs).then(
    () => true,
    () => false,
  );
  c.destroy();
  return { text: c.data(), closed };
}

/** Split a raw HTTP/1.1 response: status, lower-cased head, body bytes as received. */
function parseRaw(text: string): { status: number; head: string; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  return { status: Number(head.slice(9, 12)), head: head.toLowerCase(), body: end === -1 ? '' : text.slice(end + 4) };
}

/** A TCP client that can half-close and watch for the other side's FIN and close. */
const tcpClient = (port: number) => rawConnect(port, { allowHalfOpen: true });

const sequential = async (n: number, f: (i: number) => Promise<HttpAnswer>): Promise<HttpAnswer[]> => {
  const out: HttpAnswer[] = [];
  for (let i = 0; i < n; i++) out.push(await f(i));
  return out;
};

/** Paths after which a connection must never carry another request. */
const BREAKING = new Set(['/reset-mid', '/fin-mid', '/reset-chunked', '/bad-chunk-later', '/reset-before', '/fin-before', '/drop-reused', ...Object.keys(FRAMING)]);

/** Connections that carried a request after one that broke them (should be none). */
function reusedAfterBreak(b: FaultBackend): string[][] {
  // `/drop-reused` breaks only a connection it was not the first request of.
  return b.log.filter((paths) => paths.slice(0, -1).some((p, i) => BREAKING.has(p) && !(p === '/drop-reused' && i === 0)));
}

/** pacer's open connections of a service (TCP: client connections; HTTP: requests in flight). */
function openConnections(s: Scenario): Promise<number> {
  return metric(pacer.admin, 'pacer_service_open_connections', { service: service(s) });
}

// -- refused connects ---------------------------------------------------------------------------

describe('a backend that refuses connects', () => {
  it('HTTP (service port and vhost, GET and POST): every request is answered by the other backend; the refusing one is ejected', async () => {
    const s = S.refuseHttp;
    const [ok, refusing] = s.backends as [FaultBackend, FaultBackend];
    // POSTs with a body first, through the vhost listener: a refused connect sent nothing, so even
    // a request with a body goes to the next backend.
    const posts = await sequential(4, () => http(`http://127.0.0.1:${httpPort}/post`, { host: s.vhost, method: 'POST', body: 'payload' }));
    const gets = await sequential(8, () => http(url(s)));
    for (const a of [...posts, ...gets]) expect([a.status, a.body]).toEqual([200, `${ok.name}\n`]);
    expect(ok.seen.get('/post')).toBe(4);
    expect(await metric(pacer.admin, 'pacer_backend_ejections_total', { service: service(s), backend: refusing.name })).toBe(1);
    expect(await backendUp(s, refusing)).toBe(0);
    expect(await backendUp(s, ok)).toBe(1);
    const errors = await metric(pacer.admin, 'pacer_backend_connect_errors_total', { service: service(s), backend: refusing.name });
    expect(errors).toBe(3);
    expect(await metric(pacer.admin, 'pacer_service_retries_total', { service: service(s) })).toBe(3);
    // Ejected: it is not even tried any more.
    for (const a of await sequential(6, () => http(url(s)))) expect(a.status).toBe(200);
    expect(await metric(pacer.admin, 'pacer_backend_connect_errors_total', { service: service(s), backend: refusing.name })).toBe(errors);
  });

  it('TCP: every connection reaches the other backend; the refusing one is ejected', async () => {
    const s = S.refuseTcp;
    const [echo, refusing] = s.backends as [FaultBackend, FaultBackend];
    for (let i = 0; i < 8; i++) expect(await tcpFirstLine(s.port, undefined, undefined, GREET)).toBe(echo.name);
    expect(await metric(pacer.admin, 'pacer_backend_ejections_total', { service: service(s), backend: refusing.name })).toBe(1);
    expect(await backendUp(s, refusing)).toBe(0);
    expect(await metric(pacer.admin, 'pacer_backend_connect_errors_total', { service: service(s), backend: refusing.name })).toBe(3);
  });

  it('HTTP: 503 with a clear body when no backend accepts', async () => {
    const s = S.refuseAllHttp;
    for (const method of ['GET', 'POST']) {
      const a = await http(url(s), { method, body: method === 'POST' ? 'x' : undefined });
      expect([a.status, a.body]).toEqual([503, 'no backend could be reached\n']);
    }
  });

  it('TCP: the client is closed without a byte when no backend accepts', async () => {
    const s = S.refuseAllTcp;
    const r = await rawExchange(s.port, 'hello\n', 5_000);
    expect(r).toEqual({ text: '', closed: true });
  });
});

// -- reset or close mid-response ----------------------------------------------------------------

describe('a backend that breaks its answer midway', () => {
  const viaPort = (path: string): Promise<RawResult> => rawExchange(S.scriptHttp.port, `GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`);
  const viaVhost = (path: string): Promise<RawResult> => rawExchange(httpPort, `GET ${path} HTTP/1.1\r\nhost: ${S.scriptHttp.vhost}\r\n\r\n`);

  for (const [what, send] of [['service port', viaPort], ['vhost listener', viaVhost]] as const) {
    it(`HTTP (${what}): reset or FIN after 100 of 1000 bytes: the client's connection closes short of Content-Length`, async () => {
      for (const path of ['/reset-mid', '/fin-mid']) {
        const r = await send(path);
        const { status, head, body } = parseRaw(r.text);
        expect(r.closed, path).toBe(true);
        expect(status, path).toBe(200);
        expect(head, path).toContain('content-length: 1000');
        expect(body.length, path).toBeLessThan(1000);
      }
    });

    it(`HTTP (${what}): reset, or an invalid chunk size, in a chunked answer: the client never gets the last chunk`, async () => {
      for (const path of ['/reset-chunked', '/bad-chunk-later']) {
        const r = await send(path);
        const { status, head, body } = parseRaw(r.text);
        expect(r.closed, path).toBe(true);
        expect(status, path).toBe(200);
        expect(head, path).toContain('transfer-encoding: chunked');
        expect(body, path).toContain('x'.repeat(100));
        expect(body, path).not.toContain('not a chunk');
        expect(body, path).not.toMatch(/(^|\r\n)0\r\n\r\n$/);
      }
    });
  }

  it('HTTP: reset or FIN before any response byte is a 502; a POST is sent once', async () => {
    const b = S.scriptHttp.backends[0]!;
    for (const path of ['/reset-before', '/fin-before']) {
      const before = b.seen.get(path) ?? 0;
      const a = await http(url(S.scriptHttp, path), { method: 'POST', body: 'once' });
      expect([a.status, a.body], path).toEqual([502, 'bad gateway: the backend failed to answer\n']);
      expect(b.seen.get(path), path).toBe(before + 1);
    }
  });

  it('HTTP: a kept-alive connection the backend closed as the request arrived: a GET is retried on a fresh connection (even with one backend), a POST is not', async () => {
    const s = S.scriptHttp;
    const b = s.backends[0]!;
    const before = b.seen.get('/drop-reused') ?? 0;
    // Leave three idle kept-alive connections in pacer's pool, then use one: the backend closes
    // it. The retry goes on a new connection, not on the next idle one (which it would close too).
    for (const a of await Promise.all([1, 2, 3].map(() => http(url(s))))) expect(a.status).toBe(200);
    const get = await http(url(s, '/drop-reused'));
    expect([get.status, get.body]).toEqual([200, 'fresh\n']);
    expect(b.seen.get('/drop-reused')).toBe(before + 2);
    expect((await http(url(s))).status).toBe(200);
    const post = await http(url(s, '/drop-reused'), { method: 'POST' });
    expect([post.status, post.body]).toEqual([502, 'bad gateway: the backend failed to answer\n']);
    expect(b.seen.get('/drop-reused')).toBe(before + 3);
  });

  it('TCP: a reset after some bytes closes the client connection', async () => {
    const r = await rawExchange(S.scriptTcp.port, 'reset\n', 10_000);
    expect(r).toEqual({ text: 'partial', closed: true });
  });

  it('no upstream connection carried a request after one that broke it', () => {
    expect(reusedAfterBreak(S.scriptHttp.backends[0]!)).toEqual([]);
  });
});

describe('invalid response framing', () => {
  it('Content-Length with Transfer-Encoding, differing Content-Lengths, an invalid chunk size, a bare CR: 502, the connection not reused', async () => {
    const s = S.scriptHttp;
    const b = s.backends[0]!;
    for (const path of Object.keys(FRAMING)) {
      const before = b.seen.get(path) ?? 0;
      const a = await http(url(s, path));
      expect([a.status, a.body], path).toEqual([502, 'bad gateway: invalid response from the backend\n']);
      expect(b.seen.get(path), path).toBe(before + 1);
      // The next request is served (on another connection: checked below).
      expect((await http(url(s))).status, path).toBe(200);
    }
    expect(reusedAfterBreak(b)).toEqual([]);
  });
});

// -- faults that show only after a timeout: side by side, each on its own service -------------

describe.concurrent('faults that take a timeout to show (run side by side)', () => {
  describe('a backend whose connects hang (SYNs dropped)', () => {
    it('HTTP: --proxy-connect-timeout bounds the connect, the request goes to the other backend', async ({ expect }) => {
      const s = S.blackholeHttp;
      const [hole, ok] = s.backends as [FaultBackend, FaultBackend];
      for (const a of await sequential(6, () => http(url(s), { method: 'POST', body: 'x' }))) expect([a.status, a.body]).toEqual([200, `${ok.name}\n`]);
      expect(await metric(pacer.admin, 'pacer_backend_connect_errors_total', { service: service(s), backend: hole.name })).toBeGreaterThanOrEqual(1);
    });

    it('TCP: the same', async ({ expect }) => {
      const s = S.blackholeTcp;
      const [hole, echo] = s.backends as [FaultBackend, FaultBackend];
      for (let i = 0; i < 6; i++) expect(await tcpFirstLine(s.port, undefined, undefined, GREET)).toBe(echo.name);
      expect(await metric(pacer.admin, 'pacer_backend_connect_errors_total', { service: service(s), backend: hole.name })).toBeGreaterThanOrEqual(1);
    });
  });

  // -- accept, then hang --------------------------------------------------------------------------

  describe('a backend that accepts and never answers', () => {
    it('HTTP: 504 after the idle timeout, GET and POST each sent once, the upstream connections closed', async ({ expect }) => {
      const s = S.hangHttp;
      const hang = s.backends[0]!;
      const [get, post] = await within(Promise.all([http(url(s)), http(url(s), { method: 'POST', body: 'once' })]), 10_000, 'the two 504s');
      expect([get.status, get.body]).toEqual([504, 'backend timed out\n']);
      expect([post.status, post.body]).toEqual([504, 'backend timed out\n']);
      expect(hang.connections).toBe(2);
      await waitFor('pacer to close its connections to the hanging backend', () => (hang.open.size === 0 ? true : undefined), 5_000);
    });

    it('HTTP: beside a healthy backend, it is ejected after 3 timeouts and the rest is served', async ({ expect }) => {
      const s = S.hangMixHttp;
      const [ok, hang] = s.backends as [FaultBackend, FaultBackend];
      const first = await Promise.all(Array.from({ length: 6 }, () => http(url(s))));
      const statuses = first.map((a) => a.status).sort();
      expect(statuses).toEqual([200, 200, 200, 504, 504, 504]);
      expect(hang.connections).toBe(3); // no retries
      expect(await metric(pacer.admin, 'pacer_backend_ejections_total', { service: service(s), backend: hang.name })).toBe(1);
      const second = await Promise.all(Array.from({ length: 6 }, () => http(url(s))));
      for (const a of second) expect([a.status, a.body]).toEqual([200, `${ok.name}\n`]);
    });

    it('HTTP: a client that stops sending its body gets a 504, and does not get the backend ejected', async ({ expect }) => {
      const s = S.slowClient;
      const b = s.backends[0]!;
      // Three requests whose bodies stop halfway: the backend waits for the rest, pacer's idle
      // timeout ends each exchange. Not the backend's failure: no ejection.
      const answers = await Promise.all(
        [1, 2, 3].map(async () => {
          const c = await rawConnect(s.port);
          c.write(`POST /hang HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n${'x'.repeat(10)}`);
          await c.until((text) => text.includes('\r\n\r\n'), 10_000, 'an answer');
          c.destroy();
          return parseRaw(c.data()).status;
        }),
      );
      expect(answers).toEqual([504, 504, 504]);
      expect(b.seen.get('/hang')).toBe(3);
      expect(await metric(pacer.admin, 'pacer_backend_ejections_total', { service: service(s), backend: b.name })).toBe(0);
      expect(await backendUp(s, b)).toBe(1);
    });

    it('TCP: pacer closes both sides after the idle timeout', async ({ expect }) => {
      const s = S.tcpHang;
      const b = s.backends[0]!;
      const before = b.seen.get('hang') ?? 0;
      const c = await tcpClient(s.port);
      c.socket.write('hang\n');
      await waitFor('the backend to get the command', () => (b.seen.get('hang') === before + 1 ? true : undefined), 5_000);
      expect(await openConnections(s)).toBe(1);
      await waitFor('pacer to close the client side (FIN)', () => (c.ended() ? true : undefined), 10_000);
      await waitFor('pacer to close the backend side (FIN)', () => (b.open.size === 0 ? true : undefined), 5_000);
      await waitFor('the connection to leave the gauge', async () => ((await openConnections(s)) === 0 ? true : undefined), 5_000);
      expect(c.data()).toBe('');
      c.socket.destroy();
    });
  });

  // -- slow backends ------------------------------------------------------------------------------

  describe('a slow backend within the timeouts', () => {
    it('HTTP: an answer that takes longer than the idle timeout, in gaps shorter than it, arrives whole (service port and vhost)', async ({ expect }) => {
      const s = S.scriptHttp;
      const [direct, vhost] = await Promise.all([http(url(s, '/slow')), http(`http://127.0.0.1:${httpPort}/slow`, { host: s.vhost })]);
      for (const a of [direct, vhost]) expect([a.status, a.body]).toEqual([200, 'slow-piece\n'.repeat(4)]);
    });

    it('TCP: the same, and the connection goes on', async ({ expect }) => {
      const c = await tcpClient(S.tcpSlow.port);
      c.socket.write('slow\n');
      await waitFor('the slow answer', () => (c.data() === 'abcd\n' ? true : undefined), 10_000);
      c.socket.write('ping\n');
      await waitFor('the echo', () => (c.data() === 'abcd\nping\n' ? true : undefined), 5_000);
      c.socket.end();
      await c.closed(5_000);
    });
  });

  // -- half-open ----------------------------------------------------------------------------------

  describe('half-open backends', () => {
    it('TCP: a backend FIN reaches the client, which can still send; both sides are closed after the idle timeout', async ({ expect }) => {
      const s = S.tcpFin;
      const b = s.backends[0]!;
      const c = await tcpClient(s.port);
      c.socket.write('fin\n');
      await waitFor('the FIN', () => (c.data() === 'bye\n' && c.ended() ? true : undefined), 5_000);
      c.socket.write('more\n');
      await waitFor('the backend to read after its FIN', () => (b.seen.get('after-fin:more') === 1 ? true : undefined), 5_000);
      expect(await openConnections(s)).toBe(1);
      // The client keeps its side open and says nothing: the idle timeout closes both.
      await waitFor('the connection to leave the gauge (pacer closed both sides)', async () => ((await openConnections(s)) === 0 ? true : undefined), 10_000);
      await waitFor('the backend to see pacer close its side', () => (b.open.size === 0 ? true : undefined), 5_000);
      c.socket.end();
      await c.closed(5_000);
    });

    it('TCP: a backend that stops reading: pacer closes both sides after the idle timeout', async ({ expect }) => {
      const s = S.tcpNoread;
      const c = await tcpClient(s.port);
      c.socket.write('noread\n');
      await waitFor('the greeting', () => (c.data() === 'stuck\n' ? true : undefined), 5_000);
      const block = Buffer.alloc(1 << 20, 120);
      // Fill every buffer on the way: the client's writes stall.
      for (let i = 0; i < 64 && c.socket.write(block); i++);
      expect(await openConnections(s)).toBe(1);
      // The backend reads nothing, so it cannot see pacer's FIN: pacer's side is what counts.
      await waitFor('the connection to leave the gauge (pacer closed both sides)', async () => ((await openConnections(s)) === 0 ? true : undefined), 10_000);
      await c.closed(10_000);
    });

    it('HTTP: a backend that stops reading a request body: 504 after the idle timeout', async ({ expect }) => {
      const s = S.httpNoread;
      const size = 32 << 20;
      // Not rawConnect: written before the connection is up, the body stops at the first 1 MB block
      // (the socket's own buffer is full). On a connected socket the kernel takes about 4 MB, and
      // pacer answered 408 at its 2 s request timeout rather than 504 in runs beside another suite
      // (not explained yet).
      const socket = connect({ host: '127.0.0.1', port: s.port });
      socket.on('error', () => undefined);
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      socket.write(`POST /noread HTTP/1.1\r\nhost: x\r\ncontent-length: ${size}\r\n\r\n`);
      const block = Buffer.alloc(1 << 20, 120);
      for (let i = 0; i < 32 && socket.write(block); i++);
      await waitFor('the 504', () => (text.includes('\r\n\r\n') ? true : undefined), 10_000);
      expect(parseRaw(text).status).toBe(504);
      socket.destroy();
      await closed;
    });
  });

  // -- flapping -----------------------------------------------------------------------------------

  describe('a backend flapping healthy/unhealthy every second', () => {
    it('HTTP and TCP: steady traffic sees no failure; the flapping backend gets new traffic only while healthy', async ({ expect }) => {
      const victims = [S.flapHttp, S.flapTcp].map((s) => ({ s, task: s.taskIds[0]!, backend: s.backends[0]! }));
      const records: { start: number; kind: string; backend: string }[] = [];
      const failures: string[] = [];
      let running = true;
      const flapAgent = new Agent({ keepAliveTimeout: 10_000, connections: 2 });
      const httpWorker = async (): Promise<void> => {
        while (running) {
          const start = performance.now();
          try {
            const a = await http(url(S.flapHttp), { dispatcher: flapAgent });
            if (a.status === 200) records.push({ start, kind: 'http', backend: a.body.trim() });
            else failures.push(`http ${a.status} ${a.body.trim()}`);
          } catch (error) {
            failures.push(`http ${String(error)}`);
          }
        }
      };
      const tcpWorker = async (): Promise<void> => {
        while (running) {
          const start = performance.now();
          try {
            records.push({ start, kind: 'tcp', backend: await tcpFirstLine(S.flapTcp.port, undefined, undefined, GREET) });
          } catch (error) {
            failures.push(`tcp ${String(error)}`);
          }
        }
      };
      const workers = [httpWorker(), httpWorker(), tcpWorker()];
      const up = async (): Promise<number> => (await Promise.all(victims.map((v) => backendUp(v.s, v.backend)))).reduce((a, b) => a + b, 0);
      /** [pacer showed the victims down, the test asked for them healthy again) */
      const downWindows: [number, number][] = [];
      try {
        let downSince = 0;
        for (let i = 0; i < 4; i++) {
          const t0 = performance.now();
          const alive = i % 2 === 1;
          if (alive) downWindows.push([downSince, performance.now()]);
          await Promise.all(victims.map((v) => emulator.post(`/tasks/${v.task}/health`, { alive })));
          await waitFor(`pacer to see the flapping backends ${alive ? 'up' : 'down'}`, async () => ((await up()) === (alive ? 2 : 0) ? true : undefined), 5_000);
          if (!alive) downSince = performance.now();
          await sleep(Math.max(0, 1_000 - (performance.now() - t0)));
        }
      } finally {
        running = false;
        await Promise.all(workers);
        await flapAgent.close();
      }
      expect(failures).toEqual([]);
      const victimNames = new Set(victims.map((v) => v.backend.name));
      const inWindow = (t: number): boolean => downWindows.some(([from, to]) => t >= from && t < to);
      expect(records.filter((r) => victimNames.has(r.backend) && inWindow(r.start))).toEqual([]);
      // It took traffic again once healthy, and the other backends served throughout.
      for (const kind of ['http', 'tcp']) {
        const after = records.filter((r) => r.kind === kind && r.start >= downWindows[0]![1]);
        expect(after.some((r) => victimNames.has(r.backend)), kind).toBe(true);
        expect(records.filter((r) => r.kind === kind && inWindow(r.start)).length, kind).toBeGreaterThan(0);
      }
    });
  });

  // -- UDP ----------------------------------------------------------------------------------------

  /** Send `payload` from `socket` to the service port; the reply, or undefined after `ms`. */
  function udpAsk(socket: dgram.Socket, port: number, payload: string, ms: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      const onMessage = (msg: Buffer): void => {
        clearTimeout(timer);
        resolve(msg.toString());
      };
      const timer = setTimeout(() => {
        socket.off('message', onMessage);
        resolve(undefined);
      }, ms);
      socket.once('message', onMessage);
      socket.send(payload, port, '127.0.0.1');
    });
  }

  describe('UDP backends', () => {
    it('a backend that answers ICMP port unreachable: new flows skip it after its first refusal', async ({ expect }) => {
      const s = S.udpRefuse;
      const echo = s.backends[0]!;
      let lost = 0;
      for (let i = 0; i < 8; i++) {
        const socket = dgram.createSocket('udp4');
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
        let reply = await udpAsk(socket, s.port, `hello ${i}`, 1_000);
        if (reply === undefined) {
          lost++;
          reply = await udpAsk(socket, s.port, `hello ${i}`, 2_000);
        }
        socket.close();
        expect(reply).toBe(`${echo.name} hello ${i}`);
      }
      expect(lost).toBeLessThanOrEqual(1);
    });

    it('a backend that stops answering: its flow expires after the idle timeout', async ({ expect }) => {
      const s = S.udpSilent;
      const silent = s.backends[0]!;
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      socket.send('anyone?', s.port, '127.0.0.1');
      await waitFor('the datagram to reach the silent backend', () => (silent.seen.get('udp') === 1 ? true : undefined), 5_000);
      await waitFor('the flow to show', async () => ((await metric(pacer.admin, 'pacer_udp_flows', { service: service(s) })) === 1 ? true : undefined), 5_000);
      await waitFor('the flow to expire', async () => ((await metric(pacer.admin, 'pacer_udp_flows', { service: service(s) })) === 0 ? true : undefined), 10_000);
      socket.close();
    });
  });
});

// -- leaks --------------------------------------------------------------------------------------

describe('after all of it', () => {
  it("pacer's open file descriptors, open connections and UDP flows are back to the baseline", async () => {
    // The clients' idle keep-alive connections are theirs to close, not a leak of pacer's.
    await agent.close();
    const gauges = async (): Promise<number> => (await metric(pacer.admin, 'pacer_service_open_connections')) + (await metric(pacer.admin, 'pacer_udp_flows'));
    await waitFor('the open-connection and flow gauges to reach 0', async () => ((await gauges()) === 0 ? true : undefined), 10_000);
    const t0 = Date.now();
    const trace: string[] = [];
    await waitFor(`pacer's fds to return to ${baselineFds}`, () => {
      const n = pacerFds();
      trace.push(`${Date.now() - t0}:${n}`);
      return n <= baselineFds ? true : undefined;
    }, 10_000, 200).catch((error: unknown) => {
      // What pacer still holds, for the failure message.
      const sockets = execFileSync('ss', ['-tuanp']).toString().split('\n').filter((l) => l.includes(`pid=${pacer.child.pid},`));
      throw new Error(`${String(error)} (fds over time: ${trace.join(' ')})\n${sockets.join('\n')}`);
    });
  });
});
