/** The pure parts of the HTTP proxy: vhost/path rule order, and header handling. */
import { describe, expect, it } from 'vitest';
import { cookieValue, hostName, upgradeRequestHead, upstreamRequestHeaders } from '../../src/proxy/http/headers.ts';
import { VhostRouter, type RouteSource } from '../../src/proxy/http/router.ts';

function src(target: string, appId: string, vhosts: string[], paths: string[] = [], weight = 0, servicePort = 10000): RouteSource<string> {
  return { target, appId, servicePort, vhosts, paths, pathsIgnoreCase: false, weight: paths.length > 0 && weight === 0 ? 1 : weight };
}

describe('VhostRouter', () => {
  it('puts path rules (weight raised to 1) before the plain vhost rule of the same host', () => {
    const r = new VhostRouter([src('root', '/a', ['x.test']), src('api', '/b', ['x.test'], ['/api'])]);
    expect(r.match('x.test', '/api/1')).toBe('api');
    expect(r.match('x.test', '/other')).toBe('root');
  });

  it('orders by BACKEND_WEIGHT, highest first, then app id and service port', () => {
    const r = new VhostRouter([src('v1', '/a', ['x.test'], ['/api']), src('v2', '/z', ['x.test'], ['/api/v2'], 5)]);
    expect(r.match('x.test', '/api/v2/x')).toBe('v2');
    const tie = new VhostRouter([src('late', '/z', ['x.test'], ['/p']), src('early', '/a', ['x.test'], ['/p'])]);
    expect(tie.match('x.test', '/p')).toBe('early');
    const ports = new VhostRouter([src('high', '/a', ['x.test'], [], 0, 10002), src('low', '/a', ['x.test'], [], 0, 10001)]);
    expect(ports.match('x.test', '/')).toBe('low');
  });

  it('matches paths case-sensitively unless -i was given, and unknown hosts not at all', () => {
    const r = new VhostRouter([src('cs', '/a', ['x.test'], ['/API'])]);
    expect(r.match('x.test', '/api')).toBeUndefined();
    const ci = new VhostRouter([{ ...src('ci', '/a', ['x.test'], ['/API']), pathsIgnoreCase: true }]);
    expect(ci.match('x.test', '/api/x')).toBe('ci');
    expect(ci.match('y.test', '/api')).toBeUndefined();
  });

  it('routes X-Marathon-App-Id case-insensitively', () => {
    const r = new VhostRouter([src('a', '/Prod/Web', [])]);
    expect(r.matchAppId('/prod/web')).toBe('a');
    expect(r.matchAppId('/prod/other')).toBeUndefined();
  });
});

describe('headers', () => {
  const info = { clientAddress: '10.1.2.3', proto: 'http' as const, port: '80' };

  it('drops hop-by-hop headers and the ones Connection names, keeps the rest in order', () => {
    const out = upstreamRequestHeaders(
      ['Host', 'a.test', 'Connection', 'keep-alive, X-Secret', 'X-Secret', '1', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'Proxy-Authorization', 'x', 'Accept', '*/*', 'Expect', '100-continue'],
      info,
    );
    const names = out.filter((_, i) => i % 2 === 0);
    expect(names).toEqual(['Host', 'Accept', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded']);
  });

  it('appends to X-Forwarded-For and Forwarded, and replaces Proto and Port', () => {
    const out = upstreamRequestHeaders(['X-Forwarded-For', '1.1.1.1', 'X-Forwarded-Proto', 'https', 'Forwarded', 'for=1.1.1.1'], { ...info, clientAddress: '::1' });
    const get = (n: string) => out[out.indexOf(n) + 1];
    expect(get('x-forwarded-for')).toBe('1.1.1.1, ::1');
    expect(get('x-forwarded-proto')).toBe('http');
    expect(get('x-forwarded-port')).toBe('80');
    expect(get('forwarded')).toBe('for=1.1.1.1, for="[::1]";proto=http');
    expect(out.filter((x) => x.toLowerCase() === 'x-forwarded-proto')).toHaveLength(1);
  });

  it('keeps Connection and Upgrade on an upgrade request head', () => {
    const head = upgradeRequestHead('GET', '/ws', ['Host', 'a', 'Connection', 'Upgrade', 'Upgrade', 'websocket'], info);
    expect(head).toMatch(/^GET \/ws HTTP\/1\.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n/);
    expect(head.endsWith('\r\n\r\n')).toBe(true);
    expect(head).toContain('x-forwarded-for: 10.1.2.3\r\n');
  });

  it('reads host names and cookies', () => {
    expect(hostName('Web.Example.COM:8080')).toBe('web.example.com');
    expect(hostName('web.example.com.')).toBe('web.example.com');
    expect(hostName('[::1]:80')).toBe('[::1]');
    expect(cookieValue('a=1; mesosphere_server_id=abc; b=2', 'mesosphere_server_id')).toBe('abc');
    expect(cookieValue('xmesosphere_server_id=abc', 'mesosphere_server_id')).toBeUndefined();
  });
});
