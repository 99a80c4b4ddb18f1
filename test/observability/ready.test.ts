import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { coreRoutes, createAdminServer } from '../../src/admin/server.ts';
import { createLogger } from '../../src/log.ts';
import type { SyncStatus } from '../../src/marathon/sync.ts';
import { createMetrics } from '../../src/metrics/registry.ts';
import { EMPTY_TABLE } from '../../src/model/routing-table.ts';

const SYNCED: SyncStatus = {
  ready: true,
  stream: 'connected',
  streamUrl: 'http://127.0.0.1:8080',
  marathon: 'http://127.0.0.1:8080',
  leader: '127.0.0.1:8080',
  lastEventAt: undefined,
  lastSyncAt: Date.now(),
  lastSyncError: undefined,
  applies: 1,
  eventsApplied: 0,
};

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function admin(status: () => SyncStatus, pending: () => readonly string[]): Promise<string> {
  const routes = coreRoutes({ table: () => EMPTY_TABLE, status, metrics: createMetrics({ processMetrics: false }), version: 'test', pending });
  const server = createAdminServer(routes, createLogger('silent'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('/ready', () => {
  it('is 503 after the sync while a part cannot serve yet (the first DNS zone being built), naming it; then 200', async () => {
    let pending: string[] = ['dns: the first zone is being built; queries get SERVFAIL meanwhile'];
    const url = await admin(() => SYNCED, () => pending);
    const during = await fetch(`${url}/ready`);
    expect(during.status).toBe(503);
    expect(await during.json()).toMatchObject({ ready: false, pending: [expect.stringContaining('first zone')] as unknown, lastSyncError: null });
    pending = [];
    const after = await fetch(`${url}/ready`);
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ ready: true, pending: [] });
  });

  it('is 503 before the first sync whatever the parts say, and lists no part then', async () => {
    const url = await admin(() => ({ ...SYNCED, ready: false, lastSyncAt: undefined }), () => ['dns: not asked']);
    const before = await fetch(`${url}/ready`);
    expect(before.status).toBe(503);
    expect(await before.json()).toMatchObject({ ready: false, pending: [] });
  });
});
