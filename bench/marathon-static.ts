/**
 * A static Marathon for the scale bench. Creating 10,000 apps through the emulator's API takes far
 * too long (about 150 s per 1,000 apps of 10 tasks on the 2-core machine, and it grows with the
 * number of apps), so this serves a snapshot instead: one app and one task are created in the real
 * emulator, their JSON (`/v2/apps?embed=…` and `/v2/info`) is captured as templates, and cloned
 * into N apps × M tasks in exactly the emulator's wire format. It serves `/v2/info`, `/v2/apps`
 * (with the embeds, pre-serialised once), `/v2/apps/{id}`, `/ping` and `/v2/events` (SSE), and can
 * send `status_update_event`s on the stream.
 */
import { createServer, type ServerResponse } from 'node:http';
import { startEmulator } from '../test/helpers/processes.ts';
import { started } from './lib.ts';

type Json = Record<string, unknown>;

export interface StaticMarathon {
  readonly url: string;
  readonly bytes: number;
  /** A task of app `i`, task `k`: what a status event needs. */
  task(i: number, k: number): Json;
  /** Broadcast one event on every open /v2/events stream. */
  emit(eventType: string, data: Json): number;
  stop(): Promise<void>;
}

const appId = (i: number) => `/scale/g${i % 100}/app${i}`;

export async function startStaticMarathon(apps: number, tasks: number, labels: Record<string, string>): Promise<StaticMarathon> {
  // Templates from the real emulator.
  const emulator = await startEmulator();
  let template: { app: Json; task: Json; info: Json };
  try {
    await emulator.post('/apps', { app: { id: appId(0), instances: 1, cmd: 'serve', labels, portDefinitions: [{ port: 0, name: 'http' }] }, backend: 'none' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const body = (await (await fetch(`${emulator.leader}/v2/apps?embed=apps.tasks&embed=apps.deployments&embed=apps.readiness`)).json()) as { apps: Json[] };
      const app = body.apps[0];
      const task = (app?.['tasks'] as Json[] | undefined)?.find((t) => t['state'] === 'TASK_RUNNING');
      if (app && task) {
        template = { app, task, info: (await (await fetch(`${emulator.leader}/v2/info`)).json()) as Json };
        break;
      }
      if (Date.now() > deadline) throw new Error('the emulator did not run the template task');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await emulator.stop();
  }

  const taskJson = (i: number, k: number): Json => {
    const n = i * tasks + k;
    const safe = appId(i).slice(1).replaceAll('/', '_');
    const hex = n.toString(16).padStart(12, '0');
    return {
      ...template.task,
      appId: appId(i),
      id: `${safe}.instance-00000000-0000-4000-8000-${hex}._app.1`,
      ipAddresses: [{ ipAddress: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, protocol: 'IPv4' }],
      ports: [31000 + (n % 30_000)],
    };
  };
  const appJson = (i: number): Json => ({
    ...template.app,
    id: appId(i),
    instances: tasks,
    tasksRunning: tasks,
    portDefinitions: [{ ...((template.app['portDefinitions'] as Json[])[0] ?? {}), port: 10000 + (i % 10_000) }],
    tasks: Array.from({ length: tasks }, (_, k) => taskJson(i, k)),
  });
  const all = Buffer.from(JSON.stringify({ apps: Array.from({ length: apps }, (_, i) => appJson(i)) }));
  const info = Buffer.from(JSON.stringify(template.info));
  const streams = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    const send = (status: number, body: Buffer | string) => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (path === '/ping') return send(200, 'pong');
    if (path === '/v2/info') return send(200, info);
    if (path === '/v2/apps') return send(200, all);
    if (path === '/v2/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('\r\n');
      streams.add(res);
      const keepAlive = setInterval(() => res.write('\r\n'), 1_000);
      res.on('close', () => {
        clearInterval(keepAlive);
        streams.delete(res);
      });
      return undefined;
    }
    const m = /^\/v2\/apps\/scale\/g\d+\/app(\d+)$/.exec(path);
    if (m && Number(m[1]) < apps) return send(200, JSON.stringify({ app: appJson(Number(m[1])) }));
    return send(404, JSON.stringify({ message: `no ${path}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const stop = async () => {
    for (const s of streams) s.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  started.push({ stop });
  return {
    url: `http://127.0.0.1:${port}`,
    bytes: all.length,
    task: taskJson,
    emit(eventType, data) {
      const frame = `event: ${eventType}\r\ndata: ${JSON.stringify({ ...data, eventType, timestamp: new Date().toISOString() })}\r\n\r\n`;
      for (const s of streams) s.write(frame);
      return streams.size;
    },
    stop,
  };
}
