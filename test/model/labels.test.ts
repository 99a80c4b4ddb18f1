import { describe, expect, it } from 'vitest';
import {
  OVERRIDABLE_TEMPLATE_NAMES,
  TEMPLATE_LABEL_NAMES,
  isIPv6,
  parseServiceSpecs,
  type ParsedLabels,
} from '../../src/model/labels.ts';
import type { LabelProblem, ServiceSpec } from '../../src/model/service-spec.ts';

/** Labels shaped like the §2.2 example app (/prod/web/api: port 0 "http", port 1 "admin"). */
const API_ID = '/prod/web/api';
const apiLabels = (extra: Record<string, string> = {}): Record<string, string> => ({
  HAPROXY_GROUP: 'external',
  ...extra,
});

function parse(labels: Record<string, string>, portCount = 2, appId = API_ID): ParsedLabels {
  return parseServiceSpecs(appId, labels, portCount);
}

function spec0(labels: Record<string, string>, portCount = 2): ServiceSpec {
  const { specs } = parse(labels, portCount);
  const s = specs[0];
  if (!s) throw new Error('no spec for port 0');
  return s;
}

function problemLabels(problems: readonly LabelProblem[]): string[] {
  return problems.map((p) => p.label);
}

describe('parseServiceSpecs: shape and defaults', () => {
  it('returns one spec per port with marathon-lb defaults', () => {
    const { specs, problems } = parse(apiLabels(), 2);
    expect(specs).toHaveLength(2);
    expect(problems).toEqual([]);
    const expected: ServiceSpec = {
      groups: ['external'],
      groupSource: 'app',
      enabled: undefined,
      vhosts: [],
      paths: [],
      pathsIgnoreCase: false,
      mode: undefined,
      port: undefined,
      bindAddr: undefined,
      bindOptions: undefined,
      balance: 'roundrobin',
      sticky: false,
      redirectToHttps: false,
      useHsts: false,
      sslCerts: [],
      auth: undefined,
      backendWeight: 0,
      healthCheckPortIndex: undefined,
      networkAllowedAcl: [],
      httpBackendRedir: undefined,
      proxypassPath: undefined,
      revproxyPath: undefined,
      deployment: undefined,
      templates: {},
    };
    expect(specs[0]).toEqual(expected);
    expect(specs[1]).toEqual(expected);
  });

  it('returns no specs for an app without ports', () => {
    expect(parse({}, 0)).toEqual({ specs: [], problems: [] });
  });

  it('ignores non-HAPROXY labels silently', () => {
    const { specs, problems } = parse({ HABITAT_SERVICE: 'redis.default', VIP_0: '/api:9090', DCOS_SERVICE_NAME: 'api', hello: 'x' });
    expect(problems).toEqual([]);
    expect(specs[0]?.groups).toEqual([]);
    expect(specs[0]?.groupSource).toBe('none');
  });

  it('does not mutate its input', () => {
    const labels = Object.freeze(apiLabels({ HAPROXY_0_VHOST: 'API.Example.com' }));
    expect(() => parse(labels)).not.toThrow();
    expect(labels.HAPROXY_0_VHOST).toBe('API.Example.com');
  });
});

