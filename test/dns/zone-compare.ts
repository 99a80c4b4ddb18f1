/** Comparing zones for the DNS tests: every (name, type) answered alike, without the shuffle order. */
import { expect } from 'vitest';
import { Answerer, TCP } from '../../src/dns/answer.ts';
import type { RecordSet } from '../../src/dns/names.ts';
import { TYPE } from '../../src/dns/wire.ts';
import { answersFor, type Zone } from '../../src/dns/zone.ts';
import { parse, query } from '../helpers/dns.ts';

const TYPES = [TYPE.A, TYPE.AAAA, TYPE.SRV, TYPE.SOA, TYPE.NS, TYPE.ANY, 16];

/** One answer set as sorted strings: each record's bytes, with the addresses its SRV target brings to the additional section. */
export function answerDigest(zone: Zone, key: string, qtype: number): string {
  const entry = zone.names.get(key);
  if (!entry) return 'NXDOMAIN';
  const set = answersFor(entry, qtype);
  if (!set) return 'NODATA';
  const records: string[] = [];
  let additionalBytes = 0;
  let additionalCount = 0;
  for (const block of set.targets) {
    additionalBytes += block.data.length;
    additionalCount += block.pointers.length;
  }
  expect(set.additionalBytes).toBe(additionalBytes);
  expect(set.additionalCount).toBe(additionalCount);
  expect(set.offsets[set.count]).toBe(set.data.length);
  for (let r = 0; r < set.count; r++) {
    let text = set.data.subarray(set.offsets[r], set.offsets[r + 1]).toString('hex');
    const b = set.targetOf?.[r] ?? -1;
    if (b >= 0) {
      const block = set.targets[b]!;
      const parts = block.pointers.map((p, i) => block.data.subarray(p, block.pointers[i + 1] ?? block.data.length).toString('hex'));
      text += ` + ${parts.sort().join(',')}`;
    }
    records.push(text);
  }
  return records.sort().join('\n');
}

/** Every (name, type) of both zones answers the same; the zones' SOA, serial and counts agree. */
export function expectSameZone(live: Zone, scratch: Zone, step: string): void {
  expect(live.serial, step).toBe(scratch.serial);
  expect(live.soaTail.equals(scratch.soaTail), step).toBe(true);
  expect(live.recordCount, step).toBe(scratch.recordCount);
  expect(live.maxAnswers, step).toBeGreaterThanOrEqual(scratch.maxAnswers);
  expect([...live.names.keys()].sort(), step).toEqual([...scratch.names.keys()].sort());
  for (const key of scratch.names.keys()) {
    for (const qtype of TYPES) {
      const a = answerDigest(live, key, qtype);
      const b = answerDigest(scratch, key, qtype);
      if (a !== b) expect(a, `${step}: ${JSON.stringify(key)} type ${qtype}`).toBe(b);
    }
  }
}

export function sortedRecords(set: RecordSet): unknown {
  return [...set.names.entries()]
    .map(([name, r]) => [name, [...r.a].sort(), [...r.aaaa].sort(), r.srv.map((s) => `${s.target}:${s.port}:${s.weight}`).sort()] as const)
    .sort((x, y) => (x[0] < y[0] ? -1 : 1));
}

/** A query over TCP (never truncated), parsed, with its sections sorted. */
export function ask(answerer: Answerer, name: string, qtype: number): unknown {
  const reply = answerer.answer(query(name, qtype), TCP);
  if (!(reply instanceof Buffer)) throw new Error(`no reply for ${name}`);
  const p = parse(reply);
  const show = (records: readonly object[]) => records.map((r) => JSON.stringify(r)).sort();
  return { flags: reply.readUInt16BE(2), answers: show(p.answers), authorities: show(p.authorities), additionals: show(p.additionals) };
}
