/**
 * pacer's first full fetch (src/marathon/sync.ts `start`): it waits, briefly, for the event stream
 * to open, so that one fetch is both the start and the resync the stream's opening asks for (at
 * 10,000 apps each full fetch is a 50 MB body). A Marathon whose stream does not open is still
 * served. A minimal Marathon on loopback records when each request came.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { metric, startPacer, waitFor, type PacerProc } from '../helpers/processes.ts';

interface Marathon {
  readonly url: string;
  /** `/v2/apps` requests, by arrival time (ms since the server started). */
  readonly appsRequests: number[];
  /** When `/v2/events` sent its response head (undefined: not yet). */
  eventsOpenedAt: number | undefined;
  close(): Promise<void>;
}

const APPS = JSON.stringify({
  apps: [
    {
      id: '/web',
      instances: 1,
      labels: { HAPROXY_GROUP: 'external' },
      portDefinitions: [{ port: 10001, protocol: 'tcp' }],
      version: '2021-09-20T10:15:02.117Z',
      tasks: [
        {
          id: 'web.instance-00000001-1f7a-11ec-9a4c-0242ac110002._app.1',
          appId: '/web',
          host: '127.0.0.1',
          ports: [31001],
          state: 'TASK_RUNNING',
          version: '2021-09-20T10:15:02.117Z',
        },
      ],
    },
  ],
});

/** `eventsDelayMs`: how long `/v2/events` waits before its response head; `Infinity`: never answers. */
async function startMarathon(eventsDelayMs: number): Promise<Marathon> {
  const started = performance.now();
  const streams = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  const state: Marathon = {
    url: '',
    appsRequests: [],
    eventsOpenedAt: undefined,
    close: async () => {},
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/v2/apps') {
      state.appsRequests.push(performance.now() - started);
      res.writeHead(200, { 'content-type': 'application/json' }).end(APPS);
    } else if (path === '/v2/info') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'marathon', version: '1.10.17' }));
    } else if (path === '/v2/events') {
      streams.add(res);
      res.on('close', () => streams.delete(res));
      if (eventsDelayMs === Infinity) return;
      const timer = setTimeout(() => {
        state.eventsOpenedAt = performance.now() - started;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('\r\n');
      }, eventsDelayMs);
      timers.add(timer);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of streams) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

let marathon: Marathon | undefined;
let pacer: PacerProc | undefined;

afterEach(async () => {
  await pacer?.stop();
  await marathon?.close();
  pacer = undefined;
  marathon = undefined;
});

describe('the first full fetch', () => {
  it('goes out once the event stream is open: one fetch at start, not two', async () => {
    // The stream's head comes 300 ms late: a fetch sent at once would come before it.
    marathon = await startMarathon(300);
    pacer = await startPacer(['--marathon', marathon.url, '--group', 'external']);
    const admin = pacer.admin;
    await waitFor('pacer ready', async () => ((await fetch(`${admin}/ready`)).status === 200 ? true : undefined), 10_000);
    await waitFor('a resync after the stream opened', async () => ((await metric(admin, 'pacer_marathon_resyncs_total', { trigger: 'connect' })) >= 1 ? true : undefined), 10_000);
    const m = marathon;
    expect(m.eventsOpenedAt).toBeDefined();
    expect(m.appsRequests.length).toBeGreaterThanOrEqual(1);
    expect(m.appsRequests[0]!).toBeGreaterThanOrEqual(m.eventsOpenedAt!);
    expect(await metric(admin, 'pacer_marathon_resyncs_total', { trigger: 'start' })).toBe(0);
    expect(await metric(admin, 'pacer_marathon_resyncs_total')).toBe(m.appsRequests.length);
  });

  it('goes out anyway when the stream does not open: the table is served without a stream', async () => {
    marathon = await startMarathon(Infinity);
    pacer = await startPacer(['--marathon', marathon.url, '--group', 'external']);
    const admin = pacer.admin;
    await waitFor('pacer ready without a stream', async () => ((await fetch(`${admin}/ready`)).status === 200 ? true : undefined), 10_000);
    expect(marathon.eventsOpenedAt).toBeUndefined();
    expect(await metric(admin, 'pacer_marathon_resyncs_total', { trigger: 'start', result: 'ok' })).toBe(1);
    expect(await metric(admin, 'pacer_routing_services')).toBe(1);
  });
});
