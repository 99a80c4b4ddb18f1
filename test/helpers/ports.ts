/**
 * Free loopback ports for the services a test asks pacer to open.
 *
 * Ports are drawn at random below the kernel's ephemeral range (32768-60999 on Linux), where no
 * socket bound to port 0 (the emulator's backends, clients, other tests' servers) ever lands, and
 * each is checked free for both TCP and UDP. Binding port 0 and closing it again would hand out a
 * port from the ephemeral range, which another process can take before pacer binds it.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const LOW = 20_000;
const HIGH = 32_000;
const handedOut = new Set<number>();

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** A port free on 127.0.0.1 for TCP and UDP, never handed out twice in this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port)) continue;
    if ((await tcpFree(port)) && (await udpFree(port))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${LOW}-${HIGH}`);
}

export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) ports.push(await freePort());
  return ports;
}
