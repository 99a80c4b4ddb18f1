import { describe, expect, it } from 'vitest';
import type { AppState } from '../../src/model/snapshot.ts';
import { TableBuilder, type RoutingTable } from '../../src/model/routing-table.ts';
import { WorkerTable, tableChanges, wholeTable } from '../../src/proxy/worker-table.ts';
import { app, appState, changeOneTask, port, task } from '../helpers/model-data.ts';
import { seededRandom } from '../helpers/random.ts';

const OPTIONS = { groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' };

/** What a worker can compare: the services, in order, as plain data. */
const plain = (table: RoutingTable) => ({ version: table.version, services: JSON.parse(JSON.stringify(table.services)) as unknown });

describe("a proxy worker's copy of the table", () => {
  it('patched with each table\'s changes (through a structured clone, as IPC does) equals the primary\'s table, in order, over 400 random tables', () => {
    const random = seededRandom(7);
    const apps = new Map<string, AppState>();
    let serial = 0;
    const newTask = (appId: string) => task(appId, ++serial, { ports: [31_000 + (serial % 1000)] });
    const addApp = (i: number, servicePort: number) => {
      const id = `/w/app${i}`;
      apps.set(id, appState(app(id, { ports: [port(0, servicePort)] }), [newTask(id), newTask(id)]));
    };
    for (let i = 0; i < 30; i++) addApp(i, 10_000 + i);
    const primary = new TableBuilder(OPTIONS);
    const worker = new WorkerTable();
    let built = primary.build({ apps, info: undefined });
    worker.replace(structuredClone(wholeTable(built.table)));
    expect(plain(worker.table)).toEqual(plain(built.table));
    const kinds = { patched: 0, added: 0, removed: 0, moved: 0 };
    for (let n = 0; n < 400; n++) {
      const ids = [...apps.keys()];
      const r = random();
      if (r < 0.1) {
        addApp(100 + n, 10_000 + Math.floor(random() * 60));
        kinds.added++;
      } else if (r < 0.2 && ids.length > 5) {
        apps.delete(ids[Math.floor(random() * ids.length)]!);
        kinds.removed++;
      } else if (r < 0.3) {
        // A service port that moves: the service keeps its key, the table its order by port.
        const id = ids[Math.floor(random() * ids.length)]!;
        const state = apps.get(id)!;
        apps.set(id, { app: { ...state.app, ports: [port(0, 10_000 + Math.floor(random() * 60))] }, tasks: state.tasks });
        kinds.moved++;
      } else changeOneTask(apps, ids, n, random, newTask);
      const before = built.table;
      built = primary.build({ apps: new Map(apps), info: undefined });
      if (built.table === before) continue;
      const patched = worker.patch(structuredClone(tableChanges(built.table, built.diff)));
      expect(patched, `table ${n}`).toBeDefined();
      expect(plain(patched!.table), `table ${n}`).toEqual(plain(built.table));
      expect(patched!.diff.added.map((s) => s.key).sort()).toEqual(built.diff.added.map((s) => s.key).sort());
      expect(patched!.diff.removed.map((s) => s.key).sort()).toEqual(built.diff.removed.map((s) => s.key).sort());
      expect(patched!.diff.changed.map((c) => c.after.key).sort()).toEqual(built.diff.changed.map((c) => c.after.key).sort());
      kinds.patched++;
    }
    expect(kinds.patched).toBeGreaterThan(300);
    expect(Math.min(kinds.added, kinds.removed, kinds.moved)).toBeGreaterThan(20);
  });

  it('refuses changes that do not follow the version it has (the primary then sends the whole table)', () => {
    const primary = new TableBuilder(OPTIONS);
    const worker = new WorkerTable();
    const apps = new Map([['/a', appState(app('/a', { ports: [port(0, 10_001)] }), [task('/a', 1)])]]);
    const first = primary.build({ apps, info: undefined });
    // Nothing held yet: changes cannot apply.
    expect(worker.patch(tableChanges(first.table, first.diff))).toBeUndefined();
    worker.replace(wholeTable(first.table));
    apps.set('/a', appState(app('/a', { ports: [port(0, 10_001)] }), [task('/a', 1), task('/a', 2)]));
    const second = primary.build({ apps: new Map(apps), info: undefined });
    apps.set('/a', appState(app('/a', { ports: [port(0, 10_001)] }), [task('/a', 2)]));
    const third = primary.build({ apps: new Map(apps), info: undefined });
    expect(worker.patch(tableChanges(third.table, third.diff))).toBeUndefined();
    expect(worker.patch(tableChanges(second.table, second.diff))?.table.version).toBe(second.table.version);
    expect(worker.patch(tableChanges(third.table, third.diff))?.table.version).toBe(third.table.version);
  });
});
