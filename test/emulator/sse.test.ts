// /v2/events wire contract: raw framing, headers, Accept rule, filter, keep-alive, standby redirect, auth, slow consumers.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.ts';
import type { Emulator } from '../../src/emulator/index.ts';
import { getJson, openStream, rawGet, waitUntil } from './helpers.ts';
import type { RawClient } from './helpers.ts';

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('GET /v2/events', () => {
  let emu: Emulator;
  const clients: RawClient[] = [];
  beforeAll(async () => { emu = await startEmulator({ standbyPort: 0, keepAliveMs: 50 }); });
  afterAll(async () => { for (const c of clients) c.close(); await emu.close(); });
  const open = async (query = ''): Promise<RawClient> => { const c = await openStream(emu.url, query); clients.push(c); return c; };

  it('answers 200, EOF-delimited, with the exact headers', async () => {
    const c = await open();
    expect(c.status).toBe(200);
    expect(c.header('Content-Type')).toBe('text/event-stream;charset=utf-8');
    expect(c.header('Connection')).toBe('close');
    expect(c.header('Transfer-Encoding')).toBeUndefined();
    expect(c.header('Content-Length')).toBeUndefined();
    expect(c.header('Cache-Control')).toBe('no-cache, no-store, must-revalidate');
    expect(c.header('Pragma')).toBe('no-cache');
    expect(c.header('Expires')).toBe('0');
    expect(c.header('X-Marathon-Leader')).toBe(emu.url);
    expect(c.header('X-Frame-Options')).toBe('DENY');
  });

  it('writes its own event_stream_attached first, framed with CRLF', async () => {
    const c = await open();
    await c.waitForEvent((e) => e.event === 'event_stream_attached');
    const m = /^event: event_stream_attached\r\ndata: (\{[^\r\n]*\})\r\n\r\n/.exec(c.body);
    expect(m).not.toBeNull();
    const data = JSON.parse(m?.[1] ?? '{}') as Record<string, unknown>;
    expect(Object.keys(data)).toEqual(['remoteAddress', 'eventType', 'timestamp']);
    expect(data['remoteAddress']).toBe('127.0.0.1');
    expect(data['timestamp']).toMatch(TS);
    expect(c.body).not.toMatch(/^(id|retry):/m);
  });

  it('broadcasts attach and detach of other clients', async () => {
    const a = await open();
    await a.waitForEvent((e) => e.event === 'event_stream_attached');
    const before = a.events().filter((e) => e.event === 'event_stream_attached').length;
    const b = await open();
    await b.waitForEvent((e) => e.event === 'event_stream_attached');
    await waitUntil(() => a.events().filter((e) => e.event === 'event_stream_attached').length > before);
    b.close();
    await a.waitForEvent((e) => e.event === 'event_stream_detached');
  });

  it.each([
    ['no Accept header', {}],
    ['Accept: text/event-stream, */*', { Accept: 'text/event-stream, */*' }],
    ['Accept: */*', { Accept: '*/*' }],
    ['Accept: text/event-stream;q=1', { Accept: 'text/event-stream;q=1' }],
  ])('answers 405 with a Jetty HTML page for %s', async (_name, headers) => {
    const c = await rawGet(emu.url, '/v2/events', headers);
    clients.push(c);
    await waitUntil(() => c.ended || c.raw.includes('</html>'));
    expect(c.status).toBe(405);
    expect(c.header('Content-Type')).toMatch(/^text\/html/);
    expect(c.body).toContain('HTTP method GET is not supported by this URL');
  });

  it('filters by repeatable event_type and ignores plan-format', async () => {
    const c = await open('?event_type=status_update_event&event_type=app_terminated_event&plan-format=light');
    expect(c.status).toBe(200);
    emu.publishEvent({ eventType: 'deployment_info', n: 1 });
    emu.publishEvent({ eventType: 'status_update_event', n: 2 });
    emu.publishEvent({ eventType: 'instance_changed_event', n: 3 });
    emu.publishEvent({ eventType: 'app_terminated_event', n: 4 });
    await c.waitForEvent((e) => e.data['n'] === 4);
    expect(c.events().map((e) => e.event)).toEqual(['status_update_event', 'app_terminated_event']);
  });

  it('an unknown event_type matches nothing', async () => {
    const c = await open('?event_type=nope');
    const probe = await open('?event_type=status_update_event');
    emu.publishEvent({ eventType: 'status_update_event', n: 1 });
    await probe.waitForEvent((e) => e.data['n'] === 1);
    expect(c.events()).toEqual([]);
  });

  it('sends keep-alives as blank CRLF lines', async () => {
    const c = await open('?event_type=none_at_all');
    await waitUntil(() => c.body.length >= 6, 5000, 'three keep-alives');
    expect(c.body).toMatch(/^(\r\n)+$/);
  });

  it('the standby answers 302 to the leader with the same query', async () => {
    const sb = emu.standbyUrl ?? '';
    const r = await fetch(`${sb}/v2/events?event_type=a&event_type=b&plan-format=light`, { headers: { Accept: 'text/event-stream' }, redirect: 'manual' });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(`${emu.url}/v2/events?event_type=a&event_type=b&plan-format=light`);
    await r.body?.cancel();
  });

  it('the standby serves other endpoints with Via, the leader without', async () => {
    const sb = emu.standbyUrl ?? '';
    for (const p of ['/v2/apps', '/v2/info', '/v2/leader', '/ping', '/v2/tasks', '/v2/deployments']) {
      const viaStandby = await fetch(sb + p);
      expect(viaStandby.status, p).toBe(200);
      expect(viaStandby.headers.get('via'), p).toBe(`1.1 ${new URL(sb).host}`);
      await viaStandby.text();
      const direct = await fetch(emu.url + p);
      expect(direct.headers.get('via'), p).toBeNull();
      expect(direct.headers.get('x-marathon-leader'), p).toBe(emu.url);
      await direct.text();
    }
    const leader = await getJson(`${sb}/v2/leader`);
    expect(leader.body).toEqual({ leader: new URL(emu.url).host });
  });
});