describe('groups', () => {
  it('splits HAPROXY_GROUP on commas and trims', () => {
    const { specs } = parse({ HAPROXY_GROUP: ' external , internal,,external ' });
    expect(specs[0]?.groups).toEqual(['external', 'internal']);
    expect(specs[1]?.groups).toEqual(['external', 'internal']);
  });

  it('HAPROXY_{n}_GROUP replaces (does not extend) HAPROXY_GROUP for that port only', () => {
    const { specs } = parse({ HAPROXY_GROUP: 'internal', HAPROXY_0_GROUP: 'external' });
    expect(specs[0]?.groups).toEqual(['external']);
    expect(specs[0]?.groupSource).toBe('port');
    expect(specs[1]?.groups).toEqual(['internal']);
    expect(specs[1]?.groupSource).toBe('app');
  });

  it('a port group works without an app group', () => {
    const { specs } = parse({ HAPROXY_1_GROUP: 'internal,ops' });
    expect(specs[0]?.groups).toEqual([]);
    expect(specs[0]?.groupSource).toBe('none');
    expect(specs[1]?.groups).toEqual(['internal', 'ops']);
  });

  it('an empty HAPROXY_{n}_GROUP still replaces the app group, and is reported', () => {
    const { specs, problems } = parse({ HAPROXY_GROUP: 'external', HAPROXY_1_GROUP: '  ' });
    expect(specs[1]?.groups).toEqual([]);
    expect(specs[1]?.groupSource).toBe('port');
    expect(specs[0]?.groups).toEqual(['external']);
    expect(problemLabels(problems)).toEqual(['HAPROXY_1_GROUP']);
  });

  it('an empty HAPROXY_GROUP is reported and means no group', () => {
    const { specs, problems } = parse({ HAPROXY_GROUP: '' });
    expect(specs[0]?.groups).toEqual([]);
    expect(specs[0]?.groupSource).toBe('none');
    expect(problems).toHaveLength(1);
    expect(problems[0]?.reason).toContain("--group '*'");
  });
});

describe('booleans (marathon-lb string_to_bool)', () => {
  it.each(['true', 'True', 'TRUE', 't', 'T', 'yes', 'Yes', 'y', ' y '])('%j is true', (v) => {
    const s = spec0({ HAPROXY_0_ENABLED: v, HAPROXY_0_STICKY: v, HAPROXY_0_REDIRECT_TO_HTTPS: v, HAPROXY_0_USE_HSTS: v });
    expect([s.enabled, s.sticky, s.redirectToHttps, s.useHsts]).toEqual([true, true, true, true]);
  });

  it.each(['false', 'False', 'f', 'no', 'N'])('%j is false without a problem', (v) => {
    const { specs, problems } = parse({ HAPROXY_0_ENABLED: v, HAPROXY_0_STICKY: v });
    expect(specs[0]?.enabled).toBe(false);
    expect(specs[0]?.sticky).toBe(false);
    expect(problems).toEqual([]);
  });

  it.each(['1', 'on', 'enabled', ''])('%j is false, as in marathon-lb, and reported', (v) => {
    const { specs, problems } = parse({ HAPROXY_0_ENABLED: v, HAPROXY_1_ENABLED: 'true' });
    expect(specs[0]?.enabled).toBe(false);
    expect(specs[1]?.enabled).toBe(true);
    expect(problems).toEqual([
      expect.objectContaining({ appId: API_ID, label: 'HAPROXY_0_ENABLED', value: v, reason: expect.stringContaining('treated as false') }),
    ]);
  });

  it('ENABLED absent stays undefined (the LB mode decides)', () => {
    expect(spec0({ HAPROXY_0_VHOST: 'a.example.com' }).enabled).toBeUndefined();
  });
});

describe('VHOST', () => {
  it('is a lower-cased, trimmed comma list', () => {
    expect(spec0({ HAPROXY_0_VHOST: ' API.Example.com, www.Example.com ,api.example.com' }).vhosts).toEqual([
      'api.example.com',
      'www.example.com',
    ]);
  });

  it('drops invalid host names, keeps the rest, reports', () => {
    const { specs, problems } = parse({ HAPROXY_0_VHOST: 'ok.example.com,bad host,http://x.example.com' });
    expect(specs[0]?.vhosts).toEqual(['ok.example.com']);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.label).toBe('HAPROXY_0_VHOST');
    expect(problems[0]?.reason).toContain('bad host');
  });

  it('accepts wildcard and single-label names', () => {
    expect(spec0({ HAPROXY_0_VHOST: '*.apps.example.com,localhost' }).vhosts).toEqual(['*.apps.example.com', 'localhost']);
  });
});

