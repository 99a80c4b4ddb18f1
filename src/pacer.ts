/**
 * One pacer process, composed: Marathon client → sync engine → routing table → consumers
 * (for now the admin server). `startPacer` is what the command runs, and what the demo runs
 * in-process next to the emulator.
 */
import type { AddressInfo } from 'node:net';
import { RoutingChanges } from './admin/changes.ts';
import { logTableChange } from './admin/change-log.ts';
import { createAdminServer, coreRoutes } from './admin/server.ts';
import type { ConfigValues } from './config/load.ts';
import type { Consumer } from './consumer.ts';
import type { Logger } from './log.ts';
import { MarathonClient, readCredentialsFile, type Credentials } from './marathon/client.ts';
import { SyncEngine } from './marathon/sync.ts';
import { createMetrics, type Metrics } from './metrics/registry.ts';
import { TableBuilder } from './model/routing-table.ts';
import { startProxy, type ProxyOptions } from './proxy/index.ts';
import { startProxyWorkers } from './proxy/workers.ts';
import { startDns } from './dns/index.ts';
import { createHabitat } from './habitat/index.ts';
import { listening } from './net/listening.ts';
import { VERSION } from './version.ts';

/** The part of the configuration a pacer process uses. */
export type PacerSettings = Pick<
  ConfigValues,
  | 'marathon'
  | 'marathonCredentialsFile'
  | 'groups'
  | 'strictMode'
  | 'healthCheck'
  | 'bind'
  | 'adminBind'
  | 'adminPort'
  | 'resyncIntervalSeconds'
  | 'marathonTimeoutSeconds'
  | 'streamIdleTimeoutSeconds'
  | 'dnsBind'
  | 'dnsPort'
  | 'dnsDomain'
  | 'dnsTtlSeconds'
  | 'dnsResolvers'
  | 'dnsForwardAllow'
  | 'dnsIpSources'
  | 'dnsHttpPort'
  | 'httpPort'
  | 'httpsPort'
  | 'tlsCerts'
  | 'drainTimeoutSeconds'
  | 'proxyConnectTimeoutSeconds'
  | 'proxyIdleTimeoutSeconds'
  | 'proxyRequestTimeoutSeconds'
  | 'maxHeaderSize'
  | 'maxConnections'
  | 'maxConnectionsPerPort'
  | 'workers'
>;

export interface Pacer {
  readonly sync: SyncEngine;
  readonly metrics: Metrics;
  /** Where the admin server listens (`http://host:port`). */
  readonly adminUrl: string;
  /** Apply reloaded settings that can change live (see config/reload.ts); the table is diffed, nothing dropped. */
  reconfigure(settings: Pick<PacerSettings, 'groups' | 'strictMode' | 'healthCheck' | 'resyncIntervalSeconds'>): void;
  /** Stop accepting, let in-flight admin requests finish (up to `graceMs`), stop syncing. */
  stop(graceMs?: number): Promise<void>;
}

