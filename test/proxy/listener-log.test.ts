import { describe, expect, it } from 'vitest';
import { ListenerLog, MAX_LISTENER_LINES } from '../../src/proxy/listener-log.ts';
import { logLines } from '../helpers/log-lines.ts';

/** The log, and its lines once what it gathered is written (as on the next turn of the loop). */
function capture(): { log: ListenerLog; lines: () => Record<string, unknown>[] } {
  const { logger, lines } = logLines('info');
  const log = new ListenerLog(logger);
  return { log, lines: () => (log.flush(), lines) };
}

describe('the listener log', () => {
  it('writes a line per listener when a few open or fail in one turn', () => {
    const { log, lines } = capture();
    log.opened({ listener: 'tcp 0.0.0.0:10001', service: '/web:10001', mode: 'http' });
    log.opened({ listener: 'udp 0.0.0.0:10002', service: '/dns:10002' });
    log.failed({ listener: 'tcp 0.0.0.0:10003', service: '/api:10003', reason: 'EADDRINUSE' });
    const got = lines();
    expect(got.map((l) => l['msg'])).toEqual(['listener open', 'listener open', 'cannot listen on a service port; other services are unaffected']);
    expect(got[0]).toMatchObject({ listener: 'tcp 0.0.0.0:10001', service: '/web:10001', mode: 'http', level: 'info' });
    expect(got[2]).toMatchObject({ listener: 'tcp 0.0.0.0:10003', reason: 'EADDRINUSE', level: 'error' });
  });

  it(`writes one line for all when more than ${MAX_LISTENER_LINES} open or fail in one turn, naming the first ones`, () => {
    const { log, lines } = capture();
    for (let i = 0; i < 10_000; i++) log.opened({ listener: `tcp 127.77.0.1:${10_000 + i}`, service: `/app${i}:${10_000 + i}` });
    for (let i = 0; i < 300; i++) log.failed({ listener: `tcp 127.77.0.1:${30_000 + i}`, service: `/b${i}`, reason: i % 3 === 0 ? 'EACCES' : 'EADDRINUSE' });
    const got = lines();
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ msg: 'listeners open', count: 10_000 });
    expect(got[0]!['listeners']).toHaveLength(MAX_LISTENER_LINES);
    expect(got[1]).toMatchObject({ msg: 'cannot listen on service ports; other services are unaffected', count: 300, reasons: { EACCES: 100, EADDRINUSE: 200 }, level: 'error' });
    // The next turn starts over.
    log.opened({ listener: 'tcp 127.77.0.1:9999', service: '/late:9999' });
    const later = lines();
    expect(later.at(-1)).toMatchObject({ msg: 'listener open', listener: 'tcp 127.77.0.1:9999' });
  });
});
