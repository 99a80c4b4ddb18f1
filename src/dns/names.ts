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
 * `_framework._tcp.F.D`, `slave.D`, `_slave._tcp.D` and the name server `ns1.D`; and pacer's own
 * Habitat ring names under `habitat.D` (`ringRecords`, from src/habitat/dns.ts).
 */
import { isIP } from 'node:net';
import type { IpSource } from '../config/options.ts';
import { TERMINAL_STATES } from '../model/app.ts';
import type { ClusterInfo } from '../model/cluster.ts';
import type { AppEntry, RoutingTable, TaskEntry } from '../model/routing-table.ts';
import { ringDnsRecords } from '../habitat/dns.ts';
import { agentSuffix, canonicalLabel, frameworkLabel, isEncodableName, rfc1123Label, taskHash, toHostname } from './labels.ts';

export {
  agentSuffix,
  canonicalLabel,
  domainFrag,
  frameworkLabel,
  isEncodableName,
  rfc1123Label,
  rfc952Label,
  taskHash,
  toHostname,
  zbase32,
} from './labels.ts';
import { sameItems } from '../model/same.ts';

/** Mesos-DNS's `SRVRecordDefaultWeight`. */
export const SRV_WEIGHT = 1;
/** Mesos agents listen on 5051; Marathon does not report an agent's port. */
export const AGENT_PORT = 5051;
/** Label of the name server (Mesos-DNS's `SOAMname` default `ns1.<domain>`). */
export const NS_LABEL = 'ns1';

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

// ---------------------------------------------------------------------------------------------
// What the cluster, and each app, contributes. An app's records depend only on its AppEntry, the
// framework label, the options and the IPs of its agents: the live zone (live.ts) caches them per
// AppEntry and per task, so that a table change re-derives only what changed.

/** One record of one source (an app's task, or the cluster). Immutable: shared between table versions. */
export interface ZoneRecord {
  /** The owner: lower case, no trailing dot, encodable. */
  readonly name: string;
  readonly type: RecordType;
  /** The IP (A, AAAA), or the SRV target (lower case, no trailing dot, encodable). */
  readonly value: string;
  /** The SRV port; 0 for A and AAAA. */
  readonly port: number;
  /** The value's identity within its name and type: the IP, or `port target`. */
  readonly key: string;
}

const NO_RECORDS: readonly ZoneRecord[] = [];

function pushIp(out: ZoneRecord[], name: string, ip: string): void {
  if (!isEncodableName(name)) return;
  const family = isIP(ip);
  if (family === 0) return;
  out.push({ name, type: family === 4 ? 'A' : 'AAAA', value: ip, port: 0, key: ip });
}

function pushSrv(out: ZoneRecord[], name: string, target: string, port: number): void {
  if (!isEncodableName(name) || !isEncodableName(target) || port <= 0 || port > 65535) return;
  out.push({ name, type: 'SRV', value: target, port, key: `${port} ${target}` });
}

/** What identifies a record in the zone (its name, and its value within the name). */
export function recordId(r: ZoneRecord): string {
  return `${r.name} ${r.type === 'SRV' ? 'srv' : 'ip'} ${r.key}`;
}

/** The records of Marathon itself, its Mesos leader and the name server (everything that is not an app's). */
export interface ClusterRecords {
  readonly cluster: ClusterInfo | undefined;
  /** The raw framework name (`/v1/enumerate`). */
  readonly frameworkName: string;
  /** `F`. */
  readonly framework: string;
  readonly records: readonly ZoneRecord[];
  /** The host names looked up (Marathon's and the Mesos leader's). */
  readonly hosts: readonly string[];
}

