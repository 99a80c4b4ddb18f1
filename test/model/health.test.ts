import { describe, expect, it } from 'vitest';
import type { Task, TaskHealth, TaskState } from '../../src/model/app.ts';
import { healthVerdict, healthVerdictFromCounts, isRoutable } from '../../src/model/health.ts';

describe('healthVerdict (CONTRACT §4.1/§4.3)', () => {
  it.each<[string, number, boolean[], boolean, TaskHealth]>([
    ['no checks, no results', 0, [], true, 'none'],
    ['no checks, stray results', 0, [false], true, 'none'],
    ['empty results = unknown, not healthy', 1, [], true, 'unknown'],
    ['empty results during rollout', 2, [], false, 'unknown'],
    ['one check, alive', 1, [true], true, 'healthy'],
    ['one check, not alive', 1, [false], true, 'unhealthy'],
    ['fewer results than checks, all alive', 3, [true, true], true, 'unknown'],
    ['fewer results than checks, one dead', 3, [true, false], true, 'unhealthy'],
    ['one result per check, all alive', 3, [true, true, true], true, 'healthy'],
    ['one result per check, last dead', 3, [true, true, false], true, 'unhealthy'],
    ['more results than checks, all alive', 1, [true, true], true, 'healthy'],
    ['rollout fallback: at least one result, all alive', 3, [true], false, 'healthy'],
    ['rollout fallback: a dead result', 3, [true, false], false, 'unhealthy'],
  ])('%s', (_name, checks, alive, versionMatches, expected) => {
    expect(healthVerdict(checks, alive, versionMatches)).toBe(expected);
    const allAlive = alive.every((a) => a);
    expect(healthVerdictFromCounts(checks, alive.length, allAlive, versionMatches)).toBe(expected);
  });
});

function task(state: TaskState, health: TaskHealth): Task {
  return {
    id: 'a.instance-1._app.1',
    instanceId: 'a.instance-1',
    appId: '/a',
    host: 'h',
    agentId: undefined,
    ipAddresses: [],
    ports: [31000],
    state,
    health,
    version: undefined,
    stagedAt: undefined,
    startedAt: undefined,
  };
}

const ALL_STATES: readonly TaskState[] = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_UNREACHABLE',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
];

describe('isRoutable', () => {
  it.each(ALL_STATES)('%s routes only when it is TASK_RUNNING', (state) => {
    const expected = state === 'TASK_RUNNING';
    expect(isRoutable(task(state, 'none'), true)).toBe(expected);
    expect(isRoutable(task(state, 'healthy'), true)).toBe(expected);
    expect(isRoutable(task(state, 'healthy'), false)).toBe(expected);
    expect(isRoutable(task(state, 'unhealthy'), false)).toBe(expected);
  });

  it('a running task with checks honoured needs health none or healthy', () => {
    expect(isRoutable(task('TASK_RUNNING', 'none'), true)).toBe(true);
    expect(isRoutable(task('TASK_RUNNING', 'healthy'), true)).toBe(true);
    expect(isRoutable(task('TASK_RUNNING', 'unknown'), true)).toBe(false);
    expect(isRoutable(task('TASK_RUNNING', 'unhealthy'), true)).toBe(false);
  });

  it('with --health-check off, any running task routes', () => {
    expect(isRoutable(task('TASK_RUNNING', 'unknown'), false)).toBe(true);
    expect(isRoutable(task('TASK_RUNNING', 'unhealthy'), false)).toBe(true);
  });

  it('TASK_KILLING leaves the pool even when healthy', () => {
    expect(isRoutable(task('TASK_KILLING', 'healthy'), true)).toBe(false);
  });
});
