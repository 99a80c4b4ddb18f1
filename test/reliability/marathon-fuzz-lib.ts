/**
 * Mutated Marathon JSON for fuzzing pacer's Marathon client: app lists, single apps and event
 * payloads, derived from real examples (test/fixtures/marathon/, shared/reference/marathon/ and
 * CONTRACT §1.6) by a seeded PRNG, so every case can be replayed from its seed.
 *
 * Used by test/reliability/marathon-fuzz.test.ts (in-process and through a live pacer) and by the
 * soak script test/reliability/soak/marathon-faults.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Random = () => number;

const FIXTURES = fileURLToPath(new URL('../fixtures/marathon/', import.meta.url));
const SHARED_EXAMPLES = fileURLToPath(new URL('../../../shared/reference/marathon/rest-api/v2/examples/', import.meta.url));

function readJson(path: string): Json | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch {
    return undefined;
  }
}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every app object found in the fixtures: `apps[]` of lists and `app` of single-app answers. */
export function fixtureApps(): { [key: string]: Json }[] {
  const out: { [key: string]: Json }[] = [];
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).map((f) => `${FIXTURES}${f}`);
  if (existsSync(SHARED_EXAMPLES)) {
    for (const f of ['app_list.json', 'app.json', 'apps_create.json', 'app-check-http-example.json']) {
      if (existsSync(`${SHARED_EXAMPLES}${f}`)) files.push(`${SHARED_EXAMPLES}${f}`);
    }
  }
  for (const file of files) {
    const doc = readJson(file);
    if (!isObject(doc)) continue;
    const apps = doc['apps'];
    if (Array.isArray(apps)) for (const a of apps) if (isObject(a) && typeof a['id'] === 'string') out.push(a);
    const app = doc['app'];
    if (isObject(app) && typeof app['id'] === 'string') out.push(app);
    if (typeof doc['id'] === 'string' && (doc['cmd'] !== undefined || doc['container'] !== undefined)) out.push(doc);
  }
  if (out.length === 0) throw new Error(`no app fixtures under ${FIXTURES}`);
  return out;
}

/** Task objects from the fixtures (embedded `tasks` and `tasks.json`). */
export function fixtureTasks(): { [key: string]: Json }[] {
  const out: { [key: string]: Json }[] = [];
  for (const app of fixtureApps()) {
    const tasks = app['tasks'];
    if (Array.isArray(tasks)) for (const t of tasks) if (isObject(t)) out.push(t);
  }
  const doc = readJson(`${FIXTURES}examples/tasks.json`);
  if (isObject(doc) && Array.isArray(doc['tasks'])) for (const t of doc['tasks']) if (isObject(t)) out.push(t);
  return out;
}

/** Ids an event template refers to (a real task of a real app, so valid events are meaningful). */
export interface EventIds {
  readonly appId: string;
  readonly taskId: string;
  readonly instanceId: string;
  readonly host: string;
  readonly port: number;
}

export const CONTRACT_IDS: EventIds = {
  appId: '/prod/web/api',
  taskId: 'prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002._app.1',
  instanceId: 'prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002',
  host: '10.0.1.23',
  port: 31512,
};

/** One payload of each event type pacer subscribes to (and some it does not), shaped as CONTRACT §1.6 shows them. */
export function eventTemplates(ids: EventIds = CONTRACT_IDS): { type: string; payload: { [key: string]: Json } }[] {
  const ts = '2021-09-20T10:15:09.441Z';
  const version = '2021-09-20T10:15:02.117Z';
  const agent = '4fb620fa-ba8d-4eb0-8ae3-f2912aaf015c-S2';
  const plan: Json = { id: '867ed450-f6a8-4d33-9b0e-e11c5513990b', steps: [{ actions: [{ action: 'RestartApplication', app: ids.appId }] }], version };
  const t = (type: string, payload: { [key: string]: Json }) => ({ type, payload: { ...payload, eventType: type, timestamp: ts } });
  return [
    t('status_update_event', {
      slaveId: agent, taskId: ids.taskId, taskStatus: 'TASK_RUNNING', message: '', appId: ids.appId, host: ids.host,
      ipAddresses: [{ ipAddress: ids.host, protocol: 'IPv4' }], ports: [ids.port], version,
    }),
    t('instance_changed_event', { instanceId: ids.instanceId, condition: 'Running', runSpecId: ids.appId, agentId: agent, host: ids.host, runSpecVersion: version }),
    t('instance_health_changed_event', { instanceId: ids.instanceId, runSpecId: ids.appId, healthy: true, runSpecVersion: version }),
    t('health_status_changed_event', { appId: ids.appId, instanceId: ids.instanceId, version, alive: true }),
    t('api_post_event', { clientIp: '10.0.0.7', uri: `/v2/apps${ids.appId}`, appDefinition: { id: ids.appId, instances: 1, cmd: 'serve', labels: {} } }),
    t('deployment_info', { plan, currentStep: { actions: [{ action: 'RestartApplication', app: ids.appId }] } }),
    t('deployment_success', { id: '867ed450-f6a8-4d33-9b0e-e11c5513990b', plan }),
    t('deployment_failed', { id: '867ed450-f6a8-4d33-9b0e-e11c5513990b', plan }),
    t('app_terminated_event', { appId: ids.appId }),
    t('failed_health_check_event', { appId: ids.appId, taskId: ids.instanceId, healthCheck: { protocol: 'HTTP', path: '/health', portIndex: 0 } }),
    t('group_change_success', { groupId: '/prod/web', version }),
  ];
}