export function clusterRecords(cluster: ClusterInfo | undefined, options: NamingOptions, lookup: HostLookup): ClusterRecords {
  const D = options.domain;
  const frameworkName = cluster?.frameworkName ?? 'marathon';
  const F = frameworkLabel(frameworkName);
  const records: ZoneRecord[] = [];
  const hosts: string[] = [];

  // Marathon itself (Mesos-DNS's framework records): its leader's host, and its HTTP port.
  const marathon = cluster?.marathonLeader ? splitHostPort(cluster.marathonLeader) : undefined;
  if (marathon) {
    hosts.push(marathon.host);
    const ips = lookup(marathon.host) ?? [];
    for (const ip of ips) pushIp(records, `${F}.${D}`, ip);
    if (marathon.port !== undefined && ips.length > 0) pushSrv(records, `_framework._tcp.${F}.${D}`, `${F}.${D}`, marathon.port);
  }

  for (const ip of options.nsAddresses) pushIp(records, `${NS_LABEL}.${D}`, ip);

  // The Mesos leader (only the leader is known through Marathon: it is master0 too).
  const leader = mesosLeader(cluster?.mesosLeaderUiUrl);
  if (leader) {
    if (!hosts.includes(leader.host)) hosts.push(leader.host);
    const ips = lookup(leader.host) ?? [];
    for (const ip of ips) {
      pushIp(records, `leader.${D}`, ip);
      pushIp(records, `master.${D}`, ip);
      pushIp(records, `master0.${D}`, ip);
    }
    if (ips.length > 0) {
      pushSrv(records, `_leader._tcp.${D}`, `leader.${D}`, leader.port);
      pushSrv(records, `_leader._udp.${D}`, `leader.${D}`, leader.port);
    }
  }
  return { cluster, frameworkName, framework: F, records, hosts };
}

/** What an app's records are derived from, besides the app itself. */
export interface DeriveContext {
  readonly domain: string;
  /** `F`. */
  readonly framework: string;
  readonly ipSources: readonly IpSource[];
  readonly lookup: HostLookup;
}

/** The records of one task. */
export interface TaskRecords {
  /** The task they were derived from (its inputs decide whether they can be reused). */
  readonly task: TaskEntry;
  /** What `lookup(task.host)` gave (undefined for a terminal task, which is not looked up). */
  readonly hostIps: readonly string[] | undefined;
  /** Listed by `/v1/enumerate`: a routable task with an agent. */
  readonly listed: boolean;
  /** Its names: `T.F.D`, `T-H-S.F.D`, the `.slave` names and the SRV names (legacy duplicates included). */
  readonly records: readonly ZoneRecord[];
  /** Its agent's share of `slave.D` and `_slave._tcp.D` (every live task, routable or not). */
  readonly agent: readonly ZoneRecord[];
}

/** The records of one app. */
export interface AppRecords {
  readonly appId: string;
  /** The `/v1/enumerate` task name (`toHostname`, lower case). */
  readonly raw: string;
  readonly framework: string;
  /** The app inputs the task records were derived from (compared by identity). */
  readonly ports: AppEntry['ports'];
  readonly networkMode: AppEntry['networkMode'];
  readonly tasks: readonly TaskRecords[];
  /** The distinct agent host names its live tasks looked up. */
  readonly hosts: readonly string[];
}

