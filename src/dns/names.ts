/**
 * Mesos-DNS naming, reproduced from pacer's routing table (reference: shared/reference/mesos-dns.md §1).
 * Pure: the only outside input is `lookup`, which turns an agent or leader host name into IPs from a
 * cache (see hosts.ts) and never does I/O itself.
 *
 * For one routable task of app `/prod/web` (framework `marathon`, domain `mesos`):
 * - `T` = `web-prod` (Marathon's `PathId.toHostname` = segments reversed and joined with `.`, then
 *   sanitised as one label), and the raw dotted legacy name `web.prod` as well;
 * - `H` = first 5 characters of z-base-32(SHA-1(task id)); `S` = the agent id after its last `-`;
 * - `T.F.D`, `T-H-S.F.D` (task IPs from the first IP source with any), `T.F.slave.D`,
 *   `T-H-S.F.slave.D` (agent IPs);
 * - `_T._tcp|_udp.F.slave.D` → `T-H-S.F.slave.D:<host port>` for every host port;
 * - `_T._<proto>.F.D` (and `_<port name>._T._<proto>.F.D`) → `T-H-S.F.D:<DiscoveryInfo port>`, where
 *   the DiscoveryInfo port is the host port when the port has one, else the container port, exactly as
 *   Marathon fills DiscoveryInfo (`TaskEntry.endpoints` holds that number).
 * Plus `leader`, `master`, `master0`, `_leader._tcp/_udp`, Marathon's own `F.D` and
 * `_framework._tcp.F.D`, `slave.D`, `_slave._tcp.D` and the name server `ns1.D`.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { IpSource } from '../config/options.ts';
import { TERMINAL_STATES } from '../model/app.ts';
import type { AppEntry, RoutingTable, TaskEntry } from '../model/routing-table.ts';

/** Mesos-DNS's `SRVRecordDefaultWeight`. */
export const SRV_WEIGHT = 1;
/** Mesos agents listen on 5051; Marathon does not report an agent's port. */
export const AGENT_PORT = 5051;
/** Label of the name server (Mesos-DNS's `SOAMname` default `ns1.<domain>`). */
export const NS_LABEL = 'ns1';

// ---------------------------------------------------------------------------------------------
// Labels (records/labels in Mesos-DNS)

function mapChar(code: number): string {
  if (code >= 65 && code <= 90) return String.fromCharCode(code + 32);
  if ((code >= 97 && code <= 122) || (code >= 48 && code <= 57)) return String.fromCharCode(code);
  if (code === 45 || code === 46 || code === 95) return '-';
  return '';
}

function trimLeft(s: string, cut: string): string {
  let i = 0;
  while (i < s.length && cut.includes(s[i]!)) i++;
  return s.slice(i);
}

function trimRight(s: string, cut: string): string {
  let i = s.length;
  while (i > 0 && cut.includes(s[i - 1]!)) i--;
  return s.slice(0, i);
}

function label(name: string, maxLength: number, left: string, right: string): string {
  let mapped = '';
  // Go's bytes.Map works on runes: a non-ASCII character maps to nothing as a whole.
  for (const ch of name) mapped += ch.length === 1 ? mapChar(ch.charCodeAt(0)) : '';
  const trimmed = trimLeft(mapped, left);
  const size = Math.min(trimmed.length, maxLength);
  const head = trimRight(trimmed.slice(0, size), right);
  if (head.length === size) return head;
  const tail = trimLeft(trimmed.slice(size), right);
  return tail.length > 0 ? head + tail.slice(0, Math.min(tail.length, size - head.length)) : head;
}

/**
 * Mesos-DNS's RFC 1123 label (its default, `EnforceRFC952=false`): `A-Z` lower-cased, `a-z0-9` kept,
 * `-`, `.` and `_` become `-`, everything else dropped; leading dashes stripped, cut at 63, trailing
 * dashes stripped, with characters after the cut filling the gap.
 */
export function rfc1123Label(name: string): string {
  return label(name, 63, '-', '-');
}

