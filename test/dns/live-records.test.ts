/**
 * LiveRecords keeps of each task only what its records were derived from, and derives the records
 * of the tasks that go again to take them out (src/dns/live.ts). These cases check that nothing is
 * left behind or lost when an app comes back as the very same AppEntry, when an agent's IPs change
 * under its tasks, and when tasks come and go: the records served are those of a build from scratch.
 */
import { describe, expect, it } from 'vitest';
import type { IpSource } from '../../src/config/options.ts';
import { LiveRecords } from '../../src/dns/live.ts';
import { buildRecords, type HostLookup } from '../../src/dns/names.ts';
import { nameKey } from '../../src/dns/wire.ts';
import { TableBuilder, type RoutingTable } from '../../src/model/routing-table.ts';
import type { AppState } from '../../src/model/snapshot.ts';
import { app, appState, port, task } from '../helpers/model-data.ts';
import { sortedRecords } from './zone-compare.ts';

const options = { domain: 'mesos', ipSources: ['netinfo', 'host'] as IpSource[], nsAddresses: ['10.9.9.9'], ttl: 60 };

function expectServes(live: LiveRecords, table: RoutingTable, lookup: HostLookup, step: string, naming = options): void {
  const scratch = buildRecords(table, naming, lookup);
  expect(sortedRecords(live.records()), step).toEqual(sortedRecords(scratch));
  // And the query path finds what the records say (names encoded on demand).
  for (const name of scratch.names.keys()) {
    expect(live.zone.names.get(nameKey(name)!)?.any?.count, `${step}: ${name}`).toBeGreaterThan(0);
  }
}

function states(): Map<string, AppState> {
  return new Map(
    ['/web', '/api'].map((id, i) => {
      const tasks = [1, 2, 3].map((k) => task(id, i * 10 + k, { host: `agent${k}`, ipAddresses: [`10.1.${i}.${k}`], ports: [31000 + i * 10 + k] }));
      return [id, appState(app(id, { ports: [port(0, 10000 + i, { name: 'http' })] }), tasks)] as const;
    }),
  );
}

describe('LiveRecords without the records it added', () => {
  it('an app that leaves and comes back as the same AppEntry is served whole again', () => {
    const lookup: HostLookup = (host) => [`192.168.0.${host.slice(-1)}`];
    const builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
    const live = new LiveRecords(options, lookup);
    const apps = states();
    const first = builder.build({ apps: new Map(apps) }).table;
    live.apply(first, 1);
    expectServes(live, first, lookup, 'first');
    const without = new Map(apps);
    without.delete('/api');
    const second = builder.build({ apps: without }).table;
    live.apply(second, 2);
    expectServes(live, second, lookup, 'without /api');
    // The same AppState again: the builder hands out the same AppEntry as in the first table.
    const third = builder.build({ apps: new Map(apps) }).table;
    expect(third.apps.find((a) => a.appId === '/api')).toBe(first.apps.find((a) => a.appId === '/api'));
    live.apply(third, 3);
    expectServes(live, third, lookup, '/api back');
  });

  it('tasks that go are taken out with the agent IPs they were added with, after the agent moved', () => {
    let generation = 0;
    const lookup: HostLookup = (host) => [`192.168.${generation}.${host.slice(-1)}`];
    const builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
    const hostOnly = { ...options, ipSources: ['host'] as IpSource[] };
    const live = new LiveRecords(hostOnly, lookup);
    const apps = states();
    live.apply(builder.build({ apps: new Map(apps) }).table, 1);
    // agent2 resolves elsewhere now, but only agent1 is said to have changed: the tasks on agent2 keep their old records.
    generation = 1;
    live.hostsChanged(['agent1'], 2);
    // Then a task on agent2 is killed and one on agent3 turns unhealthy: their records, derived with generation 0, must go.
    const web = apps.get('/web')!;
    const [, onAgent2, onAgent3] = [...web.tasks.values()];
    const tasks = new Map(web.tasks);
    tasks.delete(onAgent2!.id);
    tasks.set(onAgent3!.id, { ...onAgent3!, health: 'unhealthy' });
    apps.set('/web', { app: web.app, tasks });
    const table = builder.build({ apps: new Map(apps) }).table;
    live.apply(table, 3);
    // Only the agent1 task is left routable, with the IP agent1 has now: nothing of agent2's or agent3's old IPs stays.
    expect(live.records().names.get('web.marathon.slave.mesos')?.a).toEqual(['192.168.1.1']);
    expect(live.records().names.get('web.marathon.mesos')?.a).toEqual(['192.168.1.1']);
    // And everything else is what a build from scratch gives with the lookups each task was derived with.
    generation = 1;
    live.hostsChanged(['agent1', 'agent2', 'agent3'], 4);
    expectServes(live, table, lookup, 'all agents settled', hostOnly);
  });
});
