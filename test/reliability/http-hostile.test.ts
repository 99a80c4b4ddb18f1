/**
 * Hostile HTTP input against a real pacer fed by the emulator, with raw `net` sockets as clients
 * and a recording backend with a strict parser of its own (test/reliability/http-helpers.ts).
 *
 * Both kinds of HTTP listener are attacked: the shared virtual-host listener (`--http-port`, an
 * app with `HAPROXY_0_VHOST`) and an HTTP-mode service port (`HAPROXY_0_MODE=http`). Covered:
 * request smuggling (every vector is answered 400/501/505 on a keep-alive connection that then
 * closes, and the request pipelined behind it never reaches the backend), bodies re-framed
 * unambiguously, bad upstream answers (502, the upstream connection not reused), oversized heads
 * (431), slow clients (cut by the header/request timeouts while others are served, TLS handshakes
 * included) and the admin server's share of the same.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import { selfSigned } from '../helpers/tls.ts';
import { freePorts, pacerArgs } from '../proxy/helpers.ts';
import { originTarget, requestRefusal } from '../../src/proxy/http/headers.ts';
import { eventually, rawConnect, recordingBackend, statusLines, type RawConn, type RecordingBackend } from './http-helpers.ts';

const VHOST = 'hostile.test';
/** The request timeout pacer runs with (seconds); the header timeout is the same. */
const REQUEST_TIMEOUT_S = 2;
const MAX_HEADER = 8_192;

let emulator: EmulatorProc;
let pacer: PacerProc;
let backend: RecordingBackend;
let dir: string;
let httpPort: number;
let httpsPort: number;
let apiPort: number;
let tlsPort: number;
let adminPort: number;
let authPort: number;

/** Bad upstream answers, by the path `/bad/<kind>/…` that asks for them (the backend then keeps the connection open). */
const BAD_ANSWERS: Record<string, string> = {
  'cl-te': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'dup-cl': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
  'negative-cl': 'HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello',
  'bad-chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
  'chunk-overflow': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n',
  'bare-cr': 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 5\r\n\r\nhello',
  'bare-cr-status': 'HTTP/1.1 200 O\rK\r\nContent-Length: 5\r\n\r\nhello',
  'huge-head': `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\nContent-Length: 5\r\n\r\nhello`,
  'extra-response': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\npoisoned',
};

/** One GET on a fresh connection; resolves with the raw answer once complete (content-length framed). */
async function get(port: number, host: string, path: string): Promise<string> {
  const c = await rawConnect(port);
  c.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  const data = await c.closed(5_000);
  c.destroy();
  return data;
}

interface Target {
  readonly name: string;
  port(): number;
  readonly host: string;
}

const TARGETS: readonly Target[] = [
  { name: 'vhost listener', port: () => httpPort, host: VHOST },
  { name: 'http-mode service port', port: () => apiPort, host: 'api.example' },
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pacer-hostile-'));
  const pem = selfSigned(dir, VHOST, 'ec');
  const ports = await freePorts(10);
  const [webPort, backendWeb, backendApi, backendTls, backendAuth] = ports as [number, number, number, number, number];
  [httpPort, httpsPort, apiPort, tlsPort, authPort] = ports.slice(5) as [number, number, number, number, number];
  backend = await recordingBackend([backendWeb, backendApi, backendTls, backendAuth], (req) => {
    const m = /^\/bad\/([\w-]+)\//.exec(req.target);
    return m ? BAD_ANSWERS[m[1]!] : undefined;
  });
  emulator = await startEmulator(['--keepalive-ms', '1000']);
  // Each app's task is the recording backend: requirePorts pins the task port, HAPROXY_0_PORT the listener.
  const base = { cmd: 'serve', instances: 1, requirePorts: true };
  await emulator.post('/apps', {
    app: { ...base, id: '/hostile/web', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: VHOST, HAPROXY_0_PORT: String(webPort) }, portDefinitions: [{ port: backendWeb }] },
    backend: 'none',
  });
  await emulator.post('/apps', {
    app: { ...base, id: '/hostile/api', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'http', HAPROXY_0_PORT: String(apiPort) }, portDefinitions: [{ port: backendApi }] },
    backend: 'none',
  });
  await emulator.post('/apps', {
    app: { ...base, id: '/hostile/tls', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'http', HAPROXY_0_PORT: String(tlsPort), HAPROXY_0_SSL_CERT: pem }, portDefinitions: [{ port: backendTls }] },
    backend: 'none',
  });
  const hash = execFileSync('openssl', ['passwd', '-5', '-salt', 'hostile', 's3cret'], { encoding: 'utf8' }).trim();
  await emulator.post('/apps', {
    app: { ...base, id: '/hostile/auth', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'http', HAPROXY_0_PORT: String(authPort), HAPROXY_0_AUTH: `private:alice:${hash}` }, portDefinitions: [{ port: backendAuth }] },
    backend: 'none',
  });
  pacer = await startPacer(
    pacerArgs(emulator.leader, httpPort, httpsPort, ['--tls-cert', pem, '--proxy-request-timeout', String(REQUEST_TIMEOUT_S), '--max-header-size', String(MAX_HEADER)]),
  );
  adminPort = Number(new URL(pacer.admin).port);
  for (const t of TARGETS) {
    await waitFor(`pacer to route the ${t.name}`, async () => ((await get(t.port(), t.host, '/ready')).startsWith('HTTP/1.1 200') ? true : undefined), 10_000, 50);
  }
}, 30_000);

