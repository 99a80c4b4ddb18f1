import { describe, expect, it } from 'vitest';
import {
  type Config,
  ConfigError,
  OPTION_NAMES,
  OPTIONS,
  loadConfig,
  parseCommandLine,
  redactedConfig,
} from '../../src/config/load.ts';

/** A readFile over an in-memory set of files; anything else is ENOENT, as Node reports it. */
function files(contents: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = contents[path];
    if (text === undefined) {
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
    }
    return text;
  };
}

function load(argv: string[], env: Record<string, string> = {}, fs: Record<string, string> = {}): Config {
  return loadConfig(argv, env, files(fs));
}

/** The ConfigError message of a failing load, asserting that there is one and only one line. */
function errorOf(argv: string[], env: Record<string, string> = {}, fs: Record<string, string> = {}): string {
  try {
    load(argv, env, fs);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toMatch(/[\r\n]/);
    return message;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify({ argv, env })}`);
}

describe('defaults', () => {
  it('match DESIGN.md and the brief', () => {
    const c = load([]);
    expect(c.marathon).toEqual(['http://marathon.mesos:8080']);
    expect(c.marathonCredentialsFile).toBeUndefined();
    expect(c.groups).toEqual(['external']);
    expect(c.strictMode).toBe(false);
    expect(c.bind).toBe('0.0.0.0');
    expect(c.httpPort).toBe(80);
    expect(c.httpsPort).toBe(443);
    expect(c.tlsCerts).toEqual([]);
    expect(c.adminBind).toBe('0.0.0.0');
    expect(c.adminPort).toBe(9090);
    expect(c.dnsBind).toBe('0.0.0.0');
    expect(c.dnsPort).toBe(53);
    expect(c.dnsDomain).toBe('mesos');
    expect(c.dnsTtlSeconds).toBe(60);
    expect(c.dnsResolvers).toEqual([]);
    expect(c.healthCheck).toBe(true);
    expect(c.configFile).toBeUndefined();
    expect(c.logLevel).toBe('info');
    expect(c.resyncIntervalSeconds).toBe(300);
    expect(c.marathonTimeoutSeconds).toBe(5);
    expect(c.streamIdleTimeoutSeconds).toBe(30);
    expect(c.dnsIpSources).toEqual(['netinfo', 'host']);
    expect(c.dnsHttpPort).toBe(0);
    expect(c.warnings).toEqual([]);
    for (const name of OPTION_NAMES) expect(c.sources[name]).toBe('default');
  });

  it('every catalogue option has its field on Config, holding the default', () => {
    const c: Record<string, unknown> = { ...load([]) };
    for (const name of OPTION_NAMES) {
      const spec = OPTIONS[name];
      expect(Object.hasOwn(c, spec.field), spec.field).toBe(true);
      expect(c[spec.field]).toEqual(spec.default);
    }
    expect(Object.keys(c).sort()).toEqual([...OPTION_NAMES.map((n) => OPTIONS[n].field), 'sources', 'warnings'].sort());
  });

  it('is frozen', () => {
    const c = load([]);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.groups)).toBe(true);
    expect(Object.isFrozen(c.sources)).toBe(true);
  });
});

describe('precedence: flag > env > file > default', () => {
  const cases = [
    { option: 'dns-port', field: 'dnsPort', flag: '1001', env: '1002', file: '1003', values: [1001, 1002, 1003, 53] },
    { option: 'group', field: 'groups', flag: 'f', env: 'e', file: 'y', values: [['f'], ['e'], ['y'], ['external']] },
    { option: 'health-check', field: 'healthCheck', flag: 'false', env: 'no', file: 'off', values: [false, false, false, true] },
    { option: 'log-level', field: 'logLevel', flag: 'debug', env: 'warn', file: 'trace', values: ['debug', 'warn', 'trace', 'info'] },
  ] as const;
  for (const c of cases) {
    for (let mask = 0; mask < 8; mask++) {
      const useFlag = (mask & 1) !== 0;
      const useEnv = (mask & 2) !== 0;
      const useFile = (mask & 4) !== 0;
      const expected = useFlag ? 0 : useEnv ? 1 : useFile ? 2 : 3;
      const source = (['flag', 'env', 'file', 'default'] as const)[expected];
      it(`${c.option}: flag=${useFlag} env=${useEnv} file=${useFile} → ${source}`, () => {
        const argv = ['--config', 'p.yaml', ...(useFlag ? [`--${c.option}=${c.flag}`] : [])];
        const env: Record<string, string> = useEnv ? { [`PACER_${c.option.toUpperCase().replace(/-/g, '_')}`]: c.env } : {};
        const yaml = useFile ? `${c.option}: ${c.file}\n` : '';
        const config: Record<string, unknown> = { ...load(argv, env, { 'p.yaml': yaml }) };
        expect(config[c.field]).toEqual(c.values[expected]);
        expect(load(argv, env, { 'p.yaml': yaml }).sources[c.option]).toBe(source);
      });
    }
  }

  it('a whole list from a higher source replaces, not merges', () => {
    const c = load(['--group', 'a', '--config', 'p.yaml'], { PACER_GROUP: 'b,c' }, { 'p.yaml': 'group: [d]\n' });
    expect(c.groups).toEqual(['a']);
  });

  it('options from different sources combine', () => {
    const c = load(['--dns-port', '5353', '--config', 'p.yaml'], { PACER_HTTP_PORT: '8080' }, { 'p.yaml': 'admin-port: 9999\n' });
    expect([c.dnsPort, c.httpPort, c.adminPort, c.httpsPort]).toEqual([5353, 8080, 9999, 443]);
    expect([c.sources['dns-port'], c.sources['http-port'], c.sources['admin-port'], c.sources['https-port']]).toEqual([
      'flag',
      'env',
      'file',
      'default',
    ]);
  });

  it('PACER_CONFIG names the file; --config beats it', () => {
    const fs = { 'a.yaml': 'dns-port: 1\n', 'b.yaml': 'dns-port: 2\n' };
    expect(load([], { PACER_CONFIG: 'a.yaml' }, fs).dnsPort).toBe(1);
    expect(load(['--config=b.yaml'], { PACER_CONFIG: 'a.yaml' }, fs).dnsPort).toBe(2);
    expect(load(['--config=b.yaml'], {}, fs).configFile).toBe('b.yaml');
    expect(load([], { PACER_CONFIG: 'a.yaml' }, fs).sources.config).toBe('env');
  });

  it('validates a value even when a higher source overrides it', () => {
    expect(errorOf(['--dns-port', '1'], { PACER_DNS_PORT: 'x' })).toBe('PACER_DNS_PORT: must be 0-65535, got "x"');
    expect(errorOf(['--dns-port', '1', '--config', 'p.yaml'], {}, { 'p.yaml': 'dns-port: x\n' })).toBe(
      'p.yaml: dns-port: must be 0-65535, got "x"',
    );
  });
});

describe('flags', () => {
  it('takes --flag value and --flag=value', () => {
    expect(load(['--dns-port', '5353']).dnsPort).toBe(5353);
    expect(load(['--dns-port=5353']).dnsPort).toBe(5353);
  });

  it('keeps everything after the first = as the value', () => {
    expect(errorOf(['--dns-domain=a=b'])).toBe('--dns-domain: must be a DNS domain name such as mesos or example.com, got "a=b"');
  });

  it('booleans: bare, --no-, and =value', () => {
    expect(load(['--strict-mode']).strictMode).toBe(true);
    expect(load(['--no-strict-mode']).strictMode).toBe(false);
    expect(load(['--no-health-check']).healthCheck).toBe(false);
    expect(load(['--health-check']).healthCheck).toBe(true);
    for (const [text, value] of [
      ['false', false],
      ['true', true],
      ['0', false],
      ['1', true],
      ['no', false],
      ['yes', true],
      ['off', false],
      ['ON', true],
    ] as const) {
      expect(load([`--health-check=${text}`]).healthCheck).toBe(value);
    }
    expect(load(['--no-health-check']).sources['health-check']).toBe('flag');
  });

  it('a boolean does not swallow the next argument', () => {
    expect(load(['--strict-mode', '--dns-port', '1']).dnsPort).toBe(1);
    expect(errorOf(['--health-check', 'false'])).toBe(
      'unexpected argument false (write --health-check=false to give a boolean a value)',
    );
  });

  it('refuses a value on --no-', () => {
    expect(errorOf(['--no-health-check=true'])).toBe('--no-health-check: takes no value, got true');
  });

  it('--no- exists only for booleans', () => {
    expect(errorOf(['--no-dns-port'])).toMatch(/^unknown option --no-dns-port/);
  });

  it('repeatable options accumulate, and split on commas', () => {
    expect(load(['--group', 'a', '--group=b,c', '--group', ' d ']).groups).toEqual(['a', 'b', 'c', 'd']);
    expect(load(['--marathon', 'http://m1:8080', '--marathon', 'http://m2:8080,https://m3']).marathon).toEqual([
      'http://m1:8080',
      'http://m2:8080',
      'https://m3',
    ]);
    expect(load(['--tls-cert', 'a.pem', '--tls-cert', 'b.pem']).tlsCerts).toEqual(['a.pem', 'b.pem']);
  });

  it('drops duplicate list items', () => {
    expect(load(['--group', 'a,b', '--group', 'a']).groups).toEqual(['a', 'b']);
  });

  it('refuses a non-repeatable option given twice', () => {
    expect(errorOf(['--dns-port', '1', '--dns-port', '2'])).toBe('--dns-port: given more than once');
    expect(errorOf(['--health-check', '--no-health-check'])).toBe('--health-check: given more than once');
  });

  it('unknown options', () => {
    expect(errorOf(['--foo'])).toBe('unknown option --foo');
    expect(errorOf(['--foo=bar'])).toBe('unknown option --foo');
    expect(errorOf(['-x'])).toBe('unknown option -x');
    expect(errorOf(['--dns-prot', '53'])).toBe('unknown option --dns-prot (did you mean --dns-port?)');
    expect(errorOf(['--dnsPort', '53'])).toBe('unknown option --dnsPort (did you mean --dns-port?)');
    expect(errorOf(['--a\nb'])).toBe('unknown option "--a\\nb"');
  });

  it('missing values', () => {
    expect(errorOf(['--dns-port'])).toBe('--dns-port: missing value, expected --dns-port N');
    expect(errorOf(['--marathon', '--dns-port', '1'])).toBe('--marathon: missing value, expected --marathon URL[,URL…]');
    expect(errorOf(['--config'])).toBe('--config: missing value, expected --config FILE');
  });

  it('refuses positional arguments', () => {
    expect(errorOf(['extra'])).toBe('unexpected argument extra');
    expect(errorOf(['--', 'x'])).toBe('unexpected argument "x"');
    expect(load(['--dns-port', '1', '--']).dnsPort).toBe(1);
    expect(errorOf(['--strict-mode', 'demo'])).toBe('unexpected argument demo (subcommands come first: pacer demo [options])');
  });
});

describe('parseCommandLine', () => {
  it('help and version win over everything, bad values included', () => {
    expect(parseCommandLine(['--help'], {})).toEqual({ kind: 'help' });
    expect(parseCommandLine(['-h'], {})).toEqual({ kind: 'help' });
    expect(parseCommandLine(['--dns-port', 'abc', '--help'], {})).toEqual({ kind: 'help' });
    expect(parseCommandLine(['--version'], {})).toEqual({ kind: 'version' });
    expect(parseCommandLine(['-V', '--foo'], {})).toEqual({ kind: 'version' });
    expect(parseCommandLine(['--version', '--help'], {})).toEqual({ kind: 'help' });
  });

  it('subcommands come back with their own arguments', () => {
    expect(parseCommandLine(['demo', '--http-port', '8080'], {})).toEqual({
      kind: 'subcommand',
      name: 'demo',
      args: ['--http-port', '8080'],
    });
    expect(parseCommandLine(['emulator'], {})).toEqual({ kind: 'subcommand', name: 'emulator', args: [] });
  });

  it('otherwise runs with a config', () => {
    const line = parseCommandLine(['--dns-port=5'], {}, files({}));
    expect(line.kind).toBe('run');
    if (line.kind === 'run') expect(line.config.dnsPort).toBe(5);
  });

  it('loadConfig refuses what only parseCommandLine handles', () => {
    expect(errorOf(['--help'])).toBe('--help is not a configuration option (use parseCommandLine)');
    expect(errorOf(['demo'])).toBe('the demo subcommand is not a configuration option (use parseCommandLine)');
  });
});

describe('value types: exact one-line messages', () => {
  const bad: [string[], string][] = [
    [['--dns-port', 'abc'], '--dns-port: must be 0-65535, got "abc"'],
    [['--dns-port', '65536'], '--dns-port: must be 0-65535, got "65536"'],
    [['--http-port', '-1'], '--http-port: must be 0-65535, got "-1"'],
    [['--http-port=-1'], '--http-port: must be 0-65535, got "-1"'],
    [['--admin-port=1.5'], '--admin-port: must be 0-65535, got "1.5"'],
    [['--https-port=0x50'], '--https-port: must be 0-65535, got "0x50"'],
    [['--dns-http-port='], '--dns-http-port: must be 0-65535, got ""'],
    [['--dns-ttl', '-5'], '--dns-ttl: must be an integer 0-2147483647, got "-5"'],
    [['--dns-ttl', '--dns-port', '1'], '--dns-ttl: missing value, expected --dns-ttl SECONDS'],
    [['--dns-ttl=2147483648'], '--dns-ttl: must be an integer 0-2147483647, got "2147483648"'],
    [['--strict-mode=maybe'], '--strict-mode: must be true or false (also 1/0, yes/no, on/off), got "maybe"'],
    [['--log-level', 'loud'], '--log-level: must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    [['--bind', 'example.com'], '--bind: must be an IPv4 or IPv6 address (or localhost), got "example.com"'],
    [['--admin-bind', '1.2.3.256'], '--admin-bind: must be an IPv4 or IPv6 address (or localhost), got "1.2.3.256"'],
    [['--dns-bind', '[::]'], '--dns-bind: must be an IPv4 or IPv6 address (or localhost), got "[::]"'],
    [['--marathon', 'ftp://m'], '--marathon: must be an http:// or https:// URL, got "ftp://m"'],
    [['--marathon', 'marathon.mesos:8080'], '--marathon: must be an http:// or https:// URL, got "marathon.mesos:8080"'],
    [['--marathon', 'http://a:b@m:8080'], '--marathon: must not contain credentials (use --marathon-credentials-file)'],
    [['--marathon', 'http://m/?x=1'], '--marathon: must not have a query or fragment, got "http://m/?x=1"'],
    [['--marathon='], '--marathon: must name at least one URL'],
    [['--group', ','], '--group: must name at least one group'],
    [['--dns-domain', 'bad_domain'], '--dns-domain: must be a DNS domain name such as mesos or example.com, got "bad_domain"'],
    [['--dns-domain=-x.mesos'], '--dns-domain: must be a DNS domain name such as mesos or example.com, got "-x.mesos"'],
    [['--dns-domain', `${'a'.repeat(64)}.mesos`], `--dns-domain: must be a DNS domain name such as mesos or example.com, got "${'a'.repeat(64)}.mesos"`],
    [['--dns-forward-allow', '10.0.0.0/33'], '--dns-forward-allow: must be a network in CIDR notation (10.0.0.0/8, fc00::/7) or an address, got "10.0.0.0/33"'],
    [['--dns-forward-allow', 'fc00::/129'], '--dns-forward-allow: must be a network in CIDR notation (10.0.0.0/8, fc00::/7) or an address, got "fc00::/129"'],
    [['--dns-forward-allow', 'localnets'], '--dns-forward-allow: must be a network in CIDR notation (10.0.0.0/8, fc00::/7) or an address, got "localnets"'],
    [['--dns-forward-allow', '10.0.0.0/-1'], '--dns-forward-allow: must be a network in CIDR notation (10.0.0.0/8, fc00::/7) or an address, got "10.0.0.0/-1"'],
    [['--dns-resolvers', '8.8.8.8,dns.google'], '--dns-resolvers: must be IP or IP:PORT with a port 1-65535 (IPv6 with a port as [IP]:PORT), got "dns.google"'],
    [['--dns-resolvers', '8.8.8.8:0'], '--dns-resolvers: must be IP or IP:PORT with a port 1-65535 (IPv6 with a port as [IP]:PORT), got "8.8.8.8:0"'],
    [['--dns-resolvers', '8.8.8.8:70000'], '--dns-resolvers: must be IP or IP:PORT with a port 1-65535 (IPv6 with a port as [IP]:PORT), got "8.8.8.8:70000"'],
    [['--dns-resolvers', '[8.8.8.8]:53'], '--dns-resolvers: must be IP or IP:PORT with a port 1-65535 (IPv6 with a port as [IP]:PORT), got "[8.8.8.8]:53"'],
    [['--dns-resolvers', '[::1]:'], '--dns-resolvers: must be IP or IP:PORT with a port 1-65535 (IPv6 with a port as [IP]:PORT), got "[::1]:"'],
    [['--resync-interval', '0'], '--resync-interval: must be a number of seconds 1-86400, got "0"'],
    [['--resync-interval', '5m'], '--resync-interval: must be a number of seconds 1-86400, got "5m"'],
    [['--marathon-timeout', '0'], '--marathon-timeout: must be a number of seconds 0.1-86400, got "0"'],
    [['--stream-idle-timeout', 'soon'], '--stream-idle-timeout: must be a number of seconds 1-86400, got "soon"'],
    [['--dns-ip-sources', 'netinfo,dhcp'], '--dns-ip-sources: must be one of netinfo, host, mesos, docker, got "dhcp"'],
    [['--dns-ip-sources', 'host,host'], '--dns-ip-sources: lists "host" more than once'],
    [['--dns-ip-sources='], '--dns-ip-sources: must name at least one source'],
    [['--marathon-credentials-file='], '--marathon-credentials-file: must not be empty'],
    [['--config='], '--config: must not be empty'],
    [['--dns-port', 'x'.repeat(200)], `--dns-port: must be 0-65535, got "${'x'.repeat(80)}…"`],
    [['--dns-port', 'a\nb'], '--dns-port: must be 0-65535, got "a\\nb"'],
  ];
  for (const [argv, message] of bad) {
    it(`${JSON.stringify(argv).slice(0, 60)}`, () => expect(errorOf(argv)).toBe(message));
  }

  it('accepts the edges of every range', () => {
    expect(load(['--dns-port=0', '--http-port=65535', '--https-port', '007']).dnsPort).toBe(0);
    expect(load(['--http-port=65535']).httpPort).toBe(65535);
    expect(load(['--https-port=007']).httpsPort).toBe(7);
    expect(load(['--dns-ttl=0']).dnsTtlSeconds).toBe(0);
    expect(load(['--dns-ttl=2147483647']).dnsTtlSeconds).toBe(2147483647);
    expect(load(['--resync-interval=1']).resyncIntervalSeconds).toBe(1);
    expect(load(['--resync-interval=86400']).resyncIntervalSeconds).toBe(86400);
    expect(load(['--marathon-timeout=0.1']).marathonTimeoutSeconds).toBe(0.1);
    expect(load(['--marathon-timeout=2.5']).marathonTimeoutSeconds).toBe(2.5);
    expect(load(['--stream-idle-timeout=45s']).streamIdleTimeoutSeconds).toBe(45);
  });

  it('addresses: IPv4, IPv6, localhost', () => {
    expect(load(['--bind', '127.0.0.1']).bind).toBe('127.0.0.1');
    expect(load(['--bind', '::']).bind).toBe('::');
    expect(load(['--admin-bind', '::1']).adminBind).toBe('::1');
    expect(load(['--dns-bind', 'LOCALHOST']).dnsBind).toBe('localhost');
  });

  it('resolvers: IPv4, IPv6, with and without ports', () => {
    expect(load(['--dns-resolvers', '8.8.8.8, 1.1.1.1:5353,[2001:db8::1]:54,2001:db8::2,[::1]']).dnsResolvers).toEqual([
      { host: '8.8.8.8', port: 53 },
      { host: '1.1.1.1', port: 5353 },
      { host: '2001:db8::1', port: 54 },
      { host: '2001:db8::2', port: 53 },
      { host: '::1', port: 53 },
    ]);
  });

  it('URLs are normalised without a trailing slash, a path prefix kept', () => {
    expect(load(['--marathon', 'HTTP://M1:8080/,https://lb/marathon/']).marathon).toEqual([
      'http://m1:8080',
      'https://lb/marathon',
    ]);
  });

  it('domains are lower-cased without the trailing dot', () => {
    expect(load(['--dns-domain', 'Mesos.Example.']).dnsDomain).toBe('mesos.example');
  });

  it('enums are case-insensitive', () => {
    expect(load(['--log-level', 'DEBUG']).logLevel).toBe('debug');
    expect(load(['--dns-ip-sources', 'Host,netinfo,mesos,docker']).dnsIpSources).toEqual(['host', 'netinfo', 'mesos', 'docker']);
  });

  it('group * is a group like any other', () => {
    expect(load(['--group', '*']).groups).toEqual(['*']);
  });
});

describe('env', () => {
  it('reads every option from PACER_<UPPER_SNAKE>', () => {
    const c = load([], {
      PACER_MARATHON: 'http://a:1,http://b:2',
      PACER_MARATHON_CREDENTIALS_FILE: '/etc/pacer/creds',
      PACER_GROUP: 'internal, external',
      PACER_STRICT_MODE: 'yes',
      PACER_BIND: '10.0.0.1',
      PACER_HTTP_PORT: '8080',
      PACER_HTTPS_PORT: '0',
      PACER_TLS_CERT: 'a.pem,b.pem',
      PACER_ADMIN_BIND: '127.0.0.1',
      PACER_ADMIN_PORT: '9999',
      PACER_DNS_BIND: '::',
      PACER_DNS_PORT: '5353',
      PACER_DNS_DOMAIN: 'dc1',
      PACER_DNS_TTL: '5',
      PACER_DNS_RESOLVERS: '8.8.8.8',
      PACER_HEALTH_CHECK: 'off',
      PACER_LOG_LEVEL: 'warn',
      PACER_RESYNC_INTERVAL: '60',
      PACER_MARATHON_TIMEOUT: '2',
      PACER_STREAM_IDLE_TIMEOUT: '20',
      PACER_DNS_IP_SOURCES: 'host',
      PACER_DNS_HTTP_PORT: '8123',
      PACER_DRAIN_TIMEOUT: '10',
      PACER_PROXY_CONNECT_TIMEOUT: '2',
      PACER_PROXY_IDLE_TIMEOUT: '40',
      PACER_PROXY_REQUEST_TIMEOUT: '30',
      PACER_MAX_HEADER_SIZE: '8192',
      PACER_MAX_CONNECTIONS: '1000',
      PACER_DNS_FORWARD_ALLOW: '10.0.0.0/8,2001:db8::/32,192.0.2.7',
      PACER_MAX_CONNECTIONS_PER_PORT: '100',
      PACER_WORKERS: '2',
    });
    expect({ ...c, sources: undefined, warnings: undefined }).toEqual({
      marathon: ['http://a:1', 'http://b:2'],
      marathonCredentialsFile: '/etc/pacer/creds',
      groups: ['internal', 'external'],
      strictMode: true,
      bind: '10.0.0.1',
      httpPort: 8080,
      httpsPort: 0,
      tlsCerts: ['a.pem', 'b.pem'],
      adminBind: '127.0.0.1',
      adminPort: 9999,
      dnsBind: '::',
      dnsPort: 5353,
      dnsDomain: 'dc1',
      dnsTtlSeconds: 5,
      dnsResolvers: [{ host: '8.8.8.8', port: 53 }],
      healthCheck: false,
      configFile: undefined,
      logLevel: 'warn',
      resyncIntervalSeconds: 60,
      marathonTimeoutSeconds: 2,
      streamIdleTimeoutSeconds: 20,
      dnsIpSources: ['host'],
      dnsHttpPort: 8123,
      drainTimeoutSeconds: 10,
      proxyConnectTimeoutSeconds: 2,
      proxyIdleTimeoutSeconds: 40,
      proxyRequestTimeoutSeconds: 30,
      maxHeaderSize: 8192,
      maxConnections: 1000,
      dnsForwardAllow: [
        { network: '10.0.0.0', prefix: 8, family: 'ipv4' },
        { network: '2001:db8::', prefix: 32, family: 'ipv6' },
        { network: '192.0.2.7', prefix: 32, family: 'ipv4' },
      ],
      maxConnectionsPerPort: 100,
      workers: 2,
      sources: undefined,
      warnings: undefined,
    });
    for (const name of OPTION_NAMES) if (name !== 'config') expect(c.sources[name], name).toBe('env');
  });

  it('bool spellings', () => {
    for (const [text, value] of [
      ['true', true],
      ['1', true],
      ['yes', true],
      ['on', true],
      ['false', false],
      ['0', false],
      ['no', false],
      ['off', false],
      [' False ', false],
    ] as const) {
      expect(load([], { PACER_STRICT_MODE: text }).strictMode, text).toBe(value);
    }
    expect(errorOf([], { PACER_STRICT_MODE: 'y' })).toBe(
      'PACER_STRICT_MODE: must be true or false (also 1/0, yes/no, on/off), got "y"',
    );
  });

  it('an empty variable counts as unset', () => {
    expect(load([], { PACER_DNS_PORT: '', PACER_GROUP: '  ' }).dnsPort).toBe(53);
    expect(load([], { PACER_GROUP: '' }).sources.group).toBe('default');
  });

  it('errors name the variable', () => {
    expect(errorOf([], { PACER_DNS_PORT: 'abc' })).toBe('PACER_DNS_PORT: must be 0-65535, got "abc"');
    expect(errorOf([], { PACER_MARATHON: 'http://ok:1,nope' })).toBe('PACER_MARATHON: must be an http:// or https:// URL, got "nope"');
  });

  it('unknown PACER_ variables are warnings, not errors; others are ignored', () => {
    const c = load([], { PACER_DNS_PROT: '1', PACER_SOMETHING_ELSE: 'x', PATH: '/bin', pacer_dns_port: '7' });
    expect(c.dnsPort).toBe(53);
    expect(c.warnings).toEqual([
      'PACER_DNS_PROT: not a pacer option, ignored (did you mean PACER_DNS_PORT?)',
      'PACER_SOMETHING_ELSE: not a pacer option, ignored',
    ]);
  });
});

describe('YAML file', () => {
  it('reads every type, lists as sequences or comma strings', () => {
    const yaml = [
      'marathon: [http://m1:8080, "https://m2"]',
      'group: a, b',
      'strict-mode: yes',
      'health-check: false',
      'dns-port: "5353"',
      'http-port: 8080',
      'dns-resolvers:',
      '  - 8.8.8.8',
      '  - "[::1]:5353"',
      'resync-interval: 2.5',
      'log-level: debug',
      'dns-domain: 123',
      'tls-cert: cert.pem',
      '',
    ].join('\n');
    const c = load(['--config', 'pacer.yaml'], {}, { 'pacer.yaml': yaml });
    expect(c.marathon).toEqual(['http://m1:8080', 'https://m2']);
    expect(c.groups).toEqual(['a', 'b']);
    expect(c.strictMode).toBe(true);
    expect(c.healthCheck).toBe(false);
    expect(c.dnsPort).toBe(5353);
    expect(c.httpPort).toBe(8080);
    expect(c.dnsResolvers).toEqual([
      { host: '8.8.8.8', port: 53 },
      { host: '::1', port: 5353 },
    ]);
    expect(c.resyncIntervalSeconds).toBe(2.5);
    expect(c.logLevel).toBe('debug');
    expect(c.dnsDomain).toBe('123');
    expect(c.tlsCerts).toEqual(['cert.pem']);
    expect(c.sources['dns-port']).toBe('file');
    expect(c.sources['bind']).toBe('default');
    expect(c.sources.config).toBe('flag');
  });

  it('an empty file, a comment-only file and empty values mean defaults', () => {
    expect(load(['--config', 'e.yaml'], {}, { 'e.yaml': '' }).dnsPort).toBe(53);
    expect(load(['--config', 'e.yaml'], {}, { 'e.yaml': '# nothing\n' }).dnsPort).toBe(53);
    const c = load(['--config', 'e.yaml'], {}, { 'e.yaml': 'dns-port:\ngroup: ~\n' });
    expect([c.dnsPort, c.groups, c.sources['dns-port']]).toEqual([53, ['external'], 'default']);
  });

  const bad: [string, string][] = [
    ['dns-port: abc\n', 'pacer.yaml: dns-port: must be 0-65535, got "abc"'],
    ['dns-port: 70000\n', 'pacer.yaml: dns-port: must be 0-65535, got "70000"'],
    ['dns-port: -1\n', 'pacer.yaml: dns-port: must be 0-65535, got "-1"'],
    ['strict-mode: sometimes\n', 'pacer.yaml: strict-mode: must be true or false (also 1/0, yes/no, on/off), got "sometimes"'],
    ['dns-prot: 53\n', 'pacer.yaml: dns-prot: unknown key (did you mean dns-port?)'],
    ['dnsPort: 53\n', 'pacer.yaml: dnsPort: unknown key (did you mean dns-port?)'],
    ['dns_port: 53\n', 'pacer.yaml: dns_port: unknown key (did you mean dns-port?)'],
    ['colour: blue\n', 'pacer.yaml: colour: unknown key'],
    ['config: other.yaml\n', 'pacer.yaml: config: cannot be set in a config file'],
    ['dns-port: [1, 2]\n', 'pacer.yaml: dns-port: must be a single value, got a list'],
    ['dns-port: {a: 1}\n', 'pacer.yaml: dns-port: must be a value, got a mapping'],
    ['group: {a: 1}\n', 'pacer.yaml: group: must be a value or a list, got a mapping'],
    ['group: [[a]]\n', 'pacer.yaml: group: list items must be plain values, got a list'],
    ['group: []\n', 'pacer.yaml: group: must name at least one group'],
    ['marathon: [http://ok, gopher://x]\n', 'pacer.yaml: marathon: must be an http:// or https:// URL, got "gopher://x"'],
    ['- dns-port\n', 'pacer.yaml: must be a mapping of option names to values, got a list'],
    ['just text\n', 'pacer.yaml: must be a mapping of option names to values, got "just text"'],
    ['dns-port: 1\ndns-port: 2\n', 'pacer.yaml: invalid YAML: Map keys must be unique at line 2, column 1'],
    ['group: [a\n', 'pacer.yaml: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1'],
    ['a: b: c\n', 'pacer.yaml: invalid YAML: Nested mappings are not allowed in compact mappings at line 1, column 4'],
  ];
  for (const [yaml, message] of bad) {
    it(`refuses ${JSON.stringify(yaml)}`, () => {
      expect(errorOf(['--config', 'pacer.yaml'], {}, { 'pacer.yaml': yaml })).toBe(message);
    });
  }

  it('names the file as given', () => {
    expect(errorOf([], { PACER_CONFIG: '/etc/pacer/p.yaml' }, { '/etc/pacer/p.yaml': 'dns-port: x\n' })).toBe(
      '/etc/pacer/p.yaml: dns-port: must be 0-65535, got "x"',
    );
  });

  it('an unreadable file is one line naming the option that named it', () => {
    expect(errorOf(['--config', 'missing.yaml'])).toBe('--config: cannot read "missing.yaml": ENOENT: no such file or directory');
    expect(errorOf([], { PACER_CONFIG: 'missing.yaml' })).toBe(
      'PACER_CONFIG: cannot read "missing.yaml": ENOENT: no such file or directory',
    );
  });

  it('reads a real file from disk by default', () => {
    expect(() => loadConfig(['--config', '/nonexistent/pacer.yaml'], {})).toThrow(
      /^--config: cannot read "\/nonexistent\/pacer.yaml": ENOENT/,
    );
  });
});

describe('redactedConfig', () => {
  it('is keyed by option name, JSON-safe, and shows the credentials file path only', () => {
    const c = load(['--marathon-credentials-file', '/etc/pacer/creds', '--dns-resolvers', '[::1]:5353']);
    const r = redactedConfig(c);
    expect(Object.keys(r)).toEqual([...OPTION_NAMES]);
    expect(r['marathon-credentials-file']).toBe('/etc/pacer/creds');
    expect(r['dns-resolvers']).toEqual([{ host: '::1', port: 5353 }]);
    expect(r['config']).toBeNull();
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('strips userinfo from Marathon URLs should a Config ever hold one', () => {
    const c = load([]);
    const r = redactedConfig({ ...c, marathon: ['http://user:secret@m:8080'] });
    expect(r['marathon']).toEqual(['http://m:8080']);
    expect(JSON.stringify(r)).not.toContain('secret');
  });
});