export async function startPacer(settings: PacerSettings, logger: Logger): Promise<Pacer> {
  const credentials: Credentials | undefined = settings.marathonCredentialsFile
    ? readCredentialsFile(settings.marathonCredentialsFile)
    : undefined;
  const metrics = createMetrics();
  const client = new MarathonClient({
    urls: settings.marathon,
    credentials,
    timeoutMs: settings.marathonTimeoutSeconds * 1000,
    onError: (reason) => metrics.marathonRequestErrors.inc({ reason }),
  });
  const builder = new TableBuilder({
    groups: settings.groups,
    strictMode: settings.strictMode,
    healthCheck: settings.healthCheck,
    bind: settings.bind,
  });
  const consumers: Consumer[] = await startConsumers(settings, { logger, metrics });
  const changes = new RoutingChanges();
  const sync = new SyncEngine({
    client,
    builder,
    metrics,
    logger,
    resyncIntervalMs: settings.resyncIntervalSeconds * 1000,
    idleTimeoutMs: settings.streamIdleTimeoutSeconds * 1000,
    onTable: (table, diff) => {
      logger.debug(
        { version: table.version, added: diff.added.length, removed: diff.removed.length, changed: diff.changed.length },
        'routing table changed',
      );
      changes.record(table, diff);
      logTableChange(logger, table, diff);
      for (const consumer of consumers) {
        try {
          consumer.apply(table, diff);
        } catch (error) {
          metrics.routingApplyErrors.inc();
          logger.error({ err: error, consumer: consumer.name, version: table.version }, 'a consumer failed to apply the routing table');
        }
      }
    },
  });

  const pending = () => consumers.map((c) => c.pending?.()).filter((reason): reason is string => reason !== undefined);
  const routes = coreRoutes({ table: () => sync.table, status: () => sync.status, metrics, version: VERSION, changes, pending });
  for (const consumer of consumers) consumer.registerRoutes?.(routes);
  const admin = createAdminServer(routes, logger);
  try {
    await listening(admin, (done) => admin.listen(settings.adminPort, settings.adminBind, done));
  } catch (error) {
    await Promise.all(consumers.map((c) => c.close(0)));
    throw error;
  }
  const address = admin.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const adminUrl = `http://${host}:${address.port}`;
  logger.info({ admin: adminUrl, marathon: settings.marathon, groups: settings.groups, version: VERSION }, 'pacer started');
  sync.start();

  let stopping: Promise<void> | undefined;
  return {
    sync,
    metrics,
    adminUrl,
    reconfigure(next) {
      sync.reconfigure({
        table: { ...builder.options, groups: next.groups, strictMode: next.strictMode, healthCheck: next.healthCheck },
        resyncIntervalMs: next.resyncIntervalSeconds * 1000,
      });
    },
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => admin.close(() => resolve()));
        admin.closeIdleConnections();
        const timer = setTimeout(() => admin.closeAllConnections(), graceMs);
        await sync.stop();
        await Promise.all(consumers.map((c) => c.close(graceMs)));
        await closed;
        clearTimeout(timer);
        await client.close();
      })();
      return stopping;
    },
  };
}

/** The consumers the configuration asks for, started (listening) before the first table arrives. */
async function startConsumers(settings: PacerSettings, context: { logger: Logger; metrics: Metrics }): Promise<Consumer[]> {
  const consumers: Consumer[] = [];
  try {
    if (settings.dnsPort > 0) consumers.push(await startDns(settings, context));
    // Habitat opens nothing: it serves peer lists on the admin server, so it is always on.
    consumers.push(createHabitat(context));
    const proxyOptions: ProxyOptions = {
      bind: settings.bind,
      httpPort: settings.httpPort,
      httpsPort: settings.httpsPort,
      tlsCerts: settings.tlsCerts,
      drainTimeoutMs: settings.drainTimeoutSeconds * 1000,
      connectTimeoutMs: settings.proxyConnectTimeoutSeconds * 1000,
      idleTimeoutMs: settings.proxyIdleTimeoutSeconds * 1000,
      requestTimeoutMs: settings.proxyRequestTimeoutSeconds * 1000,
      maxHeaderSize: settings.maxHeaderSize,
      maxConnections: settings.maxConnections,
      maxConnectionsPerPort: settings.maxConnectionsPerPort,
    };
    // --workers > 1: the proxy runs in worker processes fed with each table over IPC (proxy/workers.ts).
    const proxy =
      (settings.workers ?? 1) > 1
        ? await startProxyWorkers(settings.workers, { options: proxyOptions, logLevel: context.logger.level }, context)
        : await startProxy(proxyOptions, context);
    consumers.push(proxy);
  } catch (error) {
    // One part could not start: close what did, so that the failure is clean.
    await Promise.all(consumers.map((c) => c.close(0)));
    throw error;
  }
  return consumers;
}