describe('PATH and BACKEND_WEIGHT', () => {
  it('splits PATH on whitespace and raises the default weight 0 to 1', () => {
    const s = spec0({ HAPROXY_0_VHOST: 'api.example.com', HAPROXY_0_PATH: '/v2/api  /v3' });
    expect(s.paths).toEqual(['/v2/api', '/v3']);
    expect(s.pathsIgnoreCase).toBe(false);
    expect(s.backendWeight).toBe(1);
  });

  it('keeps the -i flag of marathon-lb docs example "-i /multiple /paths"', () => {
    const s = spec0({ HAPROXY_0_VHOST: 'a.example.com', HAPROXY_0_PATH: '-i /multiple /paths' });
    expect(s.paths).toEqual(['/multiple', '/paths']);
    expect(s.pathsIgnoreCase).toBe(true);
  });

  it('an explicit weight 0 also becomes 1 with PATH (BACKEND_WEIGHT is applied before PATH)', () => {
    expect(spec0({ HAPROXY_0_PATH: '/x', HAPROXY_0_BACKEND_WEIGHT: '0' }).backendWeight).toBe(1);
  });

  it('keeps a non-zero weight, including negative ones', () => {
    expect(spec0({ HAPROXY_0_PATH: '/x', HAPROXY_0_BACKEND_WEIGHT: '5' }).backendWeight).toBe(5);
    expect(spec0({ HAPROXY_0_PATH: '/x', HAPROXY_0_BACKEND_WEIGHT: '-3' }).backendWeight).toBe(-3);
    expect(spec0({ HAPROXY_0_BACKEND_WEIGHT: ' 7 ' }).backendWeight).toBe(7);
  });

  it('weight stays 0 without PATH', () => {
    expect(spec0({ HAPROXY_0_VHOST: 'a.example.com' }).backendWeight).toBe(0);
  });

  it('reports a non-integer weight and unsupported path tokens', () => {
    const { specs, problems } = parse({ HAPROXY_0_BACKEND_WEIGHT: 'heavy', HAPROXY_0_PATH: '/ok -m beg api' });
    expect(specs[0]?.paths).toEqual(['/ok']);
    expect(specs[0]?.backendWeight).toBe(1);
    expect(problemLabels(problems).sort()).toEqual(['HAPROXY_0_BACKEND_WEIGHT', 'HAPROXY_0_PATH']);
  });

  it('a PATH with no usable prefix does not raise the weight', () => {
    const { specs, problems } = parse({ HAPROXY_0_PATH: 'api' });
    expect(specs[0]?.paths).toEqual([]);
    expect(specs[0]?.backendWeight).toBe(0);
    expect(problems).toHaveLength(1);
  });
});