/** Mesos-DNS's RFC 952 label (`EnforceRFC952=true`): at most 24, no leading digits. Kept for reference and tests. */
export function rfc952Label(name: string): string {
  return label(name, 24, '-0123456789', '-');
}

/** `DomainFrag`: split on `.`, sanitise each part, drop empty parts, join with `.`. */
export function domainFrag(name: string, spec: (s: string) => string = rfc1123Label): string {
  return name
    .split('.')
    .map(spec)
    .filter((l) => l !== '')
    .join('.');
}

/** Marathon's `PathId.toHostname`: `/prod/web` → `web.prod`. */
export function toHostname(appId: string): string {
  return appId
    .split('/')
    .filter((s) => s !== '')
    .reverse()
    .join('.');
}

const ZBASE32 = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** z-base-32 (Zooko's alphabet, most significant bits first, no padding). */
export function zbase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ZBASE32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ZBASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** `H`: the first 5 characters of z-base-32(SHA-1(task id)). */
export function taskHash(taskId: string): string {
  return zbase32(createHash('sha1').update(taskId, 'utf8').digest()).slice(0, 5);
}

/** `S`: the agent id after its last `-`, lower-cased (`…-S1` → `s1`), sanitised as a label. */
export function agentSuffix(agentId: string): string {
  const i = agentId.lastIndexOf('-');
  return rfc1123Label(agentId.slice(i + 1).toLowerCase());
}

/** The framework part `F` (Marathon's `framework_name` through `DomainFrag`; `marathon` when empty). */
export function frameworkLabel(frameworkName: string | undefined): string {
  return domainFrag(frameworkName ?? 'marathon') || 'marathon';
}

/**
 * The canonical task label `T-H-S`. A `T` of 63 characters would make it longer than a DNS label
 * may be (Mesos-DNS then generates names nobody can ask for); pacer shortens `T` in this one label
 * so that the SRV targets of long app names still resolve.
 */
export function canonicalLabel(taskLabel: string, hash: string, suffix: string): string {
  const tail = `-${hash}-${suffix}`;
  const room = 63 - tail.length;
  const head = taskLabel.length > room ? trimRight(taskLabel.slice(0, room), '-') : taskLabel;
  return head + tail;
}

/** Whether a lower-case dotted name (no trailing dot) can be written on the wire: labels of 1-63 of `[a-z0-9_-]`, not starting with `-`. */
export function isEncodableName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  let labelLength = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 46) {
      if (labelLength === 0) return false;
      labelLength = 0;
      continue;
    }
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || (c === 45 && labelLength > 0);
    if (!ok || ++labelLength > 63) return false;
  }
  return labelLength > 0;
}

// ---------------------------------------------------------------------------------------------
// Records

export interface SrvTarget {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  /** Lower-case, no trailing dot. */
  readonly target: string;
}

export interface NameRecords {
  readonly a: string[];
  readonly aaaa: string[];
  readonly srv: SrvTarget[];
}

export type RecordType = 'A' | 'AAAA' | 'SRV';

export interface EnumRecord {
  /** With the trailing dot, as Mesos-DNS shows it. */
  readonly name: string;
  /** An IP, or `target.:port` for SRV. */
  readonly host: string;
  readonly rtype: RecordType;
}

export interface EnumTask {
  /** The Mesos task name Marathon sets (`toHostname` of the app id). */
  readonly name: string;
  readonly id: string;
  readonly records: EnumRecord[];
}

/** Every record of the zone except SOA and NS, by owner name (lower-case, no trailing dot), plus `/v1/enumerate` data. */
export interface RecordSet {
  readonly domain: string;
  readonly framework: string;
  /** The raw framework name (`/v1/enumerate`). */
  readonly frameworkName: string;
  readonly names: ReadonlyMap<string, NameRecords>;
  readonly tasks: readonly EnumTask[];
  /** Name of the name server (`ns1.<domain>`). */
  readonly nsName: string;
}

export interface NamingOptions {
  /** Lower case, no trailing dot. */
  readonly domain: string;
  readonly ipSources: readonly IpSource[];
  /** Addresses for `ns1.<domain>` (the DNS listener's). */
  readonly nsAddresses: readonly string[];
}

