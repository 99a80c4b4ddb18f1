import { describe, expect, it } from 'vitest';
import { decodeEvent, SUBSCRIBED_EVENT_TYPES } from '../../src/model/events.ts';

// Payloads as CONTRACT.md §1.6 shows them (one `data:` line each).
const STATUS =
  '{"slaveId":"4fb620fa-ba8d-4eb0-8ae3-f2912aaf015c-S2","taskId":"prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002._app.1",' +
  '"taskStatus":"TASK_RUNNING","message":"","appId":"/prod/web/api","host":"10.0.1.23",' +
  '"ipAddresses":[{"ipAddress":"10.0.1.23","protocol":"IPv4"}],"ports":[31512,31513],' +
  '"version":"2021-09-20T10:15:02.117Z","eventType":"status_update_event","timestamp":"2021-09-20T10:15:09.441Z"}';

describe('decodeEvent', () => {
  it('decodes status_update_event with instance id, ports and IPs', () => {
    const r = decodeEvent('status_update_event', STATUS);
    expect(r).toEqual({
      ok: true,
      value: {
        kind: 'status',
        taskId: 'prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002._app.1',
        instanceId: 'prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002',
        appId: '/prod/web/api',
        state: 'TASK_RUNNING',
        host: '10.0.1.23',
        agentId: '4fb620fa-ba8d-4eb0-8ae3-f2912aaf015c-S2',
        ipAddresses: ['10.0.1.23'],
        ports: [31512, 31513],
        version: '2021-09-20T10:15:02.117Z',
        timestamp: '2021-09-20T10:15:09.441Z',
      },
    });
  });

  it('accepts the raw Mesos states only events carry (TASK_LOST, TASK_GONE_BY_OPERATOR)', () => {
    for (const state of ['TASK_LOST', 'TASK_GONE_BY_OPERATOR']) {
      const r = decodeEvent('status_update_event', STATUS.replace('TASK_RUNNING', state));
      expect(r.ok && r.value.kind === 'status' && r.value.state).toBe(state);
    }
  });

  it('decodes instance_changed_event with null agentId and host', () => {
    const r = decodeEvent(
      'instance_changed_event',
      '{"instanceId":"a.instance-1","condition":"Killing","runSpecId":"/a","agentId":null,"host":null,"runSpecVersion":"2021-09-20T10:15:02.117Z","timestamp":"2021-09-20T10:15:09.443Z","eventType":"instance_changed_event"}',
    );
    expect(r).toEqual({
      ok: true,
      value: { kind: 'instance', instanceId: 'a.instance-1', appId: '/a', condition: 'Killing', version: '2021-09-20T10:15:02.117Z', timestamp: '2021-09-20T10:15:09.443Z' },
    });
  });

  it('decodes health_status_changed_event, including the <=1.3 taskId form', () => {
    const modern = decodeEvent(
      'health_status_changed_event',
      '{"appId":"/a","instanceId":"a.instance-1","version":"v","alive":false,"eventType":"health_status_changed_event","timestamp":"t"}',
    );
    expect(modern).toEqual({ ok: true, value: { kind: 'check', appId: '/a', instanceId: 'a.instance-1', alive: false, timestamp: 't' } });
    const legacy = decodeEvent('health_status_changed_event', '{"appId":"/a","taskId":"a.instance-1._app.3","alive":true}');
    expect(legacy).toEqual({ ok: true, value: { kind: 'check', appId: '/a', instanceId: 'a.instance-1', alive: true, timestamp: undefined } });
  });

  it('decodes instance_health_changed_event with healthy true, false and null', () => {
    for (const healthy of [true, false, null]) {
      const r = decodeEvent(
        'instance_health_changed_event',
        JSON.stringify({ instanceId: 'a.instance-1', runSpecId: '/a', healthy, runSpecVersion: 'v', eventType: 'instance_health_changed_event' }),
      );
      expect(r).toEqual({ ok: true, value: { kind: 'instance-health', instanceId: 'a.instance-1', appId: '/a', healthy, timestamp: undefined } });
    }
  });

  it('turns app-level events into one-app refetches', () => {
    expect(decodeEvent('api_post_event', '{"clientIp":"1.2.3.4","uri":"/v2/apps/x","appDefinition":{"id":"/x"},"eventType":"api_post_event"}')).toEqual({
      ok: true,
      value: { kind: 'app', appIds: ['/x'] },
    });
    expect(decodeEvent('app_terminated_event', '{"appId":"/x","eventType":"app_terminated_event"}')).toEqual({
      ok: true,
      value: { kind: 'app', appIds: ['/x'] },
    });
    const plan = {
      id: '867ed450',
      steps: [{ actions: [{ action: 'RestartApplication', app: '/prod/web/api' }, { action: 'ScaleApplication', app: '/b' }] }],
      version: 'v',
    };
    expect(decodeEvent('deployment_success', JSON.stringify({ id: '867ed450', plan, eventType: 'deployment_success' }))).toEqual({
      ok: true,
      value: { kind: 'app', appIds: ['/prod/web/api', '/b'] },
    });
  });

  it('ignores events pacer does not act on', () => {
    expect(decodeEvent('event_stream_attached', '{"remoteAddress":"10.0.0.7","eventType":"event_stream_attached"}')).toEqual({
      ok: true,
      value: { kind: 'ignored' },
    });
  });

  it.each([
    ['not JSON', 'status_update_event', '{"taskId":'],
    ['not an object', 'status_update_event', '[1,2]'],
    ['missing taskId', 'status_update_event', '{"appId":"/a","taskStatus":"TASK_RUNNING"}'],
    ['unknown state', 'status_update_event', '{"taskId":"a.1","appId":"/a","taskStatus":"TASK_SLEEPING"}'],
    ['port out of range', 'status_update_event', '{"taskId":"a.1","appId":"/a","taskStatus":"TASK_RUNNING","ports":[70000]}'],
    ['healthy not boolean', 'instance_health_changed_event', '{"instanceId":"a.1","runSpecId":"/a","healthy":"yes"}'],
    ['alive missing', 'health_status_changed_event', '{"appId":"/a","instanceId":"a.1"}'],
    ['api_post_event without app id', 'api_post_event', '{"appDefinition":{}}'],
  ])('rejects a malformed payload (%s)', (_name, type, data) => {
    const r = decodeEvent(type, data);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/\S/);
  });

  it('subscribes to the events the sync engine applies', () => {
    expect(SUBSCRIBED_EVENT_TYPES).toEqual(
      expect.arrayContaining(['status_update_event', 'instance_changed_event', 'health_status_changed_event', 'instance_health_changed_event', 'api_post_event', 'deployment_success', 'app_terminated_event']),
    );
  });
});
