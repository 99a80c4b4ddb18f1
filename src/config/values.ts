/**
 * Parsers for the value types of configuration options. Every source (flag, env var, YAML file)
 * hands values over as text, so there is exactly one way each type is read and one wording for
 * each complaint. A failure is the reason only (`must be 0-65535, got "abc"`); the loader puts
 * the option's name in front of it.
 */
import { isIP } from 'node:net';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: string): Parsed<T> {
  return { ok: false, error };
}

const MAX_SHOWN = 80;

/** A value quoted for an error message: JSON escapes keep it on one line; long values are cut. */
export function quote(text: string): string {
  const shown = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
  return JSON.stringify(shown);
}

function integerIn(text: string, min: number, max: number): number | undefined {
  const t = text.trim();
  if (!/^[0-9]+$/.test(t)) return undefined;
  const n = Number(t);
  return n >= min && n <= max ? n : undefined;
}

export function parseInteger(text: string, min: number, max: number): Parsed<number> {
  const n = integerIn(text, min, max);
  return n === undefined ? fail(`must be an integer ${min}-${max}, got ${quote(text)}`) : ok(n);
}

export function parsePort(text: string): Parsed<number> {
  const n = integerIn(text, 0, 65535);
  return n === undefined ? fail(`must be 0-65535, got ${quote(text)}`) : ok(n);
}

/** A number of seconds, decimals allowed, with an optional `s` suffix (`30`, `0.5`, `30s`). */
export function parseSeconds(text: string, min: number, max: number): Parsed<number> {
  const t = text.trim();
  const m = /^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)s?$/.exec(t);
  if (m?.[1] !== undefined) {
    const n = Number(m[1]);
    if (n >= min && n <= max) return ok(n);
  }
  return fail(`must be a number of seconds ${min}-${max}, got ${quote(text)}`);
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export function parseBoolean(text: string): Parsed<boolean> {
  const t = text.trim().toLowerCase();
  if (TRUE.has(t)) return ok(true);
  if (FALSE.has(t)) return ok(false);
  return fail(`must be true or false (also 1/0, yes/no, on/off), got ${quote(text)}`);
}

export function parseChoice<C extends string>(text: string, choices: readonly C[]): Parsed<C> {
  const t = text.trim().toLowerCase();
  const found = choices.find((c) => c === t);
  if (found !== undefined) return ok(found);
  return fail(`must be one of ${choices.join(', ')}, got ${quote(text)}`);
}

export function parseNonEmpty(text: string): Parsed<string> {
  const t = text.trim();
  return t === '' ? fail('must not be empty') : ok(t);
}

/** A listen address: an IPv4 or IPv6 literal, or `localhost`. */
export function parseAddress(text: string): Parsed<string> {
  const t = text.trim();
  if (isIP(t) !== 0) return ok(t);
  if (t.toLowerCase() === 'localhost') return ok('localhost');
  return fail(`must be an IPv4 or IPv6 address (or localhost), got ${quote(text)}`);
}

/**
 * An http(s) URL of a Marathon instance, normalised without a trailing slash so that API paths
 * can be appended (`http://m:8080/` → `http://m:8080`; a path prefix such as `/marathon` stays).
 * Credentials in the URL are refused: they would end up in logs and on /v1/config.
 */
export function parseHttpUrl(text: string): Parsed<string> {
  const t = text.trim();
  const bad = fail<string>(`must be an http:// or https:// URL, got ${quote(text)}`);
  if (!URL.canParse(t)) return bad;
  const url = new URL(t);
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return bad;
  if (url.username !== '' || url.password !== '') {
    return fail('must not contain credentials (use --marathon-credentials-file)');
  }
  if (url.search !== '' || url.hash !== '') return fail(`must not have a query or fragment, got ${quote(text)}`);
  return ok(`${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`);
}

/** A network in CIDR notation (`10.0.0.0/8`, `fc00::/7`); a bare address is a /32 or /128. */
export interface Subnet {
  readonly network: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

export function parseSubnet(text: string): Parsed<Subnet> {
  const t = text.trim();
  const bad = fail<Subnet>(`must be a network in CIDR notation (10.0.0.0/8, fc00::/7) or an address, got ${quote(text)}`);
  const slash = t.indexOf('/');
  const network = slash === -1 ? t : t.slice(0, slash);
  const version = isIP(network);
  if (version === 0) return bad;
  const max = version === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : t.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return bad;
  return ok({ network, prefix: Number(prefixText), family: version === 4 ? 'ipv4' : 'ipv6' });
}

export function formatSubnet(s: Subnet): string {
  return `${s.network}/${s.prefix}`;
}

export interface Resolver {
  /** IPv4 or IPv6 literal (no brackets). */
  readonly host: string;
  readonly port: number;
}

/** `IP`, `IP:PORT`, or for IPv6 with a port `[IP]:PORT`; the port defaults to 53. */
export function parseResolver(text: string): Parsed<Resolver> {
  const t = text.trim();
  const bad = fail<Resolver>(
    `must be IP or IP:PORT with a port 1-65535 (IPv6 with a port as [IP]:PORT), got ${quote(text)}`,
  );
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::([^:]*))?$/.exec(t);
  if (bracketed?.[1] !== undefined) {
    host = bracketed[1];
    portText = bracketed[2];
    if (isIP(host) !== 6) return bad;
  } else if (isIP(t) !== 0) {
    host = t;
  } else {
    const hostPort = /^([^:]+):([^:]*)$/.exec(t);
    if (hostPort?.[1] === undefined || isIP(hostPort[1]) !== 4) return bad;
    host = hostPort[1];
    portText = hostPort[2];
  }
  if (portText === undefined) return ok({ host, port: 53 });
  if (!/^[0-9]+$/.test(portText)) return bad;
  const port = Number(portText);
  if (port < 1 || port > 65535) return bad;
  return ok({ host, port });
}

export function formatResolver(r: Resolver): string {
  return isIP(r.host) === 6 ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`;
}

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS domain name, lower-cased, without a trailing dot. */
export function parseDomain(text: string): Parsed<string> {
  const t = text.trim().toLowerCase().replace(/\.$/, '');
  if (t.length > 0 && t.length <= 253 && t.split('.').every((label) => DNS_LABEL.test(label))) return ok(t);
  return fail(`must be a DNS domain name such as mesos or example.com, got ${quote(text)}`);
}

/**
 * Items of a list value. Each occurrence (a repeated flag, a YAML sequence item, an env var) may
 * itself hold a comma-separated list; blanks around items and empty items are dropped.
 */
export function splitList(occurrences: readonly string[]): string[] {
  return occurrences.flatMap((o) => o.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

/** Parse every item of a list; the first bad item decides the error. */
export function parseEach<T>(items: readonly string[], parse: (item: string) => Parsed<T>): Parsed<T[]> {
  const out: T[] = [];
  for (const item of items) {
    const r = parse(item);
    if (!r.ok) return r;
    out.push(r.value);
  }
  return ok(out);
}