afterAll(async () => {
  await pacer?.stop();
  await emulator?.stop();
  await backend?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Vector {
  readonly name: string;
  /** The attack; `{H}` is the Host, `{P}` the request path. */
  readonly bytes: string;
  /** The answer pacer gives (the connection is closed after it). */
  readonly status: 400 | 431 | 501 | 505;
  /** Who refuses it: node:http (its strict parser llhttp, or its header limits) or pacer's own checks (headers.ts). */
  readonly by: 'node' | 'pacer';
  /** The head is valid and goes upstream before the bad body bytes are parsed (bodies stream). */
  readonly badBody?: true;
}

const post = (headers: string, body: string, version = '1.1'): string => `POST {P} HTTP/${version}\r\nHost: {H}\r\n${headers}\r\n${body}`;
const CHUNKED = 'Transfer-Encoding: chunked\r\n';

const VECTORS: readonly Vector[] = [
  { name: 'Content-Length then Transfer-Encoding', bytes: post(`Content-Length: 4\r\n${CHUNKED}`, '0\r\n\r\n'), status: 400, by: 'node' },
  { name: 'Transfer-Encoding then Content-Length', bytes: post(`${CHUNKED}Content-Length: 4\r\n`, '0\r\n\r\n'), status: 400, by: 'node' },
  { name: 'duplicate Content-Length, same value', bytes: post('Content-Length: 3\r\nContent-Length: 3\r\n', 'abc'), status: 400, by: 'node' },
  { name: 'duplicate Content-Length, different values', bytes: post('Content-Length: 3\r\nContent-Length: 40\r\n', 'abc'), status: 400, by: 'node' },
  { name: 'Content-Length as a list "3, 3"', bytes: post('Content-Length: 3, 3\r\n', 'abc'), status: 400, by: 'node' },
  { name: 'Content-Length with a sign "+3"', bytes: post('Content-Length: +3\r\n', 'abc'), status: 400, by: 'node' },
  { name: 'Transfer-Encoding: chunked, identity', bytes: post('Transfer-Encoding: chunked, identity\r\n', '3\r\nabc\r\n0\r\n\r\n'), status: 400, by: 'node' },
  // llhttp refuses these only after handing the head over (so the head would go upstream): pacer refuses first.
  { name: 'Transfer-Encoding: xchunked', bytes: post('Transfer-Encoding: xchunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), status: 400, by: 'pacer' },
  { name: 'Transfer-Encoding: identity', bytes: post('Transfer-Encoding: identity\r\n', 'abc'), status: 400, by: 'pacer' },
  { name: 'Transfer-Encoding: chunked twice', bytes: post(`${CHUNKED}${CHUNKED}`, '3\r\nabc\r\n0\r\n\r\n'), status: 400, by: 'node' },
  { name: 'Transfer-Encoding in a folded line', bytes: post('Transfer-Encoding:\r\n chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), status: 400, by: 'node' },
  { name: 'Transfer-Encoding name after whitespace (" Transfer-Encoding")', bytes: post(' Transfer-Encoding: chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), status: 400, by: 'node' },
  { name: 'Transfer-Encoding: gzip, chunked (a coding pacer would drop)', bytes: post('Transfer-Encoding: gzip, chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), status: 501, by: 'pacer' },
  { name: 'obs-fold in an ordinary header', bytes: 'GET {P} HTTP/1.1\r\nHost: {H}\r\nX-A: a\r\n folded\r\n\r\n', status: 400, by: 'node' },
  { name: 'chunk size not hex', bytes: post(CHUNKED, 'zz\r\nabc\r\n0\r\n\r\n'), status: 400, by: 'node', badBody: true },
  { name: 'negative chunk size', bytes: post(CHUNKED, '-3\r\nabc\r\n0\r\n\r\n'), status: 400, by: 'node', badBody: true },
  { name: 'chunk size overflow ffffffffffffffffff', bytes: post(CHUNKED, 'ffffffffffffffffff\r\nabc\r\n0\r\n\r\n'), status: 400, by: 'node', badBody: true },
  { name: 'chunk size 0x3', bytes: post(CHUNKED, '0x3\r\nabc\r\n0\r\n\r\n'), status: 400, by: 'node', badBody: true },
  { name: 'chunk size with whitespace "3 "', bytes: post(CHUNKED, '3 \r\nabc\r\n0\r\n\r\n'), status: 400, by: 'node', badBody: true },
  { name: 'control character in a chunk extension', bytes: post(CHUNKED, '3;\u0001\r\nabc\r\n0\r\n\r\n'), status: 400, by: 'node', badBody: true },
  { name: 'bare LF in a chunk extension', bytes: post(CHUNKED, '3;a\nb\r\nabc\r\n0\r\n\r\n'), status: 400, by: 'node', badBody: true },
  { name: 'missing CRLF after chunk data', bytes: post(CHUNKED, '3\r\nabcX0\r\n\r\n'), status: 400, by: 'node', badBody: true },
  { name: 'bare LF after chunk data', bytes: post(CHUNKED, '3\r\nabc\n0\r\n\r\n'), status: 400, by: 'node', badBody: true },
  { name: 'bare LF after the chunk size', bytes: post(CHUNKED, '3\nabc\r\n0\r\n\r\n'), status: 400, by: 'node', badBody: true },
  { name: 'Content-Length in the trailers', bytes: post(CHUNKED, '3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n'), status: 400, by: 'node', badBody: true },
  { name: 'bare LF in the request line', bytes: 'GET {P} HTTP/1.1\nHost: {H}\r\n\r\n', status: 400, by: 'node' },
  { name: 'bare LF between headers', bytes: 'GET {P} HTTP/1.1\r\nHost: {H}\nX-A: b\r\n\r\n', status: 400, by: 'node' },
  { name: 'bare LF ending the head', bytes: 'GET {P} HTTP/1.1\r\nHost: {H}\r\n\n', status: 400, by: 'node' },
  { name: 'bare CR in the request line', bytes: 'GET {P} HTTP/1.1\rHost: {H}\r\n\r\n', status: 400, by: 'node' },
  { name: 'bare CR between headers', bytes: 'GET {P} HTTP/1.1\r\nHost: {H}\rX-A: b\r\n\r\n', status: 400, by: 'node' },
  { name: 'bare CR in a value', bytes: 'GET {P} HTTP/1.1\r\nHost: {H}\r\nX-A: b\rc\r\n\r\n', status: 400, by: 'node' },
  { name: 'NUL in a value', bytes: 'GET {P} HTTP/1.1\r\nHost: {H}\r\nX-A: a\u0000b\r\n\r\n', status: 400, by: 'node' },
  { name: 'space before the colon', bytes: 'GET {P} HTTP/1.1\r\nHost: {H}\r\nX-A : b\r\n\r\n', status: 400, by: 'node' },
  { name: '"Transfer-Encoding :" next to a Content-Length', bytes: post('Transfer-Encoding : chunked\r\nContent-Length: 3\r\n', 'abc'), status: 400, by: 'node' },
  { name: 'HTTP/1.0 with Transfer-Encoding (keep-alive)', bytes: post(`${CHUNKED}Connection: keep-alive\r\n`, '3\r\nabc\r\n0\r\n\r\n', '1.0'), status: 400, by: 'pacer' },
  { name: 'HTTP/1.0 with Transfer-Encoding and Content-Length', bytes: post(`${CHUNKED}Content-Length: 3\r\n`, 'abc', '1.0'), status: 400, by: 'node' },
  { name: 'absolute-form naming another host than Host', bytes: 'GET http://other.example{P} HTTP/1.1\r\nHost: {H}\r\n\r\n', status: 400, by: 'pacer' },
  { name: 'absolute-form with userinfo', bytes: 'GET http://user@{H}{P} HTTP/1.1\r\nHost: {H}\r\n\r\n', status: 400, by: 'pacer' },
  { name: 'request target neither origin nor absolute form', bytes: 'GET v{P} HTTP/1.1\r\nHost: {H}\r\n\r\n', status: 400, by: 'node' },
  { name: 'two Host headers', bytes: 'GET {P} HTTP/1.1\r\nHost: {H}\r\nHost: other.example\r\n\r\n', status: 400, by: 'pacer' },
  { name: 'Host with a path in it', bytes: 'GET {P} HTTP/1.1\r\nHost: {H}/x\r\n\r\n', status: 400, by: 'pacer' },
  { name: 'HTTP/0.9 request line', bytes: 'GET {P}\r\n\r\n', status: 505, by: 'pacer' },
  { name: 'HTTP/2.0 request line', bytes: 'GET {P} HTTP/2.0\r\nHost: {H}\r\n\r\n', status: 505, by: 'pacer' },
  { name: '1,200 small header lines (within --max-header-size)', bytes: `GET {P} HTTP/1.1\r\nHost: {H}\r\n${'a:b\r\n'.repeat(1_200)}\r\n`, status: 431, by: 'node' },
];

let serial = 0;
/** A unique marker (`n12z`: never a substring of another one). */
const nextId = (): string => `n${++serial}z`;

/**
 * On one keep-alive connection: a valid request (answered 200), then the attack with a request
 * pipelined behind it. Returns what the client got; the connection must have been closed.
 */
async function attack(t: Target, bytes: string, id: string): Promise<string> {
  const c = await rawConnect(t.port());
  try {
    c.write(`GET /first/${id} HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`);
    await c.until((d) => d.endsWith(`ok /first/${id}`), 3_000, 'the first answer');
    c.write(bytes.replaceAll('{H}', t.host).replaceAll('{P}', `/v/${id}`) + `GET /smuggled/${id} HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`);
    return await c.closed(3_000);
  } finally {
    c.destroy();
  }
}

/** A request on a fresh connection reached the backend: anything sent before it on another connection had its chance. */
async function sentinel(t: Target, id: string): Promise<void> {
  const answer = await get(t.port(), t.host, `/sentinel/${id}`);
  expect(answer).toMatch(/^HTTP\/1\.1 200/);
  await eventually('the sentinel at the backend', () => backend.requests.some((r) => r.target === `/sentinel/${id}`));
}

/** The backend never saw the smuggled request, nor a complete request of the attack; any connection that carried part of it was closed. */
async function neverForwarded(id: string): Promise<void> {
  expect(backend.connectionsWith(`/smuggled/${id}`)).toEqual([]);
  expect(backend.requests.filter((r) => r.target.startsWith(`/v/${id}`) || r.target.includes(`/smuggled/${id}`))).toEqual([]);
  for (const conn of backend.connectionsWith(`/v/${id}`)) await eventually(`backend connection ${conn.id} (a partial attack) to be closed`, () => conn.closed);
}

describe('the request checks (pure)', () => {
  it('originTarget: origin form as is; absolute form only for the Host it names, then in origin form', () => {
    expect(originTarget('GET', '/a?b', 'h')).toBe('/a?b');
    expect(originTarget('OPTIONS', '*', 'h')).toBe('*');
    expect(originTarget('GET', '*', 'h')).toMatchObject({ status: 400 });
    expect(originTarget('GET', 'http://H.example./x', 'h.example:80')).toBe('/x');
    expect(originTarget('GET', 'https://h.example:443?q', 'h.example')).toBe('/?q');
    expect(originTarget('GET', 'http://[::1]:8080/x', '[::1]:8080')).toBe('/x');
    expect(originTarget('GET', 'http://h.example', 'h.example')).toBe('/');
    expect(originTarget('GET', 'http://h.example:8080/x', 'h.example')).toMatchObject({ status: 400 });
    expect(originTarget('GET', 'https://h.example/x', 'h.example:80')).toMatchObject({ status: 400 });
    expect(originTarget('GET', 'http://other/x', 'h.example')).toMatchObject({ status: 400 });
    expect(originTarget('GET', 'http://h.example/x', undefined)).toMatchObject({ status: 400 });
    expect(originTarget('GET', 'http://u:p@h.example/x', 'h.example')).toMatchObject({ status: 400 });
    expect(originTarget('GET', 'ftp://h.example/x', 'h.example')).toMatchObject({ status: 400 });
  });

  it('requestRefusal: versions, Host, Transfer-Encoding', () => {
    expect(requestRefusal(1, 1, ['Host', 'h.example:8080', 'Transfer-Encoding', 'Chunked'])).toBeUndefined();
    expect(requestRefusal(1, 1, ['host', '[::1]', 'host2', 'x'])).toBeUndefined();
    expect(requestRefusal(1, 1, ['Host', ''])).toBeUndefined();
    expect(requestRefusal(1, 0, ['Host', 'h'])).toBeUndefined();
    expect(requestRefusal(2, 0, ['Host', 'h'])).toMatchObject({ status: 505 });
    expect(requestRefusal(0, 9, [])).toMatchObject({ status: 505 });
    expect(requestRefusal(1, 1, ['Host', 'a', 'HOST', 'a'])).toMatchObject({ status: 400 });
    for (const bad of ['a b', 'h/x', 'h@x', 'h:8x', '[::1', 'h\\x']) expect(requestRefusal(1, 1, ['Host', bad]), bad).toMatchObject({ status: 400 });
    expect(requestRefusal(1, 0, ['Transfer-Encoding', 'chunked'])).toMatchObject({ status: 400 });
    expect(requestRefusal(1, 1, ['Transfer-Encoding', 'chunked, identity'])).toMatchObject({ status: 400 });
    expect(requestRefusal(1, 1, ['Transfer-Encoding', 'gzip', 'Transfer-Encoding', 'chunked'])).toMatchObject({ status: 501 });
    expect(requestRefusal(1, 1, ['Transfer-Encoding', ''])).toMatchObject({ status: 400 });
  });
});

describe('request smuggling: answered, the connection closed, nothing pipelined behind forwarded', () => {
  for (const v of VECTORS) {
    it(`${v.name} → ${v.status} (${v.by})`, async () => {
      for (const t of TARGETS) {
        const id = nextId();
        const got = await attack(t, v.bytes, id);
        const lines = statusLines(got);
        // The first request's 200, then exactly one answer to the attack; the smuggled one none.
        expect(lines, `${t.name}: ${JSON.stringify(got.slice(-300))}`).toHaveLength(2);
        expect(lines[0], t.name).toMatch(/^HTTP\/1\.1 200/);
        expect(lines[1], t.name).toMatch(new RegExp(`^HTTP/1\\.1 ${v.status} `));
        await sentinel(t, id);
        await neverForwarded(id);
        // Refused at the head: nothing of it went upstream. A bad chunk is found while the body
        // streams: the head went up and the upstream connection was closed (neverForwarded).
        if (!v.badBody) expect(backend.connectionsWith(`/v/${id}`), `${t.name}: the head went upstream`).toEqual([]);
      }
    });
  }

  it('an upgrade (WebSocket) request with two Host headers or a foreign absolute target: 400, nothing spliced', async () => {
    for (const t of TARGETS) {
      for (const head of [`GET {P} HTTP/1.1\r\nHost: ${t.host}\r\nHost: other.example\r\n`, `GET http://other.example{P} HTTP/1.1\r\nHost: ${t.host}\r\n`]) {
        const id = nextId();
        const c = await rawConnect(t.port());
        c.write(`${head.replace('{P}', `/v/${id}`)}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /smuggled/${id} HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`);
        const got = await c.closed(3_000);
        c.destroy();
        expect(statusLines(got), t.name).toEqual(['HTTP/1.1 400 Bad Request']);
        await sentinel(t, id);
        expect(backend.connectionsWith(`/v/${id}`)).toEqual([]);
        await neverForwarded(id);
      }
    }
  });

  it('two Authorization headers on a service with basic auth: 401 (pacer would check one, the backend might read the other)', async () => {
    const basic = (userPass: string) => `Authorization: Basic ${Buffer.from(userPass).toString('base64')}\r\n`;
    const ask = async (auth: string): Promise<string> => {
      const id = nextId();
      const c = await rawConnect(authPort);
      c.write(`GET /v/${id} HTTP/1.1\r\nHost: auth.example\r\n${auth}Connection: close\r\n\r\n`);
      const got = await c.closed(5_000);
      c.destroy();
      return `${statusLines(got)[0]} ${backend.requests.some((r) => r.target === `/v/${id}`) ? 'forwarded' : 'not forwarded'}`;
    };
    await waitFor('pacer to route the auth service', async () => ((await ask(basic('alice:s3cret'))).startsWith('HTTP/1.1 200') ? true : undefined), 10_000, 50);
    expect(await ask(basic('alice:s3cret'))).toBe('HTTP/1.1 200 OK forwarded');
    expect(await ask(basic('alice:s3cret') + basic('bob:other'))).toBe('HTTP/1.1 401 Unauthorized not forwarded');
    expect(await ask(basic('bob:other') + basic('alice:s3cret'))).toBe('HTTP/1.1 401 Unauthorized not forwarded');
  });
});

describe('bodies are re-framed unambiguously upstream', () => {
  async function send(t: Target, id: string, parts: readonly string[]): Promise<void> {
    const c = await rawConnect(t.port());
    for (const part of parts) {
      c.write(part.replaceAll('{H}', t.host).replaceAll('{P}', `/body/${id}`));
      await new Promise((r) => setImmediate(r));
    }
    await c.until((d) => d.includes(`ok /body/${id}`), 3_000, 'the answer');
    c.destroy();
  }
  const seen = (id: string) => {
    const r = backend.requests.filter((x) => x.target === `/body/${id}`);
    expect(r).toHaveLength(1);
    return r[0]!;
  };

  it('a chunked request goes up chunked (one transfer-encoding: chunked, no content-length), trailers dropped', async () => {
    for (const t of TARGETS) {
      const id = nextId();
      await send(t, id, [post(CHUNKED, ''), '5\r\nhello\r\n', '1;ext=1\r\n \r\n', '5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n']);
      const r = seen(id);
      expect(r.framing).toBe('chunked');
      expect(r.body.toString()).toBe('hello world');
      expect(r.headers.filter(([n]) => n === 'transfer-encoding')).toEqual([['transfer-encoding', 'chunked']]);
      expect(r.headers.some(([n]) => n === 'content-length' || n === 'x-trailer')).toBe(false);
    }
  });

  it('a Content-Length request goes up with that one length and exactly its bytes', async () => {
    for (const t of TARGETS) {
      const id = nextId();
      await send(t, id, [post('Content-Length: 11\r\n', ''), 'hello', ' world']);
      const r = seen(id);
      expect(r.framing).toBe('length');
      expect(r.body.toString()).toBe('hello world');
      expect(r.headers.filter(([n]) => n === 'content-length')).toEqual([['content-length', '11']]);
      expect(r.headers.some(([n]) => n === 'transfer-encoding')).toBe(false);
    }
  });

  it('legal spellings of chunked (case, whitespace) go up as the canonical one', async () => {
    for (const t of TARGETS) {
      for (const spelling of ['Transfer-Encoding: CHUNKED\r\n', 'Transfer-Encoding:   chunked  \r\n', 'transfer-encoding:\tChunked\r\n']) {
        const id = nextId();
        await send(t, id, [post(spelling, '3\r\nabc\r\n0\r\n\r\n')]);
        const r = seen(id);
        expect(r.framing).toBe('chunked');
        expect(r.body.toString()).toBe('abc');
        expect(r.headers.filter(([n]) => n === 'transfer-encoding')).toEqual([['transfer-encoding', 'chunked']]);
      }
    }
  });

  it('an absolute-form target naming the Host goes up in origin form', async () => {
    for (const t of TARGETS) {
      const id = nextId();
      const c = await rawConnect(t.port());
      c.write(`GET http://${t.host.toUpperCase()}:80/body/${id}?q=1 HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`);
      await c.until((d) => d.includes(`ok /body/${id}?q=1`), 3_000, 'the answer');
      c.destroy();
      expect(backend.requests.filter((r) => r.target === `/body/${id}?q=1`)).toHaveLength(1);
    }
  });
});

describe('bad upstream answers: never forwarded ambiguously, the upstream connection not reused', () => {
  /** Ask for a bad answer on a keep-alive connection; then a good request on a fresh one must use a new upstream connection. */
  async function badAnswer(t: Target, kind: string): Promise<{ got: string; closed: boolean }> {
    const id = nextId();
    const c = await rawConnect(t.port());
    c.write(`GET /bad/${kind}/${id} HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`);
    await eventually('the backend to get the request', () => backend.requests.some((r) => r.target === `/bad/${kind}/${id}`));
    const conn = backend.requests.find((r) => r.target === `/bad/${kind}/${id}`)!.conn;
    // pacer closes the upstream connection that gave the bad answer (the backend left it open).
    await eventually(`pacer to close upstream connection ${conn} after "${kind}"`, () => backend.connections[conn]!.closed);
    const answered = (d: string) => d.includes('\r\n\r\n') && (d.includes('bad gateway') || d.endsWith('hello') || d.endsWith('0\r\n\r\n'));
    const got = await c.until((d) => c.isClosed() || answered(d), 3_000, 'an answer or a close');
    const closed = c.isClosed();
    c.destroy();
    const after = await get(t.port(), t.host, `/after/${id}`);
    expect(after).toMatch(/^HTTP\/1\.1 200/);
    expect(after).not.toContain('poisoned');
    const next = backend.requests.find((r) => r.target === `/after/${id}`)!;
    expect(next.conn, 'the next request must not reuse the connection that answered badly').not.toBe(conn);
    return { got, closed };
  }

  for (const kind of ['dup-cl', 'negative-cl', 'bare-cr', 'bare-cr-status', 'huge-head']) {
    it(`${kind}: 502`, async () => {
      for (const t of TARGETS) {
        const { got } = await badAnswer(t, kind);
        expect(statusLines(got), t.name).toEqual(['HTTP/1.1 502 Bad Gateway']);
        expect(got).not.toContain('hello');
      }
    });
  }

  for (const kind of ['bad-chunk', 'chunk-overflow']) {
    // The head was valid and is committed before the body is read: the client never gets a
    // complete response (a 502 if nothing was sent yet, else a cut connection).
    it(`${kind}: 502, or the client connection cut before a complete response`, async () => {
      for (const t of TARGETS) {
        const { got, closed } = await badAnswer(t, kind);
        if (statusLines(got)[0] === 'HTTP/1.1 502 Bad Gateway') continue;
        expect(closed, `${t.name}: ${JSON.stringify(got)}`).toBe(true);
        expect(got).not.toContain('hello');
        expect(got.endsWith('0\r\n\r\n')).toBe(false);
      }
    });
  }

  it('cl-te (both Content-Length and Transfer-Encoding): 502, or decoded by Transfer-Encoding with the length dropped (RFC 9112 §6.3)', async () => {
    for (const t of TARGETS) {
      const { got } = await badAnswer(t, 'cl-te');
      const head = got.slice(0, got.indexOf('\r\n\r\n')).toLowerCase();
      if (statusLines(got)[0] === 'HTTP/1.1 502 Bad Gateway') continue;
      expect(head).toMatch(/^http\/1\.1 200/);
      expect(head).not.toContain('content-length');
      expect(got.slice(got.indexOf('\r\n\r\n') + 4)).toBe('5\r\nhello\r\n0\r\n\r\n');
    }
  });

  it('extra bytes after a complete response never reach a client', async () => {
    for (const t of TARGETS) {
      const { got } = await badAnswer(t, 'extra-response');
      expect(statusLines(got)).toEqual(['HTTP/1.1 200 OK']);
      expect(got.endsWith('hello')).toBe(true);
      expect(got).not.toContain('poisoned');
    }
  });
});

describe('oversized heads: 431, not forwarded', () => {
  const cases: { name: string; bytes: (host: string, path: string) => string; status: number }[] = [
    { name: `a header block beyond --max-header-size (${MAX_HEADER})`, bytes: (h, p) => `GET ${p} HTTP/1.1\r\nHost: ${h}\r\nX-Big: ${'a'.repeat(MAX_HEADER + 100)}\r\n\r\n`, status: 431 },
    { name: '10,000 small headers', bytes: (h, p) => `GET ${p} HTTP/1.1\r\nHost: ${h}\r\n${'X-A: b\r\n'.repeat(10_000)}\r\n`, status: 431 },
    { name: 'a request line beyond --max-header-size', bytes: (h, p) => `GET ${p}/${'u'.repeat(MAX_HEADER + 100)} HTTP/1.1\r\nHost: ${h}\r\n\r\n`, status: 431 },
  ];
  for (const k of cases) {
    it(k.name, async () => {
      for (const t of TARGETS) {
        const id = nextId();
        const c = await rawConnect(t.port());
        c.write(k.bytes(t.host, `/v/${id}`) + `GET /smuggled/${id} HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`);
        const got = await c.closed(3_000);
        c.destroy();
        expect(statusLines(got), t.name).toEqual([expect.stringMatching(new RegExp(`^HTTP/1\\.1 ${k.status} `))]);
        await sentinel(t, id);
        await neverForwarded(id);
      }
    });
  }

  it('a head just under the limit is served (the limit is the option, not a smaller one)', async () => {
    for (const t of TARGETS) {
      const answer = await get(t.port(), t.host, `/big-ok?${'q'.repeat(MAX_HEADER - 500)}`);
      expect(answer, t.name).toMatch(/^HTTP\/1\.1 200/);
    }
  });
});

/** The text holds one complete Content-Length-framed response. */
function responseComplete(d: string): boolean {
  const end = d.indexOf('\r\n\r\n');
  const length = /\r\ncontent-length: *(\d+)/i.exec(d.slice(0, end));
  return end !== -1 && length !== null && d.length >= end + 4 + Number(length[1]);
}

/** Write one byte of `text` (cycling its tail) every `everyMs` until the connection closes. */
function dribble(c: RawConn, text: string, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (c.isClosed()) {
      clearInterval(timer);
      return;
    }
    c.write(text[Math.min(at++, text.length - 1)]!);
  }, everyMs);
  c.socket.once('close', () => clearInterval(timer));
}

describe('slow clients are cut; others are served meanwhile', () => {
  it('header and body dribblers, silent connections and stalled TLS handshakes are closed (408 or a close)', async () => {
    const slow: { name: string; conn: RawConn; expectBody?: string }[] = [];
    for (const t of TARGETS) {
      const idle = await rawConnect(t.port());
      slow.push({ name: `${t.name}: a connection that sends nothing`, conn: idle });
      const head = await rawConnect(t.port());
      dribble(head, `GET /slow-head HTTP/1.1\r\nHost: ${t.host}\r\nX-Slow: a`, 300);
      slow.push({ name: `${t.name}: headers one byte at a time`, conn: head });
      const body = await rawConnect(t.port());
      const id = nextId();
      body.write(`POST /slow-body/${id} HTTP/1.1\r\nHost: ${t.host}\r\nContent-Length: 100000\r\n\r\n`);
      dribble(body, 'x', 300);
      slow.push({ name: `${t.name}: a body one byte at a time`, conn: body, expectBody: `/slow-body/${id}` });
    }
    for (const [name, port] of [['TLS service port', tlsPort], ['HTTPS vhost listener', httpsPort]] as const) {
      slow.push({ name: `${name}: a TLS client that never says hello`, conn: await rawConnect(port) });
      const partial = await rawConnect(port);
      partial.write('\u0016\u0003\u0001\u0000\u00ff\u0001'); // a ClientHello record header and one byte of it
      slow.push({ name: `${name}: a TLS handshake stalled halfway`, conn: partial });
    }
    slow.push({ name: 'admin: a connection that sends nothing', conn: await rawConnect(adminPort) });
    const adminHead = await rawConnect(adminPort);
    dribble(adminHead, 'GET /health HTTP/1.1\r\nHost: admin\r\nX-Slow: a', 300);
    slow.push({ name: 'admin: headers one byte at a time', conn: adminHead });

    // Meanwhile, ordinary clients are served on both listeners until every slow one is gone.
    let stop = false;
    let served = 0;
    let failure: unknown;
    const meanwhile = (async () => {
      while (!stop) {
        for (const t of TARGETS) {
          const answer = await get(t.port(), t.host, '/meanwhile');
          if (!answer.startsWith('HTTP/1.1 200')) throw new Error(`${t.name} did not serve an ordinary client: ${JSON.stringify(answer.slice(0, 100))}`);
          served++;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })().catch((error: unknown) => {
      failure = error;
    });
    try {
      await Promise.all(slow.map((s) => s.conn.closed(15_000).catch((error: unknown) => Promise.reject(new Error(`${s.name}: ${String(error)}`)))));
    } finally {
      stop = true;
      await meanwhile;
      // On a failure, the ones still open (and dribbling) go too: pacer's stop would wait for them.
      for (const s of slow) if (!s.conn.isClosed()) s.conn.destroy();
    }
    if (failure !== undefined) throw failure;
    expect(served).toBeGreaterThan(0);
    for (const s of slow) {
      const data = s.conn.data();
      // Either nothing (a close) or a 408; never an answer from a backend.
      expect(data === '' || data.startsWith('HTTP/1.1 408'), `${s.name}: ${JSON.stringify(data.slice(0, 100))}`).toBe(true);
      s.conn.destroy();
      if (s.expectBody) {
        // The backend got the head and part of the body, never a complete request; the upstream connection was closed.
        const path = s.expectBody;
        expect(backend.requests.some((r) => r.target === path)).toBe(false);
        for (const conn of backend.connectionsWith(path)) await eventually(`the upstream connection of ${path} to close`, () => conn.closed);
      }
    }
  }, 30_000);
});

describe('admin server: smuggling, oversized heads', () => {
  const ADMIN_VECTORS = VECTORS.filter((v) => v.by === 'node' && v.status === 400);
  it(`refuses the ${ADMIN_VECTORS.length} parser-level smuggling vectors with 400 and closes, answering nothing pipelined behind`, async () => {
    for (const v of ADMIN_VECTORS) {
      const c = await rawConnect(adminPort);
      c.write('GET /health HTTP/1.1\r\nHost: admin\r\n\r\n');
      await c.until(responseComplete, 3_000, 'the first answer');
      // The smuggled request names a path the admin server answers 404: it must never be answered.
      c.write(v.bytes.replaceAll('{H}', 'admin').replaceAll('{P}', '/health') + 'GET /smuggled HTTP/1.1\r\nHost: admin\r\n\r\n');
      const got = await c.closed(3_000);
      c.destroy();
      const lines = statusLines(got);
      // A vector whose head is valid (a bad body) may be answered (405: the admin server is
      // read-only) before the parser reaches the bad bytes; then the connection is closed, with a
      // 400 when no answer was under way. The smuggled request (404) is never answered.
      expect(lines[0], v.name).toMatch(/^HTTP\/1\.1 200 /);
      const rest = lines.slice(1).map((l) => l.slice(9, 12));
      expect([['400'], ['405'], ['405', '400']], `${v.name}: ${lines.join(' | ')}`).toContainEqual(rest);
    }
  });

  it('answers 431 to a head beyond 16 KiB and to 10,000 headers', async () => {
    for (const bytes of [`GET /health HTTP/1.1\r\nHost: admin\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`, `GET /health HTTP/1.1\r\nHost: admin\r\n${'X-A: b\r\n'.repeat(10_000)}\r\n`]) {
      const c = await rawConnect(adminPort);
      c.write(bytes);
      const got = await c.closed(3_000);
      c.destroy();
      expect(statusLines(got)).toEqual([expect.stringMatching(/^HTTP\/1\.1 431 /)]);
    }
  });
});

describe('after everything above', () => {
  it('the backend never received anything it could not parse, nor any smuggled request', () => {
    expect(backend.malformed).toEqual([]);
    expect(backend.allBytes()).not.toContain('/smuggled');
  });
});
