/**
 * The one contract between the sync engine and what serves its tables (proxy, DNS, Habitat):
 * `apply` is called with every new table version, in order, and must be idempotent and quick
 * (precompute what the hot path needs, swap it in; never wait on I/O). A consumer never talks back
 * to Marathon.
 */
import type { AdminRoutes } from './admin/server.ts';
import type { RoutingTable, TableDiff } from './model/routing-table.ts';

export interface Consumer {
  /** Short name for logs and metrics (`dns`, `proxy`, …). */
  readonly name: string;
  /** Take a new table. Throwing is a bug: it is logged and counted, and the sync goes on. */
  apply(table: RoutingTable, diff: TableDiff): void;
  /**
   * Why this consumer cannot serve yet, if it cannot (the DNS server before its first zone is
   * built): `/ready` answers 503 and shows the reason meanwhile.
   */
  readonly pending?: () => string | undefined;
  /** Admin endpoints this consumer serves (e.g. Mesos-DNS's /v1 API). */
  registerRoutes?(routes: AdminRoutes): void;
  /** Stop accepting; let what is in flight finish, for at most `graceMs`. */
  close(graceMs: number): Promise<void>;
}