describe('MODE, PORT, BIND_ADDR, BIND_OPTIONS, BALANCE', () => {
  it('MODE is lower-cased tcp or http', () => {
    expect(spec0({ HAPROXY_0_MODE: 'HTTP' }).mode).toBe('http');
    expect(spec0({ HAPROXY_0_MODE: ' tcp ' }).mode).toBe('tcp');
  });

  it.each(['foo', 'udp', ''])('MODE %j is reported and ignored', (v) => {
    const { specs, problems } = parse({ HAPROXY_0_MODE: v, HAPROXY_0_VHOST: 'a.example.com' });
    expect(specs[0]?.mode).toBeUndefined();
    expect(specs[0]?.vhosts).toEqual(['a.example.com']);
    expect(problems).toEqual([expect.objectContaining({ appId: API_ID, label: 'HAPROXY_0_MODE', value: v })]);
  });

  it('PORT is an integer port', () => {
    expect(spec0({ HAPROXY_0_PORT: '80' }).port).toBe(80);
    expect(spec0({ HAPROXY_0_PORT: ' 10101 ' }).port).toBe(10101);
  });

  it.each(['abc', '70000', '0', '-1', '8o', '1.5'])('PORT %j is reported and ignored, other labels still apply', (v) => {
    const { specs, problems } = parse(apiLabels({ HAPROXY_0_PORT: v, HAPROXY_0_STICKY: 'true' }));
    expect(specs[0]?.port).toBeUndefined();
    expect(specs[0]?.sticky).toBe(true);
    expect(specs[0]?.groups).toEqual(['external']);
    expect(problems).toEqual([{ appId: API_ID, label: 'HAPROXY_0_PORT', value: v, reason: 'not a port number (1-65535)' }]);
  });

  it('BIND_ADDR takes IPv4, IPv6, and "*" as all interfaces', () => {
    expect(spec0({ HAPROXY_0_BIND_ADDR: '10.0.0.42' }).bindAddr).toBe('10.0.0.42');
    expect(spec0({ HAPROXY_0_BIND_ADDR: '::1' }).bindAddr).toBe('::1');
    expect(spec0({ HAPROXY_0_BIND_ADDR: '*' }).bindAddr).toBe('0.0.0.0');
  });

  it('a malformed BIND_ADDR fails closed: the port is not exposed', () => {
    const { specs, problems } = parse({ HAPROXY_0_BIND_ADDR: '10.0.0.300', HAPROXY_0_ENABLED: 'true' });
    expect(specs[0]?.bindAddr).toBeUndefined();
    expect(specs[0]?.enabled).toBe(false);
    expect(specs[1]?.enabled).toBeUndefined();
    expect(problemLabels(problems)).toEqual(['HAPROXY_0_BIND_ADDR']);
  });

  it('BIND_OPTIONS is kept verbatim (trimmed)', () => {
    expect(spec0({ HAPROXY_0_BIND_OPTIONS: ' ciphers AES128+EECDH:AES128+EDH force-tlsv12 no-sslv3 ' }).bindOptions).toBe(
      'ciphers AES128+EECDH:AES128+EDH force-tlsv12 no-sslv3',
    );
  });

  it.each(['leastconn', 'source', 'static-rr', 'hdr(host)', 'uri len 10', 'url_param userid', 'random(2)'])('BALANCE %j', (v) => {
    expect(spec0({ HAPROXY_0_BALANCE: v }).balance).toBe(v);
  });

  it('an unknown BALANCE is reported and roundrobin kept', () => {
    const { specs, problems } = parse({ HAPROXY_0_BALANCE: 'fastest' });
    expect(specs[0]?.balance).toBe('roundrobin');
    expect(problemLabels(problems)).toEqual(['HAPROXY_0_BALANCE']);
  });
});

describe('SSL_CERT, AUTH', () => {
  it('SSL_CERT is a path, or a comma list of paths', () => {
    expect(spec0({ HAPROXY_0_SSL_CERT: '/etc/ssl/cert.pem' }).sslCerts).toEqual(['/etc/ssl/cert.pem']);
    expect(spec0({ HAPROXY_0_SSL_CERT: '/etc/ssl/a.pem, /etc/ssl/b.pem' }).sslCerts).toEqual(['/etc/ssl/a.pem', '/etc/ssl/b.pem']);
  });

  it('AUTH is realm:user:hash', () => {
    const hash = '$6$rounds=5000$salt$Zm9vYmFyYmF6';
    expect(spec0({ HAPROXY_0_AUTH: `Restricted Area:admin:${hash}` }).auth).toEqual({
      realm: 'Restricted Area',
      user: 'admin',
      passwordHash: hash,
    });
  });

  it.each(['admin:secret', 'realm:user:hash:extra', 'realm::hash', 'nocolons'])(
    'AUTH %j fails closed, and the problem does not carry the value',
    (v) => {
      const { specs, problems } = parse(apiLabels({ HAPROXY_0_AUTH: v, HAPROXY_0_VHOST: 'admin.example.com' }));
      expect(specs[0]?.auth).toBeUndefined();
      expect(specs[0]?.enabled).toBe(false);
      expect(specs[0]?.vhosts).toEqual(['admin.example.com']);
      expect(problems).toHaveLength(1);
      expect(problems[0]?.label).toBe('HAPROXY_0_AUTH');
      expect(problems[0]?.value).toMatch(/^<redacted: \d colons?>$/);
      expect(problems[0]?.value).not.toContain('secret');
    },
  );
});

