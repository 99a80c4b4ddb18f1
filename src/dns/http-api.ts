/**
 * Mesos-DNS's HTTP API (reference §4), from the zone pacer serves: `/v1/version`, `/v1/config`
 * (Mesos-DNS's field names, pacer's values, no secrets), `/v1/hosts/{host}`, `/v1/services/{service}`,
 * `/v1/enumerate` and `/v1/axfr`. Lookups answer 200 with Mesos-DNS's "empty" shapes when nothing matches,
 * and 503 (with Retry-After) while there is no zone yet: before the first routing table, and while
 * the first zone is built (in slices, see server.ts), where an empty shape would be a wrong "no such name".
 */
import type { ServerResponse } from 'node:http';
import type { AdminRoutes, AdminHandler } from '../admin/server.ts';
import { sendJson, sendText } from '../admin/server.ts';
import type { RecordSet } from './names.ts';

export interface DnsApiSource {
  /** The records being served (undefined while there is no zone: before the first table, during the first build). */
  readonly records: () => RecordSet | undefined;
  readonly serial: () => number;
  readonly config: () => MesosDnsConfig;
  readonly version: string;
}

/** `/v1/config` in Mesos-DNS's field names. Secrets (`MesosCredentials`, `IAMConfigFile`) are never included. */
export interface MesosDnsConfig {
  readonly RefreshSeconds: number;
  readonly Port: number;
  readonly Timeout: number;
  readonly StateTimeoutSeconds: number;
  readonly ZkDetectionTimeout: number;
  readonly HttpPort: number;
  readonly TTL: number;
  readonly SRVRecordDefaultWeight: number;
  readonly SOASerial: number;
  readonly SOARefresh: number;
  readonly SOARetry: number;
  readonly SOAExpire: number;
  readonly SOAMinttl: number;
  readonly SOAMname: string;
  readonly SOARname: string;
  readonly Masters: readonly string[];
  readonly ZoneResolvers: Readonly<Record<string, readonly string[]>>;
  readonly Resolvers: readonly string[];
  readonly IPSources: readonly string[];
  readonly Zk: string;
  readonly Domain: string;
  readonly File: string;
  readonly Listener: string;
  readonly HTTPListener: string;
  readonly RecurseOn: boolean;
  readonly DnsOn: boolean;
  readonly HttpOn: boolean;
  readonly ExternalOn: boolean;
  readonly EnforceRFC952: boolean;
  readonly SetTruncateBit: boolean;
  readonly EnumerationOn: boolean;
  readonly MesosHTTPSOn: boolean;
  readonly CACertFile: string;
  readonly CertFile: string;
  readonly KeyFile: string;
  readonly MesosAuthentication: string;
}

/** Mesos-DNS's `cleanWild` plus normalisation: lower case, every `.*` removed, no trailing dot. */
export function normaliseName(raw: string): string {
  return raw.toLowerCase().split('.*').join('').replace(/\.+$/, '');
}

function param(url: URL, prefix: string): string {
  const rest = url.pathname.slice(prefix.length);
  try {
    return decodeURIComponent(rest);
  } catch {
    return rest;
  }
}

export function hostsAnswer(records: RecordSet | undefined, raw: string): { host: string; ip: string }[] {
  const name = normaliseName(raw);
  const r = records?.names.get(name);
  const out = [...(r?.a ?? []), ...(r?.aaaa ?? [])].map((ip) => ({ host: `${name}.`, ip }));
  return out.length > 0 ? out : [{ host: '', ip: '' }];
}

export function servicesAnswer(records: RecordSet | undefined, raw: string): { service: string; host: string; ip: string; port: string }[] {
  const name = normaliseName(raw);
  const out: { service: string; host: string; ip: string; port: string }[] = [];
  for (const srv of records?.names.get(name)?.srv ?? []) {
    const target = records?.names.get(srv.target);
    const host = `${srv.target}.`;
    const port = String(srv.port);
    out.push({ service: raw, host, ip: target?.a[0] ?? '', port });
    const v6 = target?.aaaa[0];
    if (v6 !== undefined) out.push({ service: raw, host, ip: v6, port });
  }
  return out.length > 0 ? out : [{ service: '', host: '', ip: '', port: '' }];
}

export function enumerateAnswer(records: RecordSet | undefined): unknown {
  if (!records) return { frameworks: [] };
  return { frameworks: [{ tasks: records.tasks, name: records.frameworkName }] };
}

export function axfrAnswer(records: RecordSet | undefined, config: MesosDnsConfig): unknown {
  const As: Record<string, string[]> = {};
  const AAAAs: Record<string, string[]> = {};
  const SRVs: Record<string, string[]> = {};
  for (const [name, r] of records?.names ?? []) {
    if (r.a.length > 0) As[`${name}.`] = [...r.a];
    if (r.aaaa.length > 0) AAAAs[`${name}.`] = [...r.aaaa];
    if (r.srv.length > 0) SRVs[`${name}.`] = r.srv.map((s) => `${s.target}.:${s.port}`);
  }
  return {
    TTL: config.TTL,
    Serial: config.SOASerial,
    RefreshSeconds: config.RefreshSeconds,
    Mname: config.SOAMname,
    Rname: config.SOARname,
    Domain: config.Domain,
    Records: { As, AAAAs, SRVs },
  };
}

/** What the lookups answer while there is no zone: 503, as the DNS answers SERVFAIL. */
function notBuilt(res: ServerResponse): void {
  res.setHeader('retry-after', '1');
  sendJson(res, 503, { error: 'the DNS zone is not built yet' });
}

/** Add the /v1 routes to an admin route table. */
export function registerDnsApi(routes: AdminRoutes, source: DnsApiSource): void {
  /** Answer from the records served, or 503 while there are none. */
  const withRecords =
    (answer: (records: RecordSet, url: URL) => unknown): AdminHandler =>
    (_req, res, url) => {
      const records = source.records();
      if (records) sendJson(res, 200, answer(records, url));
      else notBuilt(res);
    };
  routes.add('/v1/version', (_req, res) =>
    sendJson(res, 200, { Service: 'Mesos-DNS', URL: 'https://github.com/mesosphere/mesos-dns', Version: `pacer-${source.version}` }),
  );
  routes.add('/v1/config', (_req, res) => sendJson(res, 200, source.config()));
  const lookup = withRecords((records, url) => hostsAnswer(records, param(url, '/v1/hosts/')));
  const hosts: AdminHandler = (req, res, url) => {
    if (param(url, '/v1/hosts/').endsWith('/ports')) {
      sendText(res, 501, 'To be implemented...');
      return;
    }
    lookup(req, res, url);
  };
  routes.addPrefix('/v1/hosts/', hosts);
  routes.addPrefix('/v1/services/', withRecords((records, url) => servicesAnswer(records, param(url, '/v1/services/'))));
  routes.add('/v1/enumerate', withRecords((records) => enumerateAnswer(records)));
  routes.add('/v1/axfr', withRecords((records) => axfrAnswer(records, source.config())));
}
