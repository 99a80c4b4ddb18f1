import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { basicAuthHeader, followRedirect, readCredentialsFile, redactUrl } from '../../src/marathon/client.ts';
import { backoffDelay, eventsPath } from '../../src/marathon/event-stream.ts';

describe('Marathon client helpers', () => {
  it('reads user:password from the first line, keeping spaces that belong to the password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pacer-client-'));
    const file = join(dir, 'creds');
    writeFileSync(file, 'ops: pass word \nignored\n');
    expect(readCredentialsFile(file)).toEqual({ user: 'ops', password: ' pass word ' });
    writeFileSync(file, 'no-colon\n');
    expect(() => readCredentialsFile(file)).toThrow(/user:password/);
    expect(() => readCredentialsFile(join(dir, 'missing'))).toThrow(/cannot read .*ENOENT/);
  });

  it('builds a basic auth header', () => {
    expect(basicAuthHeader({ user: 'a', password: 'b:c' })).toBe(`Basic ${Buffer.from('a:b:c').toString('base64')}`);
  });

  it('follows redirects to the leader but never from https down to http', () => {
    expect(followRedirect('http://standby:8080/v2/events?event_type=x', 'http://leader:8080/v2/events?event_type=x')).toBe(
      'http://leader:8080/v2/events?event_type=x',
    );
    expect(followRedirect('http://standby:8080/v2/events', '/v2/events?a=1')).toBe('http://standby:8080/v2/events?a=1');
    expect(() => followRedirect('https://standby:8443/v2/events', 'http://leader:8080/v2/events')).toThrow(/https to http/);
    expect(() => followRedirect('http://standby:8080/v2/events', 'file:///etc/passwd')).toThrow(/refused/);
  });

  it('redacts user info from URLs', () => {
    expect(redactUrl('http://user:secret@marathon:8080/v2/apps')).toBe('http://marathon:8080/v2/apps');
  });
});

describe('event stream', () => {
  it('asks Marathon to filter events on its side', () => {
    expect(eventsPath()).toMatch(/^\/v2\/events\?event_type=status_update_event&event_type=instance_changed_event&/);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffDelay(0, 500, 30_000, () => 0)).toBe(250);
    expect(backoffDelay(0, 500, 30_000, () => 1)).toBe(500);
    expect(backoffDelay(3, 500, 30_000, () => 1)).toBe(4_000);
    expect(backoffDelay(20, 500, 30_000, () => 1)).toBe(30_000);
    expect(backoffDelay(20, 500, 30_000, () => 0)).toBe(15_000);
  });
});
