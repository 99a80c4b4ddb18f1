import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { planReload, withLiveValues } from '../../src/config/reload.ts';

describe('planReload', () => {
  it('sorts changed options into live and restart, and ignores unchanged ones', () => {
    const before = loadConfig(['--group', 'external', '--dns-port', '5353'], {});
    const after = loadConfig(['--group', '*', '--strict-mode', '--log-level', 'debug', '--dns-port', '5354', '--drain-timeout', '5'], {});
    expect(planReload(before, after)).toEqual({ live: ['group', 'strict-mode', 'log-level'], restart: ['dns-port', 'drain-timeout'] });
    expect(planReload(before, before)).toEqual({ live: [], restart: [] });
  });
});

describe('withLiveValues', () => {
  it('takes only the live options from the reloaded configuration', () => {
    const before = loadConfig(['--group', 'external', '--dns-port', '5353'], {});
    const after = loadConfig(['--group', '*', '--log-level', 'debug', '--dns-port', '5354'], {});
    const running = withLiveValues(before, after);
    expect(running.groups).toEqual(['*']);
    expect(running.logLevel).toBe('debug');
    expect(running.dnsPort).toBe(5353);
    expect(planReload(running, after)).toEqual({ live: [], restart: ['dns-port'] });
  });
});
