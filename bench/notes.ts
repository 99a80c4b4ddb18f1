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
  Two warm-up cycles run first and are not counted (the first cycle ran pacer's paths cold: 15-23
  ms where the next ones took 3-10). With 25 counted events the p99 is their maximum, so one
  cycle delayed by the load on the shared cores (the 4 request loops, the emulator, the backend)
  decides it: the same code measured 17 ms, 20.3 ms and 24 ms p99 in three runs in one afternoon
  (and the code of the session's start 33 ms in the same hour), with p50 at 6.3-6.7 ms throughout.
- **Scale** (bench/scale.ts, bench/marathon-static.ts): creating 10,000 apps through the emulator's
  API takes far too long for a 15-minute run (about 150 s per 1,000 apps of 10 tasks, growing with
  the number of apps), so the bench captures one app and one task from the emulator as templates
  and serves N × M clones in exactly that wire format from a static Marathon (\`/v2/apps\` with the
  embeds, \`/v2/info\`, \`/v2/events\`). Every app is exposed on its own service port (bound to
  127.77.0.1), so the proxy opens 10,000 listeners for 100,000 backends. Figures come from pacer's
  own metrics, and the phases of the full sync from its \`resync applied\` log line. Three runs of
  each mode, interleaved: \`--dns-port 0\`, then DNS on (its first full zone build, about 920,000
  names for these app names, runs in slices after the DNS consumer takes the table, no longer inside
  the full sync: "start to the first DNS answer" is when it is served).
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
- **HTTP across runs: 0.46x (2026-11-21 12:49), 0.64x (the run before), 0.61x and 0.51x (two
  runs later the same day, the code of this table).** In the 12:49 run pacer's own figure barely
  moved (6,889 vs 7,192 req/s), HAProxy's did (14,921 vs 11,319). An A/B with
  \`bench/proxy-quick.ts\` right after, the tree at the start of the session (f8f3091) against the
  end, twice: HTTP 7,965 / 8,963 vs 6,936 / 7,789 req/s, TCP 15,864 / 17,878 vs 15,298 / 14,926.
  TCP mode's per-request code did not change between the two, and it moved as much: much of the
  gap is the machine. A cost of the request checks added against smuggling (one pass over the
  raw headers per request, docs/proxy.md) cannot be ruled out; it is not yet measured apart.
- **Did not help / not done**: pipelining upstream (HAProxy does not either; head-of-line risk);
  converting small bodies to a latin1 string so node writes head and body in one \`write\` instead of
  a \`writev\` (no measurable difference); batching prom-client updates (≈ 2 % of the profile, not
  worth a metrics-freshness trade).
- **\`--workers 2\`** does not scale on this 2-core machine: wrk and the backend already take most of
  a core, so a second proxy process competes with them for the same two cores. The ≥ 1.6x target
  needs cores to spare; the default stays 1. At scale, \`--workers\` used to cost far more than a
  core: every table went to every worker whole (10,000 apps × 10 tasks: the primary spent ~0.4 s
  of CPU per status event cloning it, each worker reconciled all of it); now each table goes out as
  what it changed (src/proxy/worker-table.ts): 30 events 12.1 → 0.56 s of CPU in the primary,
  1.3 → 0.05 s in each worker (\`/proc\` CPU times).
- **DNS queries.** Every (name, type) answer is kept encoded (answer records with the owner as a
  pointer to the question, SRV targets' additional records, the SOA for negative answers); a query
  costs a decode of the question into a reused object, one map lookup by the lower-cased wire name,
  a shuffle of record indexes and one copy into a Buffer of the exact size: no record objects, no
  name encoding, no closures per query. The query path alone answers about 1,000,000 queries/s
  in-process (\`node test/dns/qps.ts\`); over loopback UDP the server is bound by the socket path of
  one Node thread (dgram \`send\` per reply), which is where the gap to NSD is. For orientation from
  the issue: a naive dns2 handler ≈ 5k qps, dns2 with a wire cache ≈ 42k.
- **DNS table changes** cost what changed (\`live.ts\`, \`LiveZone\`): records derived once per app
  entry and per changed task, names settled only when their value set changes, and answers encoded
  when a name is first asked for. At 10,000 apps × 10 tasks (\`node --expose-gc test/dns/scale.ts\`,
  720,000 names): full build 2.8 s (3.4 s of CPU) and 225 MB of heap, from 8.5-12 s and 1,159 MB
  (the former rebuild from scratch took about 20 s on every change); one-task change median 0.31 ms,
  p99 3.1 ms (from 0.44 and 10.9 ms).
- **DNS, the first build in slices** (issue 7: it blocked the event loop for the whole build, 4-5 s in
  a running pacer at 10,000 apps × 10 tasks: queries, the proxy, the admin server and Marathon's
  events waited). A first build (or a new framework name's) of more than 500 tasks is done in units
  (an app, an app of more than 128 tasks in parts, 512 names settled) run for 8 ms, then
  \`setImmediate\`, into a new \`LiveRecords\` swapped in when complete; SERVFAIL (never NXDOMAIN)
  and \`/v1\` 503 until then, or the previous zone; tables that arrive meanwhile wait and the latest
  is applied incrementally after; agent names that resolve meanwhile are taken by the build. \`H\`
  (SHA-1 per task) from the first 8 hex digits of the one-shot \`crypto.hash\` (1-2 µs a task, from
  4-5 µs with \`createHash\` and z-base-32 of the whole digest; byte-identical). The zone's names in
  64 Maps: one Map growing past 262,144 and 524,288 names copied itself in one 30-45 ms step.
  In-process (\`node --expose-gc test/dns/scale.ts\`, 10,000 × 10, load 1-2.5): the event loop blocked
  at most 32-55 ms during the build (a 1 ms interval's longest gap; the longest slice 11-18 ms, the
  rest the young-generation GC between slices), from 3.7-4.5 s; the build 3.0-3.9 s to the complete
  zone (3.7-4.5 s before, at once). \`npm run bench -- scale\`, DNS on, 2 runs each, the same proxy
  code: full sync 5.3-6.6 → 1.5-1.6 s, start to \`/ready\` 6.4-7.8 → 2.5-2.6 s, start to the first
  DNS answer 6.4-7.8 → 6.7-6.9 s (the build now takes about 5.2 s of wall time after the sync, 3.6 s
  of it working), RSS 856 → 812-847 MB; a query every 5 ms during the start: 860-950 unanswered
  before (the socket buffer overflowed during the block), now those asked during the build get
  SERVFAIL within 43-49 ms after the build's first second (in that second the proxy takes the same
  table). **Did not help**: hashing the whole name (or its first 32 characters) to pick the Map: the
  build 25 % slower (8 characters spread over the name: about 7 %); 2,048 names settled per unit
  (slices of 12-20 ms; 512 now). **Left**: the GC's scavenges of 20-100 ms during the build
  (\`--max-semi-space-size=4\` brought the longest block to 14-19 ms in-process, the build as long;
  not set: it is process-wide), and the first build's wall time (the slices share the loop).
- **Scale, what the time and memory went to** (10,000 apps × 10 tasks; \`--cpu-prof\`, heap
  snapshots of the running pacer, and in-process phases). The \`/v2/apps\` body is 55 MB, read as
  one string and parsed once (\`client.ts\`); decoding keeps JSON.parse's strings (task ids,
  versions, timestamps) and some of its arrays in the snapshot. One status event: two thirds of its
  CPU was copying the snapshot's 10,000-entry app Map (the rest: \`JSON.stringify\` comparing an
  app's old and new routes, and GC). The full sync fetched everything twice at start (the start,
  then the stream's connect). The running pacer's live heap without DNS was about 394 MB after a
  GC: about 110 MB of model (snapshot and table) and most of the rest the proxy's per-backend state
  (100,000 \`UpstreamState\` and \`BackendMetrics\`, about 880,000 functions bound by prom-client's
  \`labels()\`, and their label strings); RSS is about twice that (the sync's peak: body, string and
  parsed tree at once, and V8's headroom). The first DNS build kept, per name, a NameState, its
  dotted and wire names in two Maps, a Value object per value, an encoded entry (a Buffer object and
  answer sets) whether anyone asked or not, a Map of referrers per SRV target, arrays that push had
  grown to 17 slots, and per task the 18 \`ZoneRecord\` objects names.ts derived (1.8 million
  objects, about 230 MB).
- **Scale, what changed**: the snapshot's apps are a persistent map (\`src/model/persistent-map.ts\`:
  the versions share one Map, an older version keeps only the entries in which it differs, and
  reading it moves the Map back), so an event costs the apps it touches; the table builder compares
  an app's old and new routes field by field, and reuses the parsed labels while the app definition
  is the same object; the first full fetch waits (up to 1 s) for the event stream to open, so a start
  costs one full fetch, not two; \`resync applied\` logs the phases (fetch, decode, merge, table,
  consumers). The live zone keeps one Map by dotted name, values in flat arrays (an A as a number,
  an SRV as target, port, count), referrers as an array, empty non-terminals as counters, grows
  small arrays by exact-size copies, keeps record counts incrementally, and encodes a name's answers
  when it is first looked up after a change (queries find it through a cache by wire key, and a
  per-commit cache of absent names). \`LiveRecords\` keeps of each task only what its records were
  derived from (the task and its agent's IPs) and derives the records of the tasks that go again to
  take them out: the same inputs give the same records. Decoding builds a task's IP list with a
  literal (an array per task, which push had grown to 17 slots).
- **Scale, what it gave** (\`npm run bench -- scale\`, 3 interleaved runs per mode, the code before
  and after run back to back on the same machine, medians): one status event applied 4.38 → 0.63 ms
  (DNS on 6.50 → 0.45 ms); full sync 2.71 → 2.58 s, DNS on 10.5 → 7.6 s (start to the first DNS
  answer 18.2 → 9.5 s); RSS 918 → 905 MB, DNS on 2,414 → 1,279 MB. In-process (the model alone): an
  event 2.7 → 0.15 ms. Of the full sync without DNS (medians of the phases): fetch and JSON.parse
  0.75 s, decode 0.12 s, merge 0.12 s, table 0.28 s, consumers 1.3 s (the proxy opening 10,000
  listeners and 100,000 backends, the admin change log, Habitat); with DNS on, the consumers take
  5.8-8.7 s, of which the zone's first build about 4.6 s in the running process (names.ts deriving
  the records 1.6 s, a third of it SHA-1 per task; adding them 1.4 s; settling the names 1.5 s).
- **Scale, did not help**: spreading to grow an array (\`[...a, x]\` reserves as many slots as push
  does; \`concat\` gives the exact size); growing by copy only up to 24 slots (an app name's 10 SRV
  values are 30 slots: raised to 64). The first names view of the lazy zone cost about 15 % of the
  in-process query rate (a closure per lookup, and the name of an absent key worked out at every
  query); a direct fast path and the absent-key cache brought it back within the noise.
- **Scale, the proxy** (\`npx node --expose-gc test/proxy/scale.ts\`: the proxy consumer
  in-process with 10,000 apps × 10 tasks, a listener each). It rebuilt every service on every table
  (\`apply\` updated every runtime, \`UpstreamSet\` rebuilt its pick lists and set every backend's
  \`pacer_backend_up\`), and kept per backend an \`UpstreamState\` with two Sets, a
  \`taskId@address:port\` key and prom-client children (a \`labels()\` object of bound functions per
  metric, a hashed series for the gauge). Now \`apply\` takes the table's diff when it follows the
  version applied last and reconciles only the \`bind:port\`s the changed services claim (without
  such a diff, as in a worker, it reconciles the whole table); a runtime whose \`Service\` is the
  object it has is not touched (the table builder keeps unchanged ones); pick lists are rebuilt
  only when one changes; the vhost routes only when an http service's routes or a blue/green merge
  change. The per-backend series are written at scrape time from the upstreams' own fields
  (\`CollectedMetric\` in src/metrics/registry.ts: same names, labels and text). Upstreams are kept
  by task id (the model's strings; the key is made on first use), and what few need (failure counts,
  timers, sockets, pool, cookie) is made on first need, as are a listener's socket set and HTTP
  contexts and a service's metric children. Listener problems are listed once per batch of binds:
  one refresh per failed bind copied and compared the whole list, 58 s of blocked event loop when
  10,000 ports were taken already (\`--busy\`), now 0.5 s. A blue/green winner no longer drops and
  re-adds the other colour's backends on every table (their failure counts and pools survive).
  \`test/proxy/scale.ts --check\` plays random tables (shared ports, deployment groups, port and mode
  changes, udp, endpoint moves) through the incremental apply and the whole-table one and compares
  listeners, problems and \`pacer_backend_up\` after each (it also matched the former \`apply\`
  over 1,700 tables).
- **Scale, what the proxy change gave** (in-process, the same script on the code before and after;
  the shared machine's noise is large): first apply 1,200 → 240-400 ms (CPU until every listener is
  bound 1,700 → 620-880 ms), the proxy's heap 224 → 44 MB, a one-task change 302 → 0.04-0.06 ms
  median (p99 972 → 0.5-1.5 ms), an app added 410 → 0.2 ms, removed 437 → 0.3-0.4 ms, a
  \`/metrics\` scrape of 100,000 backends unchanged (400-550 ms, prom-client's text rendering).
  \`npm run bench -- scale\` (3 runs, DNS off, medians): full sync 2.58 → 1.72 s (consumers 1,331 →
  390-560 ms), one event 0.63 → 0.34 ms, RSS 905 → 659 MB (592-599 MB right after the sync).
- **Scale, proxy, left**: the listeners were already bound without awaiting one another; what is left
  is the kernel's socket/bind/listen per port (about 150 ms of 10,000) and a \`listener open\` log
  line each (about 120 ms), after \`apply\` returns; a listener costs about 1.5 KB (a net.Server and
  its TCP handle). Of the first sync's consumers, the admin change log writes 10,000 \`service
  added\` lines (about 240 ms in a profile of the running pacer). The RSS is now the sync's peak: V8
  keeps the heap it grew to (about 390 MB for about 200 MB live after the sync, plus about 70 MB of
  external memory, the response's buffers), not the proxy's state.
- **Scale, memory (RSS 657 → ~370 MB without DNS).** Read off the running pacer's
  \`nodejs_heap_space_*\` metrics after a 10,000 × 10 sync: the young generation had grown to 134 MB
  (V8 lets a half-space reach 64 MB on a machine with this much memory, and the first sync keeps
  nearly everything alive, so it grew to the cap and stayed resident), old space ~230 MB for ~170 MB
  live, and ~130 MB outside the heap (the response's buffers: 64 KB chunks kept for a
  \`Buffer.concat\`, then the 55 MB string and its parsed tree). Three changes: \`GET /v2/apps\` is
  streamed and each app parsed and decoded as its bytes arrive (\`src/marathon/app-list-splitter.ts\`
  finds where each element of \`apps[]\` ends; the whole document is never held as bytes, text or
  tree): RSS right after the sync 596 → 442 MB; node runs with \`--max-semi-space-size=16\` (in
  bin/pacer.js' \`#!\` line, the image and \`npm start\`; V8's long-time default): 442 → 354 MB, and
  the proxy's req/s did not move (A/B in one session: 0.50x vs 0.49x of HAProxy, within noise); and
  \`/metrics\` is streamed (\`src/metrics/exposition.ts\`): prom-client built an object per series, a
  string per line and the whole 7.7 MB text of 100,000 \`pacer_backend_up\` series at once, 0.55-1.05
  s of blocked loop per scrape that left RSS 80-140 MB higher; the per-backend series are now written
  as text from the proxy's state in ~64 KB chunks as the socket drains: 0.25 s, RSS unchanged by a
  scrape. **Did not help**: keeping one label object per backend so that prom-client's cache of
  label text hits (scrape 550 → 385 ms, but RSS went up by the cache); in the splitter, jumping to
  the next quote with \`indexOf\` inside strings (no faster than the byte loop). **Cost**: the streamed parse
  adds ~100-150 ms of CPU to a 10,000-app fetch (the split, and each app's bytes decoded to text
  apart; in-process 0.35-0.40 s whole vs 0.45-0.55 s streamed), part of it hidden behind the
  network read. With DNS on, RSS stays far above the target: the zone of 100,000 tasks (about 250
  MB) comes on top.
- **Not tried yet** (the rows that miss): for scale with DNS, a leaner zone (interning the strings
  repeated in every task: version, agent, state); for DNS, batching replies (\`sendmmsg\` is not
  available to Node's dgram), a native UDP path or answering DNS from the proxy workers with
  SO_REUSEPORT.
- **HTTP proxy, syscalls per request** (\`strace -c\` on pacer under \`wrk -c4\`): 2 reads and 2
  writes per proxied keep-alive request (the client's request, the request to the backend, the
  backend's answer, the answer to the client): node:http already corks a response's first write
  until the next tick, so the head and a short body leave in one write. That is HAProxy's minimum
  too; corking at the socket by hand changed nothing (the same 2 writes). In a profile under load
  the write and read syscalls are most of pacer's busy time on this VM; what is left above HAProxy
  is node:http and pacer's JavaScript per request.`;
