import { describe, expect, it } from 'vitest';
import { MAX_SERVICE_LINES, logTableChange } from '../../src/admin/change-log.ts';
import { TableBuilder } from '../../src/model/routing-table.ts';
import { logLines } from '../helpers/log-lines.ts';
import { app, appState, port, snapshotOf, task } from '../helpers/model-data.ts';

const capture = () => logLines('info');

function cluster(apps: number, tasksPerApp: number) {
  return snapshotOf(
    ...Array.from({ length: apps }, (_, i) => {
      const id = `/log/app${i}`;
      return appState(app(id, { ports: [port(0, 10_000 + i)] }), Array.from({ length: tasksPerApp }, (_, k) => task(id, k + 1, { ports: [31_000 + k] })));
    }),
  );
}

describe('the routing-table change log', () => {
  it('names each service added, removed or changed, with its backends', () => {
    const { logger, lines } = capture();
    const builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
    const first = builder.build(cluster(3, 2));
    logTableChange(logger, first.table, first.diff);
    const second = builder.build(cluster(2, 3));
    logTableChange(logger, second.table, second.diff);
    const msgs = lines.map((l) => `${String(l['msg'])} ${String(l['app'])}`);
    expect(msgs).toEqual([
      'service added /log/app0',
      'service added /log/app1',
      'service added /log/app2',
      'service removed /log/app2',
      'service changed /log/app0',
      'service changed /log/app1',
    ]);
    expect(lines[0]).toMatchObject({ servicePort: 10_000, backends: expect.arrayContaining([expect.stringMatching(/:31001$/)]) as unknown });
    expect(lines[4]).toMatchObject({ backendsIn: [expect.stringMatching(/:31002$/)] as unknown, backendsOut: [] });
  });

  it(`writes ${MAX_SERVICE_LINES} lines of each kind for a table at most, and counts the rest in one line`, () => {
    const { logger, lines } = capture();
    const builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
    const first = builder.build(cluster(250, 1));
    logTableChange(logger, first.table, first.diff);
    const second = builder.build(cluster(250, 2));
    logTableChange(logger, second.table, second.diff);
    const third = builder.build(cluster(0, 0));
    logTableChange(logger, third.table, third.diff);
    const count = (msg: string) => lines.filter((l) => l['msg'] === msg).length;
    expect(count('service added')).toBe(MAX_SERVICE_LINES);
    expect(count('service changed')).toBe(MAX_SERVICE_LINES);
    expect(count('service removed')).toBe(MAX_SERVICE_LINES);
    expect(lines.find((l) => l['msg'] === 'more services added (see /routes)')).toMatchObject({ count: 150, version: first.table.version });
    expect(lines.find((l) => l['msg'] === 'more services changed (see /routes)')).toMatchObject({ count: 150, version: second.table.version });
    expect(lines.find((l) => l['msg'] === 'more services removed')).toMatchObject({ count: 150, version: third.table.version });
  });
});