describe('BACKEND_HEALTHCHECK_PORT_INDEX, BACKEND_NETWORK_ALLOWED_ACL, HTTP_BACKEND_*', () => {
  it('health-check port index must name a port of the app', () => {
    expect(spec0({ HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1' }).healthCheckPortIndex).toBe(1);
    const { specs, problems } = parse({ HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '2' });
    expect(specs[0]?.healthCheckPortIndex).toBeUndefined();
    expect(problems[0]?.reason).toBe('not a port index of this app (0-1)');
  });

  it('ACL is whitespace-separated as in marathon-lb docs ("10.1.40.0/24 10.1.55.43"); commas also accepted', () => {
    expect(spec0({ HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.1.40.0/24 10.1.55.43' }).networkAllowedAcl).toEqual([
      '10.1.40.0/24',
      '10.1.55.43',
    ]);
    expect(spec0({ HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8,192.168.0.0/16,  fd00::/8' }).networkAllowedAcl).toEqual([
      '10.0.0.0/8',
      '192.168.0.0/16',
      'fd00::/8',
    ]);
  });

  it('bad ACL entries are dropped (narrowing access) and reported', () => {
    const { specs, problems } = parse({ HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/33 10.1.2.3 999.1.1.1 ::1/129' });
    expect(specs[0]?.networkAllowedAcl).toEqual(['10.1.2.3']);
    expect(specs[0]?.enabled).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]?.reason).toContain('10.0.0.0/33 999.1.1.1 ::1/129');
  });

  it('an ACL with no valid entry fails closed', () => {
    const { specs, problems } = parse({ HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: 'office-network' });
    expect(specs[0]?.networkAllowedAcl).toEqual([]);
    expect(specs[0]?.enabled).toBe(false);
    expect(problemLabels(problems)).toEqual(['HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL']);
  });

  it('HTTP_BACKEND_REDIR, PROXYPASS_PATH and REVPROXY_PATH', () => {
    const s = spec0({
      HAPROXY_0_HTTP_BACKEND_REDIR: '/my/content',
      HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: '/path/to/redirect',
      HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/my/content',
    });
    expect([s.httpBackendRedir, s.proxypassPath, s.revproxyPath]).toEqual(['/my/content', '/path/to/redirect', '/my/content']);
    expect(spec0({ HAPROXY_0_HTTP_BACKEND_REDIR: 'https://example.com/home' }).httpBackendRedir).toBe('https://example.com/home');
  });

  it('malformed HTTP_BACKEND_* paths are reported and ignored', () => {
    const { specs, problems } = parse({
      HAPROXY_0_HTTP_BACKEND_REDIR: 'home page',
      HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: 'relative',
      HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '',
    });
    expect([specs[0]?.httpBackendRedir, specs[0]?.proxypassPath, specs[0]?.revproxyPath]).toEqual([undefined, undefined, undefined]);
    expect(problems).toHaveLength(3);
  });
});

describe('template labels', () => {
  it('marathon-lb has 43 per-port overridable templates; 42 are template labels (HTTP_BACKEND_REDIR is a value label)', () => {
    expect(OVERRIDABLE_TEMPLATE_NAMES).toHaveLength(43);
    expect(new Set(OVERRIDABLE_TEMPLATE_NAMES).size).toBe(43);
    expect(TEMPLATE_LABEL_NAMES).toHaveLength(42);
    expect(TEMPLATE_LABEL_NAMES).not.toContain('HTTP_BACKEND_REDIR');
    for (const n of ['FRONTEND_HEAD', 'BACKEND_HEAD', 'BACKEND_HTTP_OPTIONS', 'BACKEND_SERVER_OPTIONS', 'HTTPS_FRONTEND_ACL', 'MAP_HTTP_FRONTEND_ACL']) {
      expect(TEMPLATE_LABEL_NAMES).toContain(n);
    }
  });

  it('every template label is accepted, kept verbatim and not reported', () => {
    const labels: Record<string, string> = {};
    for (const n of TEMPLATE_LABEL_NAMES) labels[`HAPROXY_1_${n}`] = `  ${n.toLowerCase()}\n`;
    const { specs, problems } = parse(labels);
    expect(problems).toEqual([]);
    expect(Object.keys(specs[1]?.templates ?? {})).toHaveLength(42);
    expect(specs[1]?.templates.BACKEND_HTTP_OPTIONS).toBe('  backend_http_options\n');
    expect(specs[0]?.templates).toEqual({});
  });

  it('an empty template value is kept (it disables that fragment in marathon-lb)', () => {
    expect(spec0({ HAPROXY_0_FRONTEND_HEAD: '' }).templates).toEqual({ FRONTEND_HEAD: '' });
  });

  it('global-only templates are not per-port labels', () => {
    const { problems } = parse({ HAPROXY_0_HEAD: 'global', HAPROXY_HTTP_FRONTEND_HEAD: 'x', HAPROXY_0_HTTPS_GROUPED_VHOST_FRONTEND_HEAD: 'y' });
    expect(problemLabels(problems).sort()).toEqual(['HAPROXY_0_HEAD', 'HAPROXY_0_HTTPS_GROUPED_VHOST_FRONTEND_HEAD', 'HAPROXY_HTTP_FRONTEND_HEAD']);
  });
});

describe('deployment labels', () => {
  it('parses HAPROXY_DEPLOYMENT_* app-wide, adding the leading slash to the group', () => {
    const { specs, problems } = parse({
      HAPROXY_GROUP: 'external',
      HAPROXY_DEPLOYMENT_GROUP: 'nginx',
      HAPROXY_DEPLOYMENT_ALT_PORT: '10001',
      HAPROXY_DEPLOYMENT_COLOUR: 'blue',
      HAPROXY_DEPLOYMENT_STARTED_AT: '2016-02-01T15:51:38.184623',
      HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '3',
      HAPROXY_DEPLOYMENT_NEW_INSTANCES: '1',
    });
    expect(problems).toEqual([]);
    const expected = {
      group: '/nginx',
      altPort: 10001,
      colour: 'blue',
      startedAt: '2016-02-01T15:51:38.184623',
      targetInstances: 3,
      newInstances: 1,
    };
    expect(specs[0]?.deployment).toEqual(expected);
    expect(specs[1]?.deployment).toEqual(expected);
  });

  it('keeps an absolute group and leaves optional fields undefined', () => {
    expect(spec0({ HAPROXY_DEPLOYMENT_GROUP: '/prod/nginx' }).deployment).toEqual({
      group: '/prod/nginx',
      altPort: undefined,
      colour: undefined,
      startedAt: undefined,
      targetInstances: undefined,
      newInstances: undefined,
    });
  });

  it('malformed deployment values are reported, the rest kept', () => {
    const { specs, problems } = parse({
      HAPROXY_DEPLOYMENT_GROUP: 'nginx',
      HAPROXY_DEPLOYMENT_ALT_PORT: 'high',
      HAPROXY_DEPLOYMENT_STARTED_AT: 'yesterday',
      HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '-2',
      HAPROXY_DEPLOYMENT_COLOUR: 'green',
    });
    expect(specs[0]?.deployment?.colour).toBe('green');
    expect(specs[0]?.deployment?.altPort).toBeUndefined();
    expect(specs[0]?.deployment?.startedAt).toBeUndefined();
    expect(specs[0]?.deployment?.targetInstances).toBeUndefined();
    expect(problemLabels(problems).sort()).toEqual([
      'HAPROXY_DEPLOYMENT_ALT_PORT',
      'HAPROXY_DEPLOYMENT_STARTED_AT',
      'HAPROXY_DEPLOYMENT_TARGET_INSTANCES',
    ]);
  });

  it('deployment labels without HAPROXY_DEPLOYMENT_GROUP are reported once each', () => {
    const { specs, problems } = parse({ HAPROXY_DEPLOYMENT_COLOUR: 'blue', HAPROXY_DEPLOYMENT_ALT_PORT: 'x' });
    expect(specs[0]?.deployment).toBeUndefined();
    expect(problems).toHaveLength(2);
    expect(problems.find((p) => p.label === 'HAPROXY_DEPLOYMENT_COLOUR')).toEqual({
      appId: API_ID,
      label: 'HAPROXY_DEPLOYMENT_COLOUR',
      value: 'blue',
      reason: 'ignored: HAPROXY_DEPLOYMENT_GROUP is not set',
    });
  });

  it('deployment labels are app-wide: an indexed one is reported', () => {
    const { specs, problems } = parse({ HAPROXY_0_DEPLOYMENT_GROUP: 'nginx' });
    expect(specs[0]?.deployment).toBeUndefined();
    expect(problems[0]?.reason).toBe('app-wide label: write HAPROXY_DEPLOYMENT_GROUP without a port index');
  });
});

describe('unknown and misspelt labels', () => {
  it('reports an index out of range naming the app, label, value and reason', () => {
    const { specs, problems } = parse(apiLabels({ HAPROXY_2_VHOST: 'x.example.com', HAPROXY_0_VHOST: 'a.example.com' }), 2);
    expect(specs[0]?.vhosts).toEqual(['a.example.com']);
    expect(problems).toEqual([
      { appId: API_ID, label: 'HAPROXY_2_VHOST', value: 'x.example.com', reason: 'port index 2 out of range: the app has 2 ports' },
    ]);
  });

  it('reports the literal HAPROXY_{0}_ mistake (marathon-lb #434)', () => {
    const { specs, problems } = parse({ 'HAPROXY_{0}_VHOST': 'a.example.com', 'HAPROXY_{n}_MODE': 'http' });
    expect(specs[0]?.vhosts).toEqual([]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toEqual({
      appId: API_ID,
      label: 'HAPROXY_{0}_VHOST',
      value: 'a.example.com',
      reason: expect.stringContaining('HAPROXY_0_VHOST'),
    });
    expect(problems[0]?.reason).toContain('#434');
  });

  it('reports unknown names, missing indexes, leading zeros and lower case', () => {
    const { specs, problems } = parse({
      HAPROXY_0_VHOTS: 'typo.example.com',
      HAPROXY_VHOST: 'noindex.example.com',
      HAPROXY_00_MODE: 'http',
      haproxy_0_vhost: 'lower.example.com',
      HAPROXY_0_vhost: 'mixed.example.com',
      HAPROXY_SOMETHING: 'x',
    });
    expect(specs[0]?.vhosts).toEqual([]);
    expect(specs[0]?.mode).toBeUndefined();
    const reasons = Object.fromEntries(problems.map((p) => [p.label, p.reason]));
    expect(reasons).toEqual({
      HAPROXY_0_VHOTS: 'unknown HAPROXY_* label',
      HAPROXY_VHOST: 'per-port label without a port index: write HAPROXY_0_VHOST (or HAPROXY_<n>_VHOST)',
      HAPROXY_00_MODE: 'port index written with a leading zero: marathon-lb only reads HAPROXY_0_MODE',
      haproxy_0_vhost: 'label names are case-sensitive: marathon-lb only reads upper-case HAPROXY_* keys',
      HAPROXY_0_vhost: 'label names are case-sensitive: write the name in upper case',
      HAPROXY_SOMETHING: 'unknown HAPROXY_* label',
    });
  });

  it('labels for ports beyond portCount on a port-less app are all reported', () => {
    const { specs, problems } = parse({ HAPROXY_0_VHOST: 'a.example.com', HAPROXY_GROUP: 'external' }, 0);
    expect(specs).toEqual([]);
    expect(problems[0]?.reason).toBe('port index 0 out of range: the app has 0 ports');
  });
});

describe('a realistic app', () => {
  it('parses a two-port app with vhost, auth, acl and an internal admin port', () => {
    const hash = '$2y$05$ZtnvrLrxfWTKkNDHFsKdT.UnpVCd7JX5XwWcpVf5NL2U1ZMvFyJ9y';
    const { specs, problems } = parse({
      HAPROXY_GROUP: 'external',
      HAPROXY_0_VHOST: 'api.example.com,API.example.org',
      HAPROXY_0_PATH: '/v1',
      HAPROXY_0_REDIRECT_TO_HTTPS: 'true',
      HAPROXY_0_USE_HSTS: 'yes',
      HAPROXY_0_AUTH: `api:ops:${hash}`,
      HAPROXY_0_BACKEND_HTTP_OPTIONS: '  option forwardfor\n',
      HAPROXY_1_GROUP: 'internal',
      HAPROXY_1_MODE: 'tcp',
      HAPROXY_1_PORT: '9090',
      HAPROXY_1_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8',
      HAPROXY_1_ENABLED: 'true',
      HABITAT_SERVICE_GROUP: 'default',
    });
    expect(problems).toEqual([]);
    expect(specs[0]).toMatchObject({
      groups: ['external'],
      vhosts: ['api.example.com', 'api.example.org'],
      paths: ['/v1'],
      backendWeight: 1,
      redirectToHttps: true,
      useHsts: true,
      auth: { realm: 'api', user: 'ops', passwordHash: hash },
      templates: { BACKEND_HTTP_OPTIONS: '  option forwardfor\n' },
      enabled: undefined,
    });
    expect(specs[1]).toMatchObject({
      groups: ['internal'],
      groupSource: 'port',
      mode: 'tcp',
      port: 9090,
      networkAllowedAcl: ['10.0.0.0/8'],
      enabled: true,
      vhosts: [],
    });
  });
});

describe('isIPv6', () => {
  it.each(['::', '::1', 'fe80::1', '2001:db8::8a2e:370:7334', '1:2:3:4:5:6:7:8', '::ffff:10.0.0.1', '1::'])('%s is valid', (v) => {
    expect(isIPv6(v)).toBe(true);
  });
  it.each(['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7', 'fe80::1%eth0', '::ffff:10.0.0.256', ':'])(
    '%s is invalid',
    (v) => {
      expect(isIPv6(v)).toBe(false);
    },
  );
});

describe('performance', () => {
  it('parses 10,000 apps without a problem (the time is measured by bench/, not asserted here)', () => {
    const apps: Record<string, string>[] = [];
    for (let i = 0; i < 10_000; i++) {
      apps.push({
        HAPROXY_GROUP: i % 3 === 0 ? 'external' : 'internal,external',
        HAPROXY_0_VHOST: `app${i}.example.com`,
        HAPROXY_0_PATH: '/api /v2',
        HAPROXY_0_STICKY: 'true',
        HAPROXY_1_MODE: 'tcp',
        HAPROXY_1_PORT: String(10_000 + (i % 5000)),
        HABITAT_SERVICE: 'x',
        VIP_0: '/app:80',
      });
    }
    let problems = 0;
    for (let i = 0; i < apps.length; i++) problems += parseServiceSpecs(`/app/${i}`, apps[i] ?? {}, 2).problems.length;
    expect(problems).toBe(0);
  });
});
