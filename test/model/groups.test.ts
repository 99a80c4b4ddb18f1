import { describe, expect, it } from 'vitest';
import { hasGroup, isExposed, type ExposureOptions } from '../../src/model/groups.ts';
import { parseServiceSpecs } from '../../src/model/labels.ts';
import type { ServiceSpec } from '../../src/model/service-spec.ts';

/** Specs of a two-port app (like /prod/web/api of the Marathon contract's example). */
function specs(labels: Record<string, string>): readonly ServiceSpec[] {
  return parseServiceSpecs('/prod/web/api', labels, 2).specs;
}

function exposedPorts(labels: Record<string, string>, options: ExposureOptions): number[] {
  const out: number[] = [];
  specs(labels).forEach((spec, i) => {
    if (isExposed(spec, options)) out.push(i);
  });
  return out;
}

const lb = (groups: string[], strictMode = false): ExposureOptions => ({ groups, strictMode });

describe('hasGroup (marathon-lb has_group)', () => {
  it('matches on a shared name', () => {
    expect(hasGroup(['external'], ['external'])).toBe(true);
    expect(hasGroup(['external'], ['internal', 'external'])).toBe(true);
    expect(hasGroup(['internal', 'external'], ['external'])).toBe(true);
    expect(hasGroup(['external'], ['internal'])).toBe(false);
  });

  it('is case-sensitive', () => {
    expect(hasGroup(['External'], ['external'])).toBe(false);
  });

  it('* on the LB matches everything, including no group', () => {
    expect(hasGroup(['*'], ['internal'])).toBe(true);
    expect(hasGroup(['*'], [])).toBe(true);
    expect(hasGroup(['external', '*'], [])).toBe(true);
  });

  it('* in an app label is only a name', () => {
    expect(hasGroup(['external'], ['*'])).toBe(false);
    expect(hasGroup(['*'], ['*'])).toBe(true);
  });

  it('an LB with no groups matches nothing', () => {
    expect(hasGroup([], ['external'])).toBe(false);
    expect(hasGroup([], [])).toBe(false);
  });
});

describe('isExposed: groups', () => {
  it('HAPROXY_GROUP=external is exposed on --group external, not on --group internal', () => {
    expect(exposedPorts({ HAPROXY_GROUP: 'external' }, lb(['external']))).toEqual([0, 1]);
    expect(exposedPorts({ HAPROXY_GROUP: 'external' }, lb(['internal']))).toEqual([]);
  });

  it('a comma list in HAPROXY_GROUP matches any of its names', () => {
    expect(exposedPorts({ HAPROXY_GROUP: 'internal, external' }, lb(['external']))).toEqual([0, 1]);
    expect(exposedPorts({ HAPROXY_GROUP: 'internal, external' }, lb(['internal']))).toEqual([0, 1]);
    expect(exposedPorts({ HAPROXY_GROUP: 'internal, external' }, lb(['ops']))).toEqual([]);
  });

  it('multiple --group values match any of them', () => {
    expect(exposedPorts({ HAPROXY_GROUP: 'internal' }, lb(['external', 'internal']))).toEqual([0, 1]);
  });

  it('--group * exposes every app, with or without a group label', () => {
    expect(exposedPorts({ HAPROXY_GROUP: 'internal' }, lb(['*']))).toEqual([0, 1]);
    expect(exposedPorts({}, lb(['*']))).toEqual([0, 1]);
  });

  it('an app without HAPROXY_GROUP is exposed only on * LBs', () => {
    expect(exposedPorts({ HAPROXY_0_VHOST: 'a.example.com' }, lb(['external']))).toEqual([]);
    expect(exposedPorts({ HAPROXY_0_VHOST: 'a.example.com' }, lb(['external', '*']))).toEqual([0, 1]);
  });

  it('per-port group overrides the app group: app internal, port 0 external', () => {
    const labels = { HAPROXY_GROUP: 'internal', HAPROXY_0_GROUP: 'external' };
    expect(exposedPorts(labels, lb(['external']))).toEqual([0]);
    expect(exposedPorts(labels, lb(['internal']))).toEqual([1]);
    expect(exposedPorts(labels, lb(['internal', 'external']))).toEqual([0, 1]);
  });

  it('per-port group overrides the app group: app external, port 1 internal', () => {
    const labels = { HAPROXY_GROUP: 'external', HAPROXY_1_GROUP: 'internal' };
    expect(exposedPorts(labels, lb(['external']))).toEqual([0]);
    expect(exposedPorts(labels, lb(['internal']))).toEqual([1]);
  });

  it('a per-port group exposes that port even when the app has no group', () => {
    expect(exposedPorts({ HAPROXY_1_GROUP: 'external' }, lb(['external']))).toEqual([1]);
  });

  it('an empty per-port group still replaces the app group (only * LBs)', () => {
    const labels = { HAPROXY_GROUP: 'external', HAPROXY_1_GROUP: '' };
    expect(exposedPorts(labels, lb(['external']))).toEqual([0]);
    expect(exposedPorts(labels, lb(['*']))).toEqual([0, 1]);
  });
});