/** Agent or leader host → IPs from the cache; IP literals come back as themselves; undefined while unknown. */
export type HostLookup = (host: string) => readonly string[] | undefined;

class Builder {
  readonly names = new Map<string, NameRecords>();
  readonly #seen = new Map<string, Set<string>>();

  #entry(name: string): { records: NameRecords; seen: Set<string> } {
    let records = this.names.get(name);
    let seen = this.#seen.get(name);
    if (!records || !seen) {
      records = { a: [], aaaa: [], srv: [] };
      seen = new Set();
      this.names.set(name, records);
      this.#seen.set(name, seen);
    }
    return { records, seen };
  }

  addIp(name: string, ip: string, out?: EnumRecord[]): void {
    if (!isEncodableName(name)) return;
    const family = isIP(ip);
    if (family === 0) return;
    const { records, seen } = this.#entry(name);
    const key = `ip ${ip}`;
    if (seen.has(key)) return;
    seen.add(key);
    (family === 4 ? records.a : records.aaaa).push(ip);
    out?.push({ name: `${name}.`, host: ip, rtype: family === 4 ? 'A' : 'AAAA' });
  }

  addSrv(name: string, target: string, port: number, out?: EnumRecord[]): void {
    if (!isEncodableName(name) || !isEncodableName(target) || port <= 0 || port > 65535) return;
    const { records, seen } = this.#entry(name);
    const key = `srv ${target}:${port}`;
    if (seen.has(key)) return;
    seen.add(key);
    records.srv.push({ priority: 0, weight: SRV_WEIGHT, port, target });
    out?.push({ name: `${name}.`, host: `${target}.:${port}`, rtype: 'SRV' });
  }
}

/** `host:port`, `[v6]:port` or a bare host. */
export function splitHostPort(text: string): { host: string; port: number | undefined } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] === undefined ? undefined : Number(bracketed[2]) };
  const i = text.lastIndexOf(':');
  if (i > 0 && text.indexOf(':') === i) {
    const port = Number(text.slice(i + 1));
    return { host: text.slice(0, i), port: Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined };
  }
  return { host: text, port: undefined };
}

