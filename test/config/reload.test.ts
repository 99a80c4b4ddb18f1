import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { planReload } from '../../src/config/reload.ts';

describe('planReload', () => {
  it('sorts changed options into live and restart, and ignores unchanged ones', () => {
    const before = loadConfig(['--group', 'external', '--dns-port', '5353'], {});
    const after = loadConfig(['--group', '*', '--strict-mode', '--log-level', 'debug', '--dns-port', '5354', '--drain-timeout', '5'], {});
    expect(planReload(before, after)).toEqual({ live: ['group', 'strict-mode', 'log-level'], restart: ['dns-port', 'drain-timeout'] });
    expect(planReload(before, before)).toEqual({ live: [], restart: [] });
  });
});