describe('isExposed: ENABLED and --strict-mode', () => {
  const base = { HAPROXY_GROUP: 'external' };

  it('non-strict: ENABLED absent or true is exposed', () => {
    expect(exposedPorts(base, lb(['external']))).toEqual([0, 1]);
    expect(exposedPorts({ ...base, HAPROXY_0_ENABLED: 'true' }, lb(['external']))).toEqual([0, 1]);
  });

  it('non-strict: ENABLED=false hides the port (marathon-lb: enabled = not strict_mode, then the label)', () => {
    expect(exposedPorts({ ...base, HAPROXY_0_ENABLED: 'false' }, lb(['external']))).toEqual([1]);
  });

  it('non-strict: a value marathon-lb does not read as true (e.g. "1") hides the port', () => {
    expect(exposedPorts({ ...base, HAPROXY_1_ENABLED: '1' }, lb(['external']))).toEqual([0]);
  });

  it('strict: only ENABLED=true is exposed', () => {
    const labels = { ...base, HAPROXY_0_ENABLED: 'true' };
    expect(exposedPorts(labels, lb(['external'], true))).toEqual([0]);
    expect(exposedPorts({ ...base, HAPROXY_0_ENABLED: 'false' }, lb(['external'], true))).toEqual([]);
    expect(exposedPorts(base, lb(['external'], true))).toEqual([]);
  });

  it('strict: ENABLED=true still needs a matching group', () => {
    expect(exposedPorts({ ...base, HAPROXY_0_ENABLED: 'yes' }, lb(['internal'], true))).toEqual([]);
    expect(exposedPorts({ ...base, HAPROXY_0_ENABLED: 'yes' }, lb(['*'], true))).toEqual([0]);
  });

  it('--group * does not bypass ENABLED=false', () => {
    expect(exposedPorts({ ...base, HAPROXY_0_ENABLED: 'false' }, lb(['*']))).toEqual([1]);
  });

  it('a malformed access-restricting label keeps the port hidden even with ENABLED=true', () => {
    const labels = { ...base, HAPROXY_0_ENABLED: 'true', HAPROXY_0_AUTH: 'missing-colons', HAPROXY_1_BIND_ADDR: 'eth0' };
    expect(exposedPorts(labels, lb(['external']))).toEqual([]);
    expect(exposedPorts(labels, lb(['external'], true))).toEqual([]);
  });

  it('works on hand-built specs too', () => {
    const spec = specs({ HAPROXY_GROUP: 'a' })[0];
    if (!spec) throw new Error('no spec');
    expect(isExposed({ ...spec, enabled: true }, lb(['a'], true))).toBe(true);
    expect(isExposed({ ...spec, enabled: undefined }, lb(['a'], true))).toBe(false);
    expect(isExposed({ ...spec, groups: ['b'] }, lb(['a']))).toBe(false);
  });
});
