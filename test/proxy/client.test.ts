/**
 * The upstream HTTP/1.1 client (src/proxy/http/client.ts) against raw backends that answer with
 * crafted bytes: framing (length, chunked split anywhere, until close, HEAD, 1xx, 204), hop-by-hop
 * headers, keep-alive reuse, request bodies, and the errors the exchange retries on.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { BAD_RESPONSE, CLOSED, TIMEOUT, UpstreamPool, type RequestBody, type UpstreamError } from '../../src/proxy/http/client.ts';

interface Result {
  status: number;
  message: string;
  headers: string[];
  body: string;
  error?: UpstreamError;
}

let server: Server | undefined;
let pool: UpstreamPool | undefined;

afterEach(async () => {
  pool?.destroy();
  pool = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A backend that hands every request head (and body bytes) to `answer`. */
async function backend(answer: (socket: Socket, request: string) => void): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  server = createServer((socket) => {
    connections++;
    let buffered = '';
    socket.on('data', (c: Buffer) => {
      buffered += c.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      const m = /content-length: (\d+)/i.exec(buffered.slice(0, end));
      const chunked = /transfer-encoding: chunked/i.test(buffered.slice(0, end));
      const need = m ? end + 4 + Number(m[1]) : end + 4;
      if (buffered.length < need || (chunked && !buffered.endsWith('0\r\n\r\n'))) return;
      const request = buffered;
      buffered = '';
      answer(socket, request);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, connections: () => connections };
}

function send(port: number, head: string, options: { headOnly?: boolean; body?: RequestBody; idleTimeoutMs?: number } = {}): Promise<Result> {
  pool ??= new UpstreamPool('127.0.0.1', port, { connectTimeoutMs: 1_000, idleTimeoutMs: options.idleTimeoutMs ?? 2_000, keepAliveMs: 4_000 });
  return new Promise((resolve) => {
    const result: Result = { status: 0, message: '', headers: [], body: '' };
    pool!.request(head, options.headOnly ?? false, options.body, {
      onResponseHead(status, message, headers) {
        Object.assign(result, { status, message, headers });
      },
      onResponseData(chunk) {
        result.body += chunk.toString();
        return true;
      },
      onResponseEnd: () => resolve(result),
      onResponseError(error) {
        result.error = error;
        resolve(result);
      },
    });
  });
}

const GET = 'GET / HTTP/1.1\r\nhost: x\r\n\r\n';

describe('UpstreamPool', () => {
  it('reads a Content-Length answer, drops hop-by-hop headers, and reuses the connection', async () => {
    const b = await backend((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-Kept: yes\r\n\r\nhello'));
    const first = await send(b.port, GET);
    expect(first).toMatchObject({ status: 200, message: 'OK', body: 'hello' });
    expect(first.headers).toEqual(['Content-Length', '5', 'X-Kept', 'yes']);
    const second = await send(b.port, GET);
    expect(second.body).toBe('hello');
    expect(b.connections()).toBe(1);
  });

  it('decodes chunked bodies split at any byte, with extensions and trailers', async () => {
    const wire = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n';
    const b = await backend((s) => {
      const bytes = Buffer.from(wire);
      let i = 0;
      const next = (): void => {
        if (i >= bytes.length) return;
        s.write(bytes.subarray(i, i + 3));
        i += 3;
        setImmediate(next);
      };
      next();
    });
    const r = await send(b.port, GET);
    expect(r.body).toBe('hello, world');
    expect(r.headers).toEqual([]);
    expect((await send(b.port, GET)).body).toBe('hello, world');
    expect(b.connections()).toBe(1);
  });

  it('reads until close without a length, skips 1xx heads, and knows HEAD and 204 have no body', async () => {
    const b = await backend((s, req) => {
      if (req.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
      else if (req.includes('/204')) s.write('HTTP/1.1 204 No Content\r\n\r\n');
      else if (req.includes('/1xx')) s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else s.end('HTTP/1.0 200 OK\r\n\r\nuntil close');
    });
    expect((await send(b.port, GET)).body).toBe('until close');
    expect(await send(b.port, 'HEAD / HTTP/1.1\r\nhost: x\r\n\r\n', { headOnly: true })).toMatchObject({ status: 200, body: '' });
    expect(await send(b.port, 'GET /204 HTTP/1.1\r\nhost: x\r\n\r\n')).toMatchObject({ status: 204, body: '' });
    expect(await send(b.port, 'GET /1xx HTTP/1.1\r\nhost: x\r\n\r\n')).toMatchObject({ status: 200, body: 'ok' });
  });

  it('sends request bodies as they come, chunked when the length is unknown', async () => {
    let seen = '';
    const b = await backend((s, req) => {
      seen = req;
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    });
    const head = 'POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n';
    const r = await send(b.port, head, { body: { stream: Readable.from([Buffer.from('abc'), Buffer.from('de')]), chunked: true } });
    expect(r.status).toBe(200);
    expect(seen.endsWith('\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n')).toBe(true);
  });

  it('reports broken answers, early closes and silence with codes the exchange acts on', async () => {
    const b = await backend((s, req) => {
      if (req.includes('/bad')) s.write('SMTP ready\r\n\r\n');
      else if (req.includes('/close')) s.destroy();
      else if (req.includes('/cut')) s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
      // '/slow': no answer
    });
    expect((await send(b.port, 'GET /bad HTTP/1.1\r\nhost: x\r\n\r\n')).error?.code).toBe(BAD_RESPONSE);
    expect((await send(b.port, 'GET /close HTTP/1.1\r\nhost: x\r\n\r\n')).error?.code).toBe(CLOSED);
    const cut = await send(b.port, 'GET /cut HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(cut.status).toBe(200);
    expect(cut.error?.code).toBe(CLOSED);
    pool?.destroy();
    pool = undefined;
    expect((await send(b.port, 'GET /slow HTTP/1.1\r\nhost: x\r\n\r\n', { idleTimeoutMs: 200 })).error?.code).toBe(TIMEOUT);
  });

  it('rejects chunk data not followed by CRLF', async () => {
    const b = await backend((s) => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n'));
    expect((await send(b.port, GET)).error?.code).toBe(BAD_RESPONSE);
  });

  it('rejects invalid header names and values (a 502 upstream of node:http, not a throw)', async () => {
    for (const line of ['X-A: a\nb', 'X-A: a\u0000b', ' folded', ': empty', 'Bad Name: v', 'X-A: a\rb']) {
      const b = await backend((s) => s.write(`HTTP/1.1 200 OK\r\n${line}\r\nContent-Length: 0\r\n\r\n`));
      expect((await send(b.port, GET)).error?.code, JSON.stringify(line)).toBe(BAD_RESPONSE);
      pool?.destroy();
      pool = undefined;
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = undefined;
    }
  });

  it('takes chunked only as the final coding; reads other codings until close; refuses TE + CL', async () => {
    const b = await backend((s, req) => {
      if (req.includes('/x')) s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
      else if (req.includes('/gzip')) s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nraw');
      else s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2\r\nok\r\n0\r\n\r\n');
    });
    expect((await send(b.port, 'GET /x HTTP/1.1\r\nhost: x\r\n\r\n')).body).toBe('3\r\nabc\r\n0\r\n\r\n');
    expect((await send(b.port, 'GET /gzip HTTP/1.1\r\nhost: x\r\n\r\n')).body).toBe('raw');
    expect((await send(b.port, GET)).error?.code).toBe(BAD_RESPONSE);
    expect((await send(b.port, GET)).error?.code).toBe(BAD_RESPONSE);
    expect(b.connections()).toBe(4);
  });

  it('does not reuse a connection with bytes left after a bodiless answer', async () => {
    const b = await backend((s) => s.write('HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra'));
    expect((await send(b.port, GET)).status).toBe(204);
    expect((await send(b.port, GET)).status).toBe(204);
    expect(b.connections()).toBe(2);
  });

  it('reports a refused connect by its socket code', async () => {
    const b = await backend(() => undefined);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    expect((await send(b.port, GET)).error?.code).toBe('ECONNREFUSED');
  });
});
