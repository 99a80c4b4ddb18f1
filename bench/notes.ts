/** Fixed prose of docs/benchmarks.md: how each bench works, and what was tried to reach the targets. */

export const NOTES = `- **Proxy** (bench/proxy.ts, the logic of bench/proxy-quick.ts): one backend process
  (bench/backend.ts, a tiny node:http server; nginx, named by the issue as a neutral backend, is not
  used: the node backend is the same for every path, and on this machine it is the ceiling HAProxy
  runs into, which flatters every proxy's ratio a little). HAProxy 2.6 runs with \`nbthread 1\`
  (http mode with \`option forwardfor\` and \`X-Forwarded-Port\`, as marathon-lb configures it; tcp
  mode), pacer as one process (\`--workers 1\`) and, for the workers row, a second pacer with
  \`--workers 2\`. Every path gets the same \`wrk -t1 -c16\`, in interleaved rounds. The TCP row is
  HTTP/1.1 keep-alive through a tcp-mode port: request/response pairs over one connection each.
- **Latency at a fixed rate**: Debian's wrk 4 has no \`-R\` and Debian has no wrk2, so
  bench/loadgen.ts (written for this) is an open-loop generator: requests are due on a fixed
  schedule and sent on 32 keep-alive connections; latency counts from the due time (no coordinated
  omission). The rate is half of HAProxy's median http req/s from the same run. On this 2-core
  machine that rate can be above what pacer sustains while the generator and the backend share its
  cores, in which case pacer's queue grows and its p99 is the queueing delay.
- **DNS** (bench/dns.ts): 200 apps × 3 tasks (IP-per-task) in the emulator; pacer serves them;
  pacer's \`/v1/axfr\` is written as an NSD zone file (same A and SRV records), and NSD runs with
  \`server-count: 1\`, \`rrl-ratelimit: 0\`, its own config, pid, zone list and log in a temp dir, on a
  free loopback port. One dnsperf run per server and round (\`-c 1 -q 100\`), A names then SRV names.
  NSD is a C server built for this; pacer is one Node thread.
- **Events** (bench/events.ts): the event's own \`timestamp\` (written by the emulator, ms resolution,
  same clock) to the first response from a new task through pacer, to the last request sent that a
  killed task answered, and to the first A (its IP) and SRV (3 targets) answer from pacer's DNS.
- **Scale** (bench/scale.ts, bench/marathon-static.ts): creating 10,000 apps through the emulator's
  API takes far too long for a 15-minute run (about 150 s per 1,000 apps of 10 tasks, growing with
  the number of apps), so the bench captures one app and one task from the emulator as templates
  and serves N × M clones in exactly that wire format from a static Marathon (\`/v2/apps\` with the
  embeds, \`/v2/info\`, \`/v2/events\`). Every app is exposed on its own service port (bound to
  127.77.0.1). Figures come from pacer's own metrics. It runs twice: \`--dns-port 0\`, then with DNS
  on, whose first full zone build (720,000 names at 10,000 × 10, about 11 s and 1.2 GB in
  test/dns/scale.ts) is the cost.
- **Churn** (bench/churn.ts, the approach of test/proxy/churn.test.ts): 4 keep-alive HTTP loops and 2
  short-TCP-connection loops through pacer while the emulator scales 1 → 5 → 1 and redeploys
  (\`--step-delay-ms 60\` stands in for Marathon's kill grace period).
- \`npm test\` does not run the benches; test/bench/harness.test.ts renders this table from fixed
  numbers and checks the pass/miss rule of each target.`;

export const TRIED = `From docs/proxy.md (Performance) and docs/dns.md (Performance):

- **HTTP proxy.** A profile of the old HTTP path (\`--cpu-prof\`, pacer at 3.5k req/s) spent a third of
  pacer's CPU inside undici (\`Pool\` → \`Client\` queueing and \`setImmediate\` resumes, request object
  and header validation per request, wasm llhttp), plus \`stripResponseHeaders\` rebuilding header
  objects and node's \`setHeader\` path for the object form of \`writeHead\`. A minimal proxy around an
  undici \`Pool.dispatch\` reached only ≈ 7–10k req/s on its own; a raw-socket client with a JS head
  parser ≈ 14–16k in the same run (≈ 1.45x). An undici \`Client\` per upstream (pipelining 1)
  serialised every request on one connection: 3.4k. node's \`http.request\` with a keep-alive
  \`Agent\`: 3.7k. pacer now has its own upstream client (\`src/proxy/http/client.ts\`): the upstream
  request head built as one string and written with one \`write\`; the response head parsed once into
  the flat \`[name, value, …]\` list \`res.writeHead\` takes, hop-by-hop headers dropped in the same
  pass; chunked bodies decoded incrementally; connections kept per backend (LIFO, not reused after
  4 s idle; the idle timeout armed once per connection). HTTP went from 0.24x to about 0.5x HAProxy.
- After that change pacer's HTTP profile is ≈ 60 % kernel time in \`writev\`/\`write\` (loopback TCP,
  including the receiving side's work) and idle; pacer's own JavaScript is a few percent per
  function (head parse 1.8 %, prom-client histogram 1.2 %). TCP mode is a plain \`socket.pipe\` both
  ways: its profile is ≈ all the write syscall; nothing left to remove in JS.
- **Did not help / not done**: pipelining upstream (HAProxy does not either; head-of-line risk);
  converting small bodies to a latin1 string so node writes head and body in one \`write\` instead of
  a \`writev\` (no measurable difference); batching prom-client updates (≈ 2 % of the profile, not
  worth a metrics-freshness trade).
- **\`--workers 2\`** does not scale on this 2-core machine: wrk and the backend already take most of
  a core, so a second proxy process competes with them for the same two cores. The ≥ 1.6x target
  needs cores to spare; the default stays 1.
- **DNS queries.** Every (name, type) answer is kept encoded (answer records with the owner as a
  pointer to the question, SRV targets' additional records, the SOA for negative answers); a query
  costs a decode of the question into a reused object, one map lookup by the lower-cased wire name,
  a shuffle of record indexes and one copy into a Buffer of the exact size: no record objects, no
  name encoding, no closures per query. The query path alone answers about 1,000,000 queries/s
  in-process (\`node test/dns/qps.ts\`); over loopback UDP the server is bound by the socket path of
  one Node thread (dgram \`send\` per reply), which is where the gap to NSD is. For orientation from
  the issue: a naive dns2 handler ≈ 5k qps, dns2 with a wire cache ≈ 42k.
- **DNS table changes** cost what changed (\`live.ts\`, \`LiveZone\`): records derived once per app
  entry and per changed task, names re-encoded only when their value set changes. At 10,000 apps ×
  10 tasks (\`node test/dns/scale.ts\`): full build about 11-13 s and about 1.2 GB of heap (the former
  rebuild from scratch took about 20 s on every change); one-task change median 0.4-0.5 ms.
- **Not tried yet** (the rows that miss): batching DNS replies (\`sendmmsg\` is not available to
  Node's dgram), a native UDP path or answering DNS from the proxy workers with SO_REUSEPORT; a
  lighter first zone build at 10,000 apps (lazy encoding of names on first query); for the HTTP
  proxy, fewer syscalls per request (corking the client response with the next read).`;