// ---- mutation -----------------------------------------------------------------------------------

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function clone<T extends Json>(v: T): T {
  return structuredClone(v);
}

/** A value nested `depth` levels deep (arrays or objects), built from text so no recursion is needed. */
export function deeplyNested(depth: number, kind: 'array' | 'object' = 'array'): Json {
  const text = kind === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  return JSON.parse(text) as Json;
}

const WEIRD_NUMBERS: readonly number[] = [
  -1, 0, -0, 0.5, 65535, 65536, 70000, 2 ** 31, 2 ** 53 + 1, -(2 ** 53), 1e308, -1e308, Number.MIN_VALUE, 1e-7,
];
const WEIRD_STRINGS: readonly string[] = [
  '', ' ', 'NaN', 'Infinity', '-Infinity', '-1', '1e999', '0x1F', '70000', 'null', 'undefined', 'true', '[]', '{}',
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', '\u0000', '\ud800', '\udfff', '💥🚀', '\u202eevil', 'İı',
  'ß', '\u200b', '/', '//', '/../..', 'TASK_RUNNING ', 'task_running', 'TASK_', '\t', '%00', '${jndi:ldap://x}',
];

function weirdValue(random: Random): Json {
  switch (Math.floor(random() * 10)) {
    case 0:
      return null;
    case 1:
      return pick(random, WEIRD_NUMBERS);
    case 2:
      return pick(random, WEIRD_STRINGS);
    case 3:
      return random() < 0.5;
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      // Deeper nesting is made at the text level (`mutateText`): JSON.stringify itself overflows past ~4,000 levels.
      return deeplyNested(random() < 0.9 ? 100 : 1_500, random() < 0.5 ? 'array' : 'object');
    case 7:
      return 'x'.repeat(random() < 0.9 ? 1_000 : 100_000);
    case 8:
      return Array.from({ length: random() < 0.9 ? 50 : 5_000 }, (_, i) => (random() < 0.5 ? i : pick(random, WEIRD_STRINGS)));
    default:
      // Own `__proto__`/`constructor` keys, as JSON.parse makes them.
      return JSON.parse(`{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},${JSON.stringify(pick(random, WEIRD_STRINGS))}:${pick(random, WEIRD_NUMBERS)}}`) as Json;
  }
}

/** Another value of a different JSON type than `v`. */
function swapType(random: Random, v: Json): Json {
  const options: Json[] = ['1', 1, true, null, [v], { v }];
  const other = options.filter((o) => typeof o !== typeof v || Array.isArray(o) !== Array.isArray(v) || (o === null) !== (v === null));
  return pick(random, other);
}

/** Every container node with its keys, to choose a mutation site from (bounded walk). */
function sites(root: Json): { parent: Json[] | { [key: string]: Json }; key: string | number }[] {
  const out: { parent: Json[] | { [key: string]: Json }; key: string | number }[] = [];
  const stack: Json[] = [root];
  while (stack.length > 0 && out.length < 5_000) {
    const node = stack.pop() as Json;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length && i < 200; i++) {
        out.push({ parent: node, key: i });
        stack.push(node[i] as Json);
      }
    } else if (isObject(node)) {
      for (const k of Object.keys(node)) {
        out.push({ parent: node, key: k });
        stack.push(node[k] as Json);
      }
    }
  }
  return out;
}

