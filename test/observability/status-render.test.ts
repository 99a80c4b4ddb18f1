/**
 * The status page without a browser: the renderer escapes every value, and the ring buffer of
 * routing changes keeps the newest entries and diffs tables it was not given diffs for.
 */
import { describe, expect, it } from 'vitest';
import { RoutingChanges, diffTables } from '../../src/admin/changes.ts';
import { esc, renderStatusPage, type StatusModel } from '../../src/admin/status-page.ts';
import type { SyncStatus } from '../../src/marathon/sync.ts';
import { EMPTY_TABLE, type Backend, type RoutingTable, type Service } from '../../src/model/routing-table.ts';
import type { ServiceSpec } from '../../src/model/service-spec.ts';

const EVIL = `<script>alert("x")</script>&'`;

function backend(taskId: string, port: number, extra: Partial<Backend> = {}): Backend {
  return { taskId, address: '10.0.0.1', port, host: 'agent-1', health: 'healthy', state: 'TASK_RUNNING', routable: true, draining: false, startedAt: undefined, ...extra };
}

function service(port: number, backends: Backend[], vhosts: string[] = []): Service {
  const spec = { groups: ['external'], vhosts, paths: [], balance: 'roundrobin' } as unknown as ServiceSpec;
  return { key: `/app${port}:0`, appId: `/app${port}`, portIndex: 0, portName: undefined, servicePort: port, listenPort: port, bindAddress: '0.0.0.0', protocols: ['tcp'], mode: 'tcp', spec, backends };
}

function table(version: number, services: Service[], extra: Partial<RoutingTable> = {}): RoutingTable {
  return { ...EMPTY_TABLE, version, builtAt: 1_700_000_000_000, services, ...extra };
}

const STATUS: SyncStatus = {
  ready: true,
  stream: 'connected',
  streamUrl: 'http://m:8080/v2/events',
  marathon: 'http://m:8080',
  leader: 'm:8080',
  lastEventAt: 1_700_000_000_000,
  lastSyncAt: 1_700_000_000_000,
  lastSyncError: EVIL,
  applies: 3,
  eventsApplied: 9,
};

describe('the status page renderer', () => {
  it('escapes every user-controlled value', () => {
    const t = table(2, [service(10001, [backend(EVIL, 31000)], [EVIL])], { problems: [{ appId: '/app', label: 'HAPROXY_0_MODE', value: EVIL, reason: EVIL }] });
    const model: StatusModel = {
      now: 1_700_000_005_000,
      version: '0.1.0',
      status: STATUS,
      table: t,
      changes: [{ at: 1_700_000_000_000, version: 2, kind: 'backend-added', port: 10001, app: EVIL, detail: EVIL }],
      backendUp: new Map(),
      listenerProblems: [{ kind: EVIL, count: 1 }],
      dns: [{ rcode: EVIL, count: 2 }],
      sections: [{ title: EVIL, headers: [EVIL], rows: [[EVIL]] }],
    };
    const html = renderStatusPage(model);
    expect(html).not.toContain('<script>alert');
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html).toContain(esc(EVIL));
    expect(esc(EVIL)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
  });

  it('marks a routable backend the proxy reports down as ejected', () => {
    const s = service(10001, [backend('t1', 31000), backend('t2', 31001)]);
    const model: StatusModel = {
      now: 0, version: 'x', status: STATUS, table: table(1, [s]), changes: [],
      backendUp: new Map([[`${s.key}|10.0.0.1:31001`, 0]]), listenerProblems: [], dns: undefined, sections: [],
    };
    const html = renderStatusPage(model);
    expect(html).toContain('data-task="t1" data-verdict="routable"');
    expect(html).toContain('data-task="t2" data-verdict="ejected"');
  });
});

describe('RoutingChanges', () => {
  it('records the first table once, then each change, newest first', () => {
    const changes = new RoutingChanges(10);
    const t1 = table(1, [service(10001, [backend('a', 1), backend('b', 2)])]);
    changes.observe(t1);
    expect(changes.size).toBe(0);
    const t2 = table(2, [service(10001, [backend('a', 1), backend('b', 2, { draining: true, routable: false, state: 'TASK_KILLING' })]), service(10002, [])]);
    changes.observe(t2);
    const t3 = table(3, [service(10002, [])]);
    changes.observe(t3);
    changes.observe(t3); // seen already: ignored
    expect(changes.list().map((c) => [c.version, c.kind, c.port])).toEqual([
      [3, 'service-removed', 10001],
      [2, 'backend-changed', 10001],
      [2, 'service-added', 10002],
    ]);
    expect(changes.list()[1]?.detail).toContain('draining');
  });

  it('keeps only the newest `capacity` entries', () => {
    const changes = new RoutingChanges(3);
    let t = table(1, []);
    changes.observe(t);
    for (let v = 2; v <= 7; v++) {
      t = table(v, [service(10000 + v, [])]);
      changes.observe(t);
    }
    expect(changes.size).toBe(3);
    expect(changes.list().map((c) => c.version)).toEqual([7, 7, 6]);
  });

  it('takes diffs from the sync engine as they come', () => {
    const changes = new RoutingChanges();
    const t1 = table(1, [service(10001, [backend('a', 1)])]);
    changes.record(t1, diffTables(EMPTY_TABLE, t1));
    expect(changes.list()[0]?.detail).toBe('first table: 1 services');
    const t2 = table(2, [service(10001, [])]);
    changes.record(t2, diffTables(t1, t2));
    expect(changes.list()[0]).toMatchObject({ kind: 'backend-removed', port: 10001, version: 2 });
  });
});