function taskIps(task: TaskEntry, sources: readonly IpSource[], hostIps: readonly string[] | undefined): readonly string[] {
  for (const source of sources) {
    let ips: readonly string[] = [];
    if (source === 'netinfo') ips = task.ipAddresses.filter((ip) => isIP(ip) !== 0);
    else if (source === 'host') ips = hostIps ?? [];
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

/** Whether two versions of a task give the same records (given the same app ports and agent IPs). */
function sameTaskInputs(a: TaskEntry, b: TaskEntry): boolean {
  if (a === b) return true;
  if (a.taskId !== b.taskId || a.host !== b.host || a.agentId !== b.agentId || a.state !== b.state || a.routable !== b.routable) return false;
  if (!sameItems(a.ipAddresses, b.ipAddresses)) return false;
  if (a.endpoints.length !== b.endpoints.length) return false;
  for (let i = 0; i < a.endpoints.length; i++) if (a.endpoints[i]?.port !== b.endpoints[i]?.port) return false;
  return true;
}

/** The names of one form of `T` (the raw legacy name, or the sanitised one) that do not depend on the task. */
interface TaskNameForm {
  readonly T: string;
  readonly sanitised: boolean;
  /** `T.F.D` and `T.F.slave.D` (undefined when they cannot be written on the wire). */
  readonly plain: string | undefined;
  readonly slave: string | undefined;
  /** `_T._tcp.F.slave.D` and `_T._udp.F.slave.D`, those that can be written. */
  readonly slaveSrv: readonly string[];
  /** Per app port (by position in `app.ports`): `_T._<proto>.F.D` and `_<port name>._T._<proto>.F.D`, in that order. */
  readonly portSrv: readonly (readonly string[])[];
}

/** What an app's tasks share: computed once per derivation of the app, not per task. */
interface AppNaming {
  readonly raw: string;
  readonly sanitised: string;
  /** Mesos-DNS generates the legacy names (raw DiscoveryInfo name) first, then the sanitised ones. */
  readonly forms: readonly TaskNameForm[];
  /** `.F.D` and `.F.slave.D`. */
  readonly tail: string;
  readonly slaveTail: string;
  /** `slave.D` and `_slave._tcp.D`. */
  readonly agents: string;
  readonly agentsSrv: string;
}

const encodable = (name: string): string | undefined => (isEncodableName(name) ? name : undefined);

function appNaming(app: AppEntry, ctx: DeriveContext): AppNaming {
  const D = ctx.domain;
  const F = ctx.framework;
  const raw = toHostname(app.appId).toLowerCase();
  const sanitised = rfc1123Label(raw);
  const tail = `.${F}.${D}`;
  const slaveTail = `.${F}.slave.${D}`;
  const portNames = app.ports.map((port) => (port.name === undefined ? '' : rfc1123Label(port.name)));
  const forms = (raw !== sanitised ? [raw, sanitised] : [sanitised]).map((T): TaskNameForm => {
    const slaveSrv = [`_${T}._tcp${slaveTail}`, `_${T}._udp${slaveTail}`].filter(isEncodableName);
    const portSrv = app.ports.map((port, i) => {
      const names: string[] = [];
      for (const protocol of port.protocols) {
        names.push(`_${T}._${protocol}${tail}`);
        if (portNames[i] !== '') names.push(`_${portNames[i]}._${T}._${protocol}${tail}`);
      }
      return names.filter(isEncodableName);
    });
    return { T, sanitised: T === sanitised, plain: encodable(`${T}${tail}`), slave: encodable(`${T}${slaveTail}`), slaveSrv, portSrv };
  });
  return { raw, sanitised, forms, tail, slaveTail, agents: `slave.${D}`, agentsSrv: `_slave._tcp.${D}` };
}

/** An address record for a name checked already, and a valid IP (a v6 address is the one with a colon). */
function pushAddress(out: ZoneRecord[], name: string | undefined, ip: string): void {
  if (name !== undefined) out.push({ name, type: ip.includes(':') ? 'AAAA' : 'A', value: ip, port: 0, key: ip });
}

function taskRecords(app: AppEntry, task: TaskEntry, naming: AppNaming, ctx: DeriveContext): TaskRecords {
  if (TERMINAL_STATES.has(task.state)) return { task, hostIps: undefined, listed: false, records: NO_RECORDS, agent: NO_RECORDS };
  const hostIps = ctx.lookup(task.host);
  // Agents: every agent that runs a live task.
  const agent: ZoneRecord[] = [];
  if (hostIps && hostIps.length > 0) {
    for (const ip of hostIps) pushIp(agent, naming.agents, ip);
    pushSrv(agent, naming.agentsSrv, naming.agents, AGENT_PORT);
  }
  const none = { task, hostIps, listed: false, records: NO_RECORDS, agent };
  if (!task.routable || task.agentId === undefined || naming.sanitised === '') return none;
  const S = agentSuffix(task.agentId);
  if (S === '') return none;
  const H = taskHash(task.taskId);
  // Only valid addresses from here on: the names are checked once, the addresses here.
  const ips = taskIps(task, ctx.ipSources, hostIps).filter((ip) => isIP(ip) !== 0);
  const agentIps = (hostIps ?? []).filter((ip) => isIP(ip) !== 0);
  const ports = hostPorts(app, task);
  const out: ZoneRecord[] = [];
  for (const form of naming.forms) {
    const canonical = form.sanitised ? canonicalLabel(form.T, H, S) : `${form.T}-${H}-${S}`;
    const target = encodable(`${canonical}${naming.tail}`);
    const slaveTarget = encodable(`${canonical}${naming.slaveTail}`);
    for (const ip of ips) {
      pushAddress(out, form.plain, ip);
      pushAddress(out, target, ip);
    }
    for (const ip of agentIps) {
      pushAddress(out, form.slave, ip);
      pushAddress(out, slaveTarget, ip);
    }
    if (slaveTarget !== undefined) {
      for (const port of ports) {
        if (port <= 0 || port > 65535) continue;
        const key = `${port} ${slaveTarget}`;
        for (const name of form.slaveSrv) out.push({ name, type: 'SRV', value: slaveTarget, port, key });
      }
    }
    if (target === undefined) continue;
    for (let i = 0; i < app.ports.length; i++) {
      const port = task.endpoints[app.ports[i]!.index]?.port;
      if (port === undefined || port <= 0 || port > 65535) continue;
      const key = `${port} ${target}`;
      for (const name of form.portSrv[i]!) out.push({ name, type: 'SRV', value: target, port, key });
    }
  }
  return { task, hostIps, listed: true, records: out, agent };
}

/**
 * The records of an app. With `previous` (the same app's records from an earlier version), every
 * task whose inputs did not change (the task, its agent's IPs, the app's ports and `F`) keeps its
 * records, and when nothing changed at all `previous` itself comes back.
 */
export function appRecords(app: AppEntry, ctx: DeriveContext, previous?: AppRecords): AppRecords {
  const reusable =
    previous !== undefined && previous.framework === ctx.framework && previous.appId === app.appId && previous.ports === app.ports && previous.networkMode === app.networkMode;
  let byId: Map<string, TaskRecords> | undefined;
  if (reusable && previous.tasks.length > 0) {
    byId = new Map();
    for (const t of previous.tasks) byId.set(t.task.taskId, t);
  }
  let naming: AppNaming | undefined;
  let unchanged = reusable && previous.tasks.length === app.tasks.length;
  const tasks: TaskRecords[] = [];
  const hosts: string[] = [];
  let hostSet: Set<string> | undefined;
  for (let i = 0; i < app.tasks.length; i++) {
    const task = app.tasks[i]!;
    const old = byId?.get(task.taskId);
    let t: TaskRecords | undefined;
    if (old && sameTaskInputs(old.task, task) && (TERMINAL_STATES.has(task.state) || sameItems(old.hostIps, ctx.lookup(task.host)))) t = old;
    else t = taskRecords(app, task, (naming ??= appNaming(app, ctx)), ctx);
    if (unchanged && previous?.tasks[i] !== t) unchanged = false;
    tasks.push(t);
    if (TERMINAL_STATES.has(task.state)) continue;
    // Distinct hosts: a linear scan for small apps, a set for big ones.
    if (hostSet) {
      if (!hostSet.has(task.host)) {
        hostSet.add(task.host);
        hosts.push(task.host);
      }
    } else if (!hosts.includes(task.host)) {
      hosts.push(task.host);
      if (hosts.length > 16) hostSet = new Set(hosts);
    }
  }
  if (unchanged && previous) return previous;
  return {
    appId: app.appId,
    raw: naming?.raw ?? previous?.raw ?? toHostname(app.appId).toLowerCase(),
    framework: ctx.framework,
    ports: app.ports,
    networkMode: app.networkMode,
    tasks,
    hosts,
  };
}

/**
 * The ring-wide names of the Habitat rings in the table (`_hab-gossip._R._udp.habitat.D`,
 * `T-H-S.R.habitat.D`, `R.habitat.D`, …: src/habitat/dns.ts says which), as zone records: those
 * that can be written on the wire, each once. They depend on the Habitat apps' entries only (and
 * not on agent lookups: a member's address is what the peer list says).
 */
export function ringRecords(table: RoutingTable, domain: string): ZoneRecord[] {
  const out: ZoneRecord[] = [];
  for (const r of ringDnsRecords(table, domain)) {
    for (const ip of r.a) pushIp(out, r.name, ip);
    for (const ip of r.aaaa) pushIp(out, r.name, ip);
    for (const s of r.srv) pushSrv(out, r.name, s.target, s.port);
  }
  if (out.length < 2) return out;
  const seen = new Set<string>();
  return out.filter((r) => {
    const id = recordId(r);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * `/v1/enumerate`: every listed task with its records, a record under the first task that produced
 * it (records of the cluster and the agents are not listed, and not listed again under a task).
 */
export function enumerateTasks(cluster: ClusterRecords, apps: readonly AppRecords[]): EnumTask[] {
  const seen = new Set<string>();
  for (const r of cluster.records) seen.add(recordId(r));
  for (const app of apps) for (const t of app.tasks) for (const r of t.agent) seen.add(recordId(r));
  const out: EnumTask[] = [];
  for (const app of apps) {
    for (const t of app.tasks) {
      if (!t.listed) continue;
      const records: EnumRecord[] = [];
      for (const r of t.records) {
        const id = recordId(r);
        if (seen.has(id)) continue;
        seen.add(id);
        records.push({ name: `${r.name}.`, host: r.type === 'SRV' ? `${r.value}.:${r.port}` : r.value, rtype: r.type });
      }
      out.push({ name: app.raw, id: t.task.taskId, records });
    }
  }
  return out;
}

/**
 * Every record pacer serves for this table, built from scratch: what Mesos-DNS would serve (routable
 * tasks only), plus the Habitat rings' names under `habitat.D`. The definition the live zone is tested against.
 */
export function buildRecords(table: RoutingTable, options: NamingOptions, lookup: HostLookup): RecordSet {
  const cluster = clusterRecords(table.cluster, options, lookup);
  const ctx: DeriveContext = { domain: options.domain, framework: cluster.framework, ipSources: options.ipSources, lookup };
  const apps = table.apps.map((app) => appRecords(app, ctx));
  const names = new Map<string, NameRecords>();
  const seen = new Set<string>();
  const add = (r: ZoneRecord) => {
    const id = recordId(r);
    if (seen.has(id)) return;
    seen.add(id);
    let n = names.get(r.name);
    if (!n) names.set(r.name, (n = { a: [], aaaa: [], srv: [] }));
    if (r.type === 'A') n.a.push(r.value);
    else if (r.type === 'AAAA') n.aaaa.push(r.value);
    else n.srv.push({ priority: 0, weight: SRV_WEIGHT, port: r.port, target: r.value });
  };
  for (const r of cluster.records) add(r);
  for (const app of apps) for (const t of app.tasks) for (const r of t.agent) add(r);
  for (const app of apps) for (const t of app.tasks) for (const r of t.records) add(r);
  // Habitat rings: not an app's records (not listed by `/v1/enumerate`).
  for (const r of ringRecords(table, options.domain)) add(r);
  return {
    domain: options.domain,
    framework: cluster.framework,
    frameworkName: cluster.frameworkName,
    names,
    tasks: enumerateTasks(cluster, apps),
    nsName: `${NS_LABEL}.${options.domain}`,
  };
}
