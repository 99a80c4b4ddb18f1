/**
 * A raw TCP client for tests that speak bytes (HTTP smuggling vectors, slow clients, half-open
 * connections): everything received so far, waits on the data or the close with deadlines.
 */
import { connect, type Socket } from 'node:net';

export interface RawConn {
  readonly socket: Socket;
  /** Everything received so far (latin1). */
  data(): string;
  readonly isClosed: () => boolean;
  /** Whether the server's FIN arrived (with `allowHalfOpen`, the client's side stays open after it). */
  readonly ended: () => boolean;
  /** Resolves with the data once `test` holds; rejects after `timeoutMs`. */
  until(test: (data: string) => boolean, timeoutMs?: number, what?: string): Promise<string>;
  /** Resolves with the data once the server closed the connection; rejects after `timeoutMs`. */
  closed(timeoutMs?: number): Promise<string>;
  write(text: string): void;
  destroy(): void;
}

export interface RawConnectOptions {
  readonly host?: string;
  /** Keep the client's side open after the server's FIN, to test half-closed connections. */
  readonly allowHalfOpen?: boolean;
}

/** A raw TCP client; resolves once connected. */
export function rawConnect(port: number, options: RawConnectOptions = {}): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    let data = '';
    let ended = false;
    let isClosed = false;
    const waiters = new Set<() => void>();
    const socket = connect({ host: options.host ?? '127.0.0.1', port, allowHalfOpen: options.allowHalfOpen ?? false });
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      for (const w of [...waiters]) w();
    });
    socket.on('end', () => {
      ended = true;
      for (const w of [...waiters]) w();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      isClosed = true;
      for (const w of [...waiters]) w();
    });
    const wait = (ok: () => boolean, what: string, timeoutMs: number): Promise<string> =>
      new Promise((res, rej) => {
        if (ok()) return res(data);
        const timer = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(data.slice(0, 300))} (closed: ${isClosed})`));
        }, timeoutMs);
        const check = (): void => {
          if (!ok()) return;
          clearTimeout(timer);
          waiters.delete(check);
          res(data);
        };
        waiters.add(check);
      });
    // A failed connect (refused, say) rejects. Not by `socket.connecting`: Node clears it before it
    // emits the connect error.
    let connected = false;
    socket.once('error', (error) => {
      if (!connected) reject(error);
    });
    socket.once('connect', () => {
      connected = true;
      resolve({
        socket,
        data: () => data,
        isClosed: () => isClosed,
        ended: () => ended,
        until: (test, timeoutMs = 3_000, what = 'data') => wait(() => test(data), what, timeoutMs),
        closed: (timeoutMs = 3_000) => wait(() => isClosed, 'the server to close the connection', timeoutMs),
        write: (text) => {
          if (!socket.destroyed) socket.write(text, 'latin1');
        },
        destroy: () => socket.destroy(),
      });
    });
  });
}