/** One structural mutation of a copy of `value`: delete, null, swap type, weird value, or nest. */
export function mutateValue(random: Random, value: Json, rounds = 1 + Math.floor(random() * 3)): Json {
  const root = clone(value);
  for (let r = 0; r < rounds; r++) {
    const all = sites(root);
    if (all.length === 0) return weirdValue(random);
    const { parent, key } = pick(random, all);
    const current = (parent as Record<string | number, Json>)[key] as Json;
    const op = Math.floor(random() * 6);
    const set = (v: Json) => {
      (parent as Record<string | number, Json>)[key] = v;
    };
    if (op === 0) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else if (op === 1) set(null);
    else if (op === 2) set(swapType(random, current));
    else if (op === 3) set(weirdValue(random));
    else if (op === 4) set(typeof current === 'number' ? pick(random, WEIRD_NUMBERS) : typeof current === 'string' ? pick(random, WEIRD_STRINGS) : weirdValue(random));
    else set(random() < 0.5 ? [current] : { nested: current });
  }
  return root;
}

/** Keys pacer's decoders read, in apps, tasks and events. */
const DECODED_KEYS: readonly string[] = [
  'id', 'apps', 'app', 'tasks', 'labels', 'ports', 'portDefinitions', 'container', 'networks', 'instances', 'healthChecks',
  'taskId', 'appId', 'taskStatus', 'instanceId', 'runSpecId', 'condition', 'alive', 'healthy', 'plan', 'appDefinition',
  'eventType', 'host', 'ipAddresses', 'state', 'version', 'healthCheckResults',
];

/** Printable characters (no CR/LF, no lone surrogates) for text mutations that must survive SSE framing and UTF-8. */
const SAFE_CHARS = ['{', '}', '[', ']', '"', ',', ':', '\\', ' ', '0', '-', 'e', 'n', 'u', 'l', 't', 'é', '💥', '\u0000', '\t'];

/** One text-level mutation of a JSON document: truncation, a flipped, inserted or deleted span, or a duplicated key. */
export function mutateText(random: Random, text: string, frameSafe = false): string {
  if (text.length === 0) return '{';
  const at = Math.floor(random() * text.length);
  switch (Math.floor(random() * 6)) {
    case 5: {
      // A field the decoder reads, overridden (last key wins) by a value nested 100,000 levels deep.
      const end = text.lastIndexOf('}');
      if (end <= 0) return text.slice(0, at);
      const depth = random() < 0.1 ? 100_000 : 1_000;
      const deep = random() < 0.5 ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      return `${text.slice(0, end)},${JSON.stringify(pick(random, DECODED_KEYS))}:${deep}${text.slice(end)}`;
    }
    case 0:
      return text.slice(0, at);
    case 1: {
      const ch = frameSafe ? pick(random, SAFE_CHARS) : String.fromCharCode(Math.floor(random() * 0x3000));
      return text.slice(0, at) + ch + text.slice(at + 1);
    }
    case 2: {
      const ch = frameSafe ? pick(random, SAFE_CHARS) : String.fromCharCode(Math.floor(random() * 0x80));
      return text.slice(0, at) + ch.repeat(1 + Math.floor(random() * 3)) + text.slice(at);
    }
    case 3:
      return text.slice(0, at) + text.slice(Math.min(text.length, at + 1 + Math.floor(random() * 20)));
    default: {
      // A duplicated key: `{"id":"x",…}` → `{"id":"x","id":…}` (JSON.parse keeps the last one).
      const brace = text.indexOf('{');
      if (brace < 0) return text.slice(0, at);
      return `${text.slice(0, brace + 1)}"id":${JSON.stringify(pick(random, WEIRD_STRINGS))},"eventType":7,${text.slice(brace + 1)}`;
    }
  }
}

/** A mutated event payload as text, frame-safe (no CR or LF, well-formed UTF-16) for writing through SSE. */
export function mutatedEvent(random: Random, templates: readonly { type: string; payload: { [key: string]: Json } }[]): { type: string; data: string } {
  const { type, payload } = pick(random, templates);
  const r = random();
  let data: string;
  if (r < 0.6) data = JSON.stringify(mutateValue(random, payload));
  else if (r < 0.9) data = mutateText(random, JSON.stringify(payload), true);
  else data = mutateText(random, JSON.stringify(mutateValue(random, payload)), true);
  return { type, data: data.replace(/[\r\n]/g, ' ') };
}

/** SSE frames for `events`, as Marathon writes them. */
export function sseFrames(events: readonly { type: string; data: string }[]): string {
  let out = '';
  for (const e of events) out += `event: ${e.type}\r\ndata: ${e.data}\r\n\r\n`;
  return out;
}
