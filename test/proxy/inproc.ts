/**
 * In-process proxy pieces for security regression tests: a `ServiceRuntime` built from a minimal
 * service, a service-port listener on loopback, and raw node:net backends that send crafted bytes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createLogger } from '../../src/log.ts';
import { createMetrics, type Metrics } from '../../src/metrics/registry.ts';
import type { Backend, Service } from '../../src/model/routing-table.ts';
import type { ServiceSpec } from '../../src/model/service-spec.ts';
import { ConnectionBudget, type ConnectionLimitSettings } from '../../src/proxy/connection-limits.ts';
import { ServiceListener } from '../../src/proxy/listener.ts';
import { ServiceMetrics } from '../../src/proxy/metrics.ts';
import { ServiceRuntime } from '../../src/proxy/service.ts';

let metrics: Metrics | undefined;
let serial = 0;

export const LIMITS = { maxHeaderSize: 16 * 1024, requestTimeoutMs: 10_000, headersTimeoutMs: 5_000, keepAliveTimeoutMs: 5_000 };

export function backendOf(port: number, taskId = `task-${port}`): Backend {
  return { taskId, address: '127.0.0.1', port, host: 'localhost', health: 'healthy', state: 'TASK_RUNNING', routable: true, draining: false, startedAt: undefined } as unknown as Backend;
}

export function makeService(ports: readonly number[], spec: Partial<ServiceSpec> = {}, extra: Partial<Service> = {}): Service {
  const appId = extra.appId ?? `/sec/app${++serial}`;
  const fullSpec = {
    vhosts: [],
    paths: [],
    pathsIgnoreCase: false,
    mode: 'http',
    balance: 'roundrobin',
    sticky: false,
    redirectToHttps: false,
    useHsts: false,
    sslCerts: [],
    auth: undefined,
    backendWeight: 0,
    networkAllowedAcl: [],
    httpBackendRedir: undefined,
    proxypassPath: undefined,
    revproxyPath: undefined,
    deployment: undefined,
    ...spec,
  } as unknown as ServiceSpec;
  return {
    key: `${appId}:0`,
    appId,
    portIndex: 0,
    portName: undefined,
    servicePort: 10_000,
    listenPort: 0,
    bindAddress: '127.0.0.1',
    protocols: ['tcp'],
    mode: 'http',
    spec: fullSpec,
    backends: ports.map((p) => backendOf(p)),
    ...extra,
  } as Service;
}

export interface Timeouts {
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  drainTimeoutMs?: number;
}

export function makeRuntime(service: Service, t: Timeouts = {}): ServiceRuntime {
  metrics ??= createMetrics({ processMetrics: false });
  return new ServiceRuntime(
    service,
    new ServiceMetrics(metrics, service.key),
    { connectTimeoutMs: t.connectTimeoutMs ?? 1_000, idleTimeoutMs: t.idleTimeoutMs ?? 2_000, drainTimeoutMs: t.drainTimeoutMs ?? 5_000, ejectAfter: 3, ejectBaseMs: 5_000, ejectMaxMs: 60_000 },
    createLogger('silent'),
  );
}

/** A connection budget for listeners made here: the defaults unless the test says otherwise. */
export function connectionBudget(settings: Partial<ConnectionLimitSettings> = {}): ConnectionBudget {
  metrics ??= createMetrics({ processMetrics: false });
  return new ConnectionBudget({ total: settings.total ?? 50_000, perPort: settings.perPort ?? 10_000 }, metrics, createLogger('silent'));
}

/** A service-port listener on 127.0.0.1:`port` (a free port) for `rt`. */
export async function serviceListener(rt: ServiceRuntime, port: number, t: Timeouts = {}): Promise<ServiceListener> {
  const listener = new ServiceListener('127.0.0.1', port, rt, { connectTimeoutMs: t.connectTimeoutMs ?? 1_000, idleTimeoutMs: t.idleTimeoutMs ?? 2_000, maxAttempts: 3 }, LIMITS, 0, connectionBudget());
  await listener.listen();
  return listener;
}

export interface RawBackend {
  readonly port: number;
  readonly server: Server;
  /** Everything each connection received, in order of connection. */
  readonly received: string[];
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A raw TCP backend: `onData(socket, all bytes so far on this connection, connection index)`. */
export async function rawBackend(onData: (socket: Socket, soFar: string, index: number) => void): Promise<RawBackend> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const index = received.length;
    received.push('');
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (c: Buffer) => {
      received[index] += c.toString('latin1');
      onData(socket, received[index]!, index);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    server,
    received,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