describe('HTTP basic auth', () => {
  let emu: Emulator;
  const auth = { Authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` };
  const wrong = { Authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` };
  beforeAll(async () => { emu = await startEmulator({ standbyPort: 0, credentials: 'alice:s3cret' }); });
  afterAll(async () => { await emu.close(); });

  it.each(['/ping', '/v2/apps', '/v2/info', '/v2/leader', '/v2/tasks', '/v2/deployments', '/v2/apps/nope'])('%s needs credentials', async (p) => {
    for (const headers of [{}, wrong]) {
      const r = await fetch(emu.url + p, { headers });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^basic realm="/i);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await r.text()).toContain('<html>');
    }
    const ok = await fetch(emu.url + p, { headers: auth });
    expect(ok.status).not.toBe(401);
    await ok.text();
  });

  it('/v2/events needs credentials, on the leader and for the standby redirect', async () => {
    const denied = await rawGet(emu.url, '/v2/events', { Accept: 'text/event-stream' });
    await waitUntil(() => denied.status !== undefined);
    expect(denied.status).toBe(401);
    denied.close();
    const ok = await openStream(emu.url, '', auth);
    expect(ok.status).toBe(200);
    ok.close();
    const sb = emu.standbyUrl ?? '';
    const r1 = await fetch(`${sb}/v2/events`, { headers: { Accept: 'text/event-stream' }, redirect: 'manual' });
    expect(r1.status).toBe(401);
    await r1.text();
    const r2 = await fetch(`${sb}/v2/events`, { headers: { Accept: 'text/event-stream', ...auth }, redirect: 'manual' });
    expect(r2.status).toBe(302);
    await r2.body?.cancel();
  });

  it('leaves the control API open', async () => {
    const r = await getJson(`${emu.url}/_emulator/state`);
    expect(r.status).toBe(200);
  });
});

describe('slow consumers', () => {
  let emu: Emulator;
  beforeAll(async () => { emu = await startEmulator({ maxOutstanding: 16 }); });
  afterAll(async () => { await emu.close(); });

  it('closes a stream holding more than maxOutstanding unwritten events, keeps readers', async () => {
    const slow = await openStream(emu.url);
    await slow.waitForEvent((e) => e.event === 'event_stream_attached');
    slow.pause();
    // A reader that keeps up, discarding what it gets.
    const u = new URL(emu.url);
    const fast = net.connect(Number(u.port), u.hostname);
    let fastBytes = 0;
    fast.on('data', (d: Buffer) => { fastBytes += d.length; });
    fast.write(`GET /v2/events HTTP/1.1\r\nHost: ${u.host}\r\nAccept: text/event-stream\r\n\r\n`);
    await waitUntil(() => emu.streamCount === 2);
    const pad = 'x'.repeat(64 * 1024);
    let sent = 0;
    while (emu.streamCount === 2 && sent < 5000) {
      emu.publishEvent({ eventType: 'padding_event', pad });
      sent++;
      await new Promise((r) => setImmediate(r));
    }
    expect(emu.streamCount).toBe(1);
    expect(emu.state()['slowConsumerDisconnects']).toBe(1);
    slow.resume();
    await slow.waitForEnd();
    expect(slow.events().filter((e) => e.event === 'padding_event').length).toBeLessThan(sent);
    expect(fastBytes).toBeGreaterThan(0);
    fast.destroy();
  });
});