/** Host and port of the Mesos leader from `mesos_leader_ui_url` (`http://10.0.0.1:5050/`). */
export function mesosLeader(uiUrl: string | undefined): { host: string; port: number } | undefined {
  if (!uiUrl) return undefined;
  let url: URL;
  try {
    url = new URL(uiUrl);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return undefined;
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { host, port };
}

function taskIps(task: TaskEntry, sources: readonly IpSource[], lookup: HostLookup): readonly string[] {
  for (const source of sources) {
    let ips: readonly string[] = [];
    if (source === 'netinfo') ips = task.ipAddresses.filter((ip) => isIP(ip) !== 0);
    else if (source === 'host') ips = lookup(task.host) ?? [];
    // `mesos` and `docker` read Mesos status labels that Marathon does not report: never any IP.
    if (ips.length > 0) return ips;
  }
  return [];
}

/** Host ports of a task (Mesos's `resources.ports`): the endpoints of the ports that have one. */
function hostPorts(app: AppEntry, task: TaskEntry): number[] {
  const out: number[] = [];
  for (const port of app.ports) {
    if (app.networkMode !== 'host' && !port.hasHostPort) continue;
    const endpoint = task.endpoints[port.index];
    if (endpoint && !out.includes(endpoint.port)) out.push(endpoint.port);
  }
  return out;
}

/** Every record Mesos-DNS would serve for this table (routable tasks only). */
export function buildRecords(table: RoutingTable, options: NamingOptions, lookup: HostLookup): RecordSet {
  const b = new Builder();
  const D = options.domain;
  const frameworkName = table.cluster?.frameworkName ?? 'marathon';
  const F = frameworkLabel(frameworkName);

  // Marathon itself (Mesos-DNS's framework records): its leader's host, and its HTTP port.
  const marathon = table.cluster?.marathonLeader ? splitHostPort(table.cluster.marathonLeader) : undefined;
  if (marathon) {
    for (const ip of lookup(marathon.host) ?? []) b.addIp(`${F}.${D}`, ip);
    if (marathon.port !== undefined && (lookup(marathon.host) ?? []).length > 0) b.addSrv(`_framework._tcp.${F}.${D}`, `${F}.${D}`, marathon.port);
  }

  // Agents: every agent that runs a live task.
  for (const app of table.apps) {
    for (const task of app.tasks) {
      if (TERMINAL_STATES.has(task.state)) continue;
      const ips = lookup(task.host) ?? [];
      for (const ip of ips) b.addIp(`slave.${D}`, ip);
      if (ips.length > 0) b.addSrv(`_slave._tcp.${D}`, `slave.${D}`, AGENT_PORT);
    }
  }

  for (const ip of options.nsAddresses) b.addIp(`${NS_LABEL}.${D}`, ip);

  // The Mesos leader (only the leader is known through Marathon: it is master0 too).
  const leader = mesosLeader(table.cluster?.mesosLeaderUiUrl);
  if (leader) {
    const ips = lookup(leader.host) ?? [];
    for (const ip of ips) {
      b.addIp(`leader.${D}`, ip);
      b.addIp(`master.${D}`, ip);
      b.addIp(`master0.${D}`, ip);
    }
    if (ips.length > 0) {
      b.addSrv(`_leader._tcp.${D}`, `leader.${D}`, leader.port);
      b.addSrv(`_leader._udp.${D}`, `leader.${D}`, leader.port);
    }
  }

  const tasks: EnumTask[] = [];
  for (const app of table.apps) {
    const raw = toHostname(app.appId).toLowerCase();
    const sanitised = rfc1123Label(raw);
    if (sanitised === '') continue;
    for (const task of app.tasks) {
      if (!task.routable || task.agentId === undefined) continue;
      const S = agentSuffix(task.agentId);
      if (S === '') continue;
      const H = taskHash(task.taskId);
      const enumTask: EnumTask = { name: raw, id: task.taskId, records: [] };
      tasks.push(enumTask);
      const ips = taskIps(task, options.ipSources, lookup);
      const agentIps = lookup(task.host) ?? [];
      const ports = hostPorts(app, task);
      // Mesos-DNS generates the legacy names (raw DiscoveryInfo name) first, then the sanitised ones.
      const taskNames = raw !== sanitised ? [raw, sanitised] : [sanitised];
      for (const T of taskNames) {
        const canonical = T === sanitised ? canonicalLabel(T, H, S) : `${T}-${H}-${S}`;
        const out = enumTask.records;
        for (const ip of ips) {
          b.addIp(`${T}.${F}.${D}`, ip, out);
          b.addIp(`${canonical}.${F}.${D}`, ip, out);
        }
        for (const ip of agentIps) {
          b.addIp(`${T}.${F}.slave.${D}`, ip, out);
          b.addIp(`${canonical}.${F}.slave.${D}`, ip, out);
        }
        const slaveTarget = `${canonical}.${F}.slave.${D}`;
        for (const port of ports) {
          b.addSrv(`_${T}._tcp.${F}.slave.${D}`, slaveTarget, port, out);
          b.addSrv(`_${T}._udp.${F}.slave.${D}`, slaveTarget, port, out);
        }
        const target = `${canonical}.${F}.${D}`;
        for (const port of app.ports) {
          const endpoint = task.endpoints[port.index];
          if (!endpoint) continue;
          const portName = port.name === undefined ? '' : rfc1123Label(port.name);
          for (const protocol of port.protocols) {
            b.addSrv(`_${T}._${protocol}.${F}.${D}`, target, endpoint.port, out);
            if (portName !== '') b.addSrv(`_${portName}._${T}._${protocol}.${F}.${D}`, target, endpoint.port, out);
          }
        }
      }
    }
  }

  return { domain: D, framework: F, frameworkName, names: b.names, tasks, nsName: `${NS_LABEL}.${D}` };
}
