/**
 * Helpers for the proxy's integration tests: free loopback ports, a raw HTTP/TCP/UDP client, and
 * the standard pacer arguments (loopback only, vhost listeners on free ports).
 */
import dgram from 'node:dgram';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { Agent, request } from 'undici';

export { freePort, freePorts } from '../helpers/ports.ts';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

const agent = new Agent({ keepAliveTimeout: 1_000, connections: 16 });

/** GET (or another method) through pacer with an explicit Host header. */
export async function http(url: string, options: { host?: string; method?: string; headers?: Record<string, string>; body?: string; dispatcher?: Agent } = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.host) headers['host'] = options.host;
  const response = await request(url, {
    method: (options.method ?? 'GET') as 'GET',
    headers,
    body: options.body,
    dispatcher: options.dispatcher ?? agent,
  });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

/** The task id an emulator backend put in its answer. */
export function taskOf(answer: HttpAnswer): string {
  return String(answer.headers['x-emulator-task'] ?? answer.body.trim());
}

/** Connect to a TCP echo service port, read the first line (the task id), close. */
export function tcpFirstLine(port: number, host = '127.0.0.1', timeoutMs = 3_000, send?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    if (send !== undefined) socket.write(send);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no line from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
      const nl = data.indexOf('\n');
      if (nl !== -1) {
        clearTimeout(timer);
        socket.end();
        resolve(data.slice(0, nl));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!data.includes('\n')) reject(new Error(`connection to ${host}:${port} closed without a line (${JSON.stringify(data)})`));
    });
  });
}

/** Send one UDP datagram and wait for the echo. */
export function udpExchange(port: number, payload: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no UDP answer from :${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg.toString());
    });
    socket.send(payload, port, '127.0.0.1');
  });
}

export function pacerArgs(marathon: string, httpPort: number, httpsPort = 0, extra: readonly string[] = []): string[] {
  return ['--marathon', marathon, '--bind', '127.0.0.1', '--http-port', String(httpPort), '--https-port', String(httpsPort), '--group', 'external', '--dns-port', '0', ...extra];
}

/** One GET / through a service port on a new connection (no keep-alive), with a deadline. */
export function getOnce(port: number, timeoutMs = 3_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
