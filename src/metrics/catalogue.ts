/**
 * The one metric catalogue: every metric pacer exports is defined here (name, type, help, labels,
 * buckets) and nowhere else. Every subsystem increments these; the admin server serves them; the
 * docs and the Grafana dashboard are checked against this list.
 *
 * Conventions (Prometheus): `pacer_` prefix, base units, `_total` for counters, `_seconds` for
 * durations, label values from bounded sets only.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly buckets?: readonly number[];
}

export const METRICS = {
  marathonEvents: {
    name: 'pacer_marathon_events_total',
    type: 'counter',
    help: 'Marathon events received on the event stream, by event type.',
    labelNames: ['type'],
  },
  marathonEventsMalformed: {
    name: 'pacer_marathon_events_malformed_total',
    type: 'counter',
    help: 'Marathon events that could not be decoded and were skipped.',
    labelNames: [],
  },
  marathonStreamConnected: {
    name: 'pacer_marathon_stream_connected',
    type: 'gauge',
    help: '1 while the Marathon event stream is connected, else 0.',
    labelNames: [],
  },
  marathonStreamReconnects: {
    name: 'pacer_marathon_stream_reconnects_total',
    type: 'counter',
    help: 'Event stream (re)connection attempts after the first, by reason the previous one ended.',
    labelNames: ['reason'],
  },
  marathonStreamLastActivity: {
    name: 'pacer_marathon_stream_last_activity_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time of the last bytes received on the event stream (events or keep-alives).',
    labelNames: [],
  },
  marathonResyncs: {
    name: 'pacer_marathon_resyncs_total',
    type: 'counter',
    help: 'Full resyncs (GET /v2/apps with tasks), by trigger and result.',
    labelNames: ['trigger', 'result'],
  },
  marathonResyncDuration: {
    name: 'pacer_marathon_resync_duration_seconds',
    type: 'histogram',
    help: 'Duration of full resyncs, fetch and apply, successful ones only.',
    labelNames: [],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  },
  marathonLastSync: {
    name: 'pacer_marathon_last_sync_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time of the last successful full resync.',
    labelNames: [],
  },
  marathonStaleSeconds: {
    name: 'pacer_marathon_stale_seconds',
    type: 'gauge',
    help: 'Seconds since pacer last knew its routing table was current with Marathon (event stream connected and resynced since); 0 while it is. The last good table keeps serving meanwhile.',
    labelNames: [],
  },
  marathonAppFetches: {
    name: 'pacer_marathon_app_fetches_total',
    type: 'counter',
    help: 'Single-app fetches (GET /v2/apps/{id}) triggered by events, by result.',
    labelNames: ['result'],
  },
  marathonRequestErrors: {
    name: 'pacer_marathon_request_errors_total',
    type: 'counter',
    help: 'Failed requests to a Marathon instance, by reason (timeout, connect, status, json, auth).',
    labelNames: ['reason'],
  },
  routingApplies: {
    name: 'pacer_routing_table_applies_total',
    type: 'counter',
    help: 'Batches of Marathon changes applied to the routing table (each coalesces one or more events or fetches).',
    labelNames: [],
  },
  routingApplyEvents: {
    name: 'pacer_routing_table_apply_events',
    type: 'histogram',
    help: 'Events coalesced into one routing-table apply.',
    labelNames: [],
    buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000],
  },
  routingApplyDuration: {
    name: 'pacer_routing_table_apply_duration_seconds',
    type: 'histogram',
    help: 'Time to apply a batch of events and rebuild the routing table.',
    labelNames: [],
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
  },
  routingApplyErrors: {
    name: 'pacer_routing_table_apply_errors_total',
    type: 'counter',
    help: 'Applies that failed with an unexpected error (the last good table keeps serving; a resync follows).',
    labelNames: [],
  },
  routingVersion: {
    name: 'pacer_routing_table_version',
    type: 'gauge',
    help: 'Version of the routing table being served (increases on every change).',
    labelNames: [],
  },
  routingApps: {
    name: 'pacer_routing_apps',
    type: 'gauge',
    help: 'Marathon apps known.',
    labelNames: [],
  },
  routingTasks: {
    name: 'pacer_routing_tasks',
    type: 'gauge',
    help: 'Live tasks known (running, starting, killing, unreachable).',
    labelNames: [],
  },
  routingServices: {
    name: 'pacer_routing_services',
    type: 'gauge',
    help: 'Service ports exposed by this load balancer (after group filtering).',
    labelNames: [],
  },
  routingRoutableBackends: {
    name: 'pacer_routing_routable_backends',
    type: 'gauge',
    help: 'Backends of exposed services that take new traffic.',
    labelNames: [],
  },
  labelProblems: {
    name: 'pacer_label_problems',
    type: 'gauge',
    help: 'Labels ignored because they are unknown or malformed, by app.',
    labelNames: ['app'],
  },
  // --- Habitat (issue 5) ---
  habitatRingMembers: {
    name: 'pacer_habitat_ring_members',
    type: 'gauge',
    help: 'Tasks of Habitat apps by ring and state: healthy (listed in the peer list), unhealthy (live but not routable), excluded (routable, but the app is misconfigured or the task has no address yet).',
    labelNames: ['ring', 'state'],
  },
  habitatApps: {
    name: 'pacer_habitat_apps',
    type: 'gauge',
    help: 'Marathon apps running Habitat supervisors, by how they were found (label, port, command).',
    labelNames: ['detection'],
  },
  habitatMisconfiguredApps: {
    name: 'pacer_habitat_misconfigured_apps',
    type: 'gauge',
    help: 'Habitat apps with a problem that breaks or may break their ring, by reason (gossip_port_missing, gossip_port_remapped, gossip_single_protocol, gossip_port_proxied).',
    labelNames: ['reason'],
  },
  habitatPeerListRequests: {
    name: 'pacer_habitat_peer_list_requests_total',
    type: 'counter',
    help: 'Peer-list requests (/v1/habitat/rings/{ring}/peers) answered, by format (text, json, unknown for an unknown ring).',
    labelNames: ['format'],
  },
  // --- end Habitat ---
  // --- DNS (issue 4): add DNS metrics below this line ---
  dnsQueries: {
    name: 'pacer_dns_queries_total',
    type: 'counter',
    help: 'DNS queries answered, by query type (A, AAAA, SRV, SOA, NS, ANY, other), response code (NOERROR, NXDOMAIN, REFUSED, SERVFAIL, FORMERR, NOTIMP, other) and transport (udp, tcp). Forwarded queries count with the upstream rcode.',
    labelNames: ['qtype', 'rcode', 'transport'],
  },
  dnsTruncated: {
    name: 'pacer_dns_truncated_total',
    type: 'counter',
    help: 'DNS replies that did not fit the client\'s UDP size and were sent partial with TC set.',
    labelNames: [],
  },
  dnsForwarded: {
    name: 'pacer_dns_forwarded_total',
    type: 'counter',
    help: 'Attempts to forward a query outside the zone to a --dns-resolvers entry, by result (ok, timeout, error).',
    labelNames: ['result'],
  },
  dnsMalformed: {
    name: 'pacer_dns_malformed_total',
    type: 'counter',
    help: 'DNS packets that could not be read (answered FORMERR, or dropped when not even a query header).',
    labelNames: [],
  },
  dnsRebuilds: {
    name: 'pacer_dns_answer_rebuilds_total',
    type: 'counter',
    help: 'Rebuilds of the precomputed DNS answers, by trigger (table, hosts).',
    labelNames: ['trigger'],
  },
  dnsRebuildDuration: {
    name: 'pacer_dns_answer_rebuild_duration_seconds',
    type: 'histogram',
    help: 'Time to rebuild the precomputed DNS answers from a routing table.',
    labelNames: [],
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
  },
  dnsRecords: {
    name: 'pacer_dns_records',
    type: 'gauge',
    help: 'Resource records served in the zone (A, AAAA, SRV, SOA, NS).',
    labelNames: [],
  },
  dnsNames: {
    name: 'pacer_dns_names',
    type: 'gauge',
    help: 'Names that exist in the zone (with records or as empty non-terminals).',
    labelNames: [],
  },
  dnsSerial: {
    name: 'pacer_dns_zone_serial',
    type: 'gauge',
    help: 'SOA serial of the zone being served (increases with every rebuild).',
    labelNames: [],
  },
  // --- end DNS ---
  // --- proxy (issue 3): add proxy metrics below this line ---
  proxyRequests: {
    name: 'pacer_service_requests_total',
    type: 'counter',
    help: 'HTTP requests answered on a service (service port or virtual host), by status code and method (unusual methods count as OTHER).',
    labelNames: ['service', 'code', 'method'],
  },
  proxyRequestDuration: {
    name: 'pacer_service_request_duration_seconds',
    type: 'histogram',
    help: 'Time from a request arriving to its response ending, by service.',
    labelNames: ['service'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  },
  proxyOpenConnections: {
    name: 'pacer_service_open_connections',
    type: 'gauge',
    help: 'Open downstream TCP connections (protocol tcp) or HTTP requests in flight (protocol http), by service.',
    labelNames: ['service', 'protocol'],
  },
  proxyBytes: {
    name: 'pacer_service_bytes_total',
    type: 'counter',
    help: 'Bytes proxied for a service, by direction: in = from clients (request bodies for HTTP), out = to clients (response bodies for HTTP).',
    labelNames: ['service', 'direction'],
  },
  proxyRetries: {
    name: 'pacer_service_retries_total',
    type: 'counter',
    help: 'Connections or requests that were sent to another backend after a failed attempt, by service.',
    labelNames: ['service'],
  },
  proxyBackendUp: {
    name: 'pacer_backend_up',
    type: 'gauge',
    help: '1 when a backend takes new traffic; 0 while it is unhealthy, draining or ejected after failed connects.',
    labelNames: ['service', 'backend'],
  },
  proxyBackendConnectErrors: {
    name: 'pacer_backend_connect_errors_total',
    type: 'counter',
    help: 'Failed connects (refused, timed out, reset before a response) to a backend.',
    labelNames: ['service', 'backend'],
  },
  proxyBackendEjections: {
    name: 'pacer_backend_ejections_total',
    type: 'counter',
    help: 'Times a backend was ejected (no new traffic for a backoff period) after consecutive failed connects.',
    labelNames: ['service', 'backend'],
  },
  proxyUdpFlows: {
    name: 'pacer_udp_flows',
    type: 'gauge',
    help: 'Live UDP flows (client address:port with its upstream socket), by service.',
    labelNames: ['service'],
  },
  proxyListenerProblems: {
    name: 'pacer_listener_problems',
    type: 'gauge',
    help: 'Listeners pacer should run but cannot (port in use, privileged, claimed by two services, bad certificate), by kind.',
    labelNames: ['kind'],
  },
  proxyConnectionsRefused: {
    name: 'pacer_proxy_connections_refused_total',
    type: 'counter',
    help: 'Client connections refused because a connection limit was reached, by listener and by limit (listener = --max-connections-per-port, total = --max-connections).',
    labelNames: ['listener', 'limit'],
  },
  proxyConnections: {
    name: 'pacer_proxy_connections',
    type: 'gauge',
    help: 'Client connections open now on all proxy listeners (service ports and virtual-host listeners).',
    labelNames: [],
  },
  // --- end proxy ---
} as const satisfies Record<string, MetricDef>;

export type MetricKey = keyof typeof METRICS;
