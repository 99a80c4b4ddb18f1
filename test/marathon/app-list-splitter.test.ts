import { describe, expect, it } from 'vitest';
import { AppListSplitter, AppListSyntaxError } from '../../src/marathon/app-list-splitter.ts';
import { fixtureApps, mutateText } from '../reliability/marathon-fuzz-lib.ts';
import { seededRandom } from '../helpers/random.ts';

type Random = () => number;

/** The document's bytes cut at random places (single bytes now and then: a character's UTF-8 bytes get split). */
function randomChunks(random: Random, bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = random() < 0.1 ? 1 : 1 + Math.floor(random() * (random() < 0.5 ? 300 : 20_000));
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function split(text: string, chunks: (bytes: Buffer) => Buffer[] = (b) => [b]): { apps: unknown[]; error?: string } {
  const apps: unknown[] = [];
  const splitter = new AppListSplitter((app, index) => {
    expect(index).toBe(apps.length);
    apps.push(app);
  });
  try {
    for (const chunk of chunks(Buffer.from(text))) splitter.write(chunk);
    splitter.end();
    return { apps };
  } catch (error) {
    expect(error).toBeInstanceOf(AppListSyntaxError);
    return { apps, error: (error as Error).message };
  }
}

describe('AppListSplitter', () => {
  it('hands on each app of {"apps":[…]} in order, whatever the chunks, skipping other keys', () => {
    const apps = [
      { id: '/a', labels: { HAPROXY_0_VHOST: 'a.example.com' }, tricky: ['"}],{', '\\', '\\"', 'é ü 漢字 🙂'] },
      { id: '/b', tasks: [{ id: 'b.1', ports: [1, 2], nested: [[[{}]]] }] },
      7,
      null,
      'a string, with ] and }',
    ];
    const doc = ` \r\n{ "version" : {"x":[1,{"]":"}"}]}, "apps" :\t[ ${apps.map((a) => JSON.stringify(a, null, 1)).join(' , ')} ] , "after": "[{" }\n`;
    expect(JSON.parse(doc).apps).toEqual(apps);
    expect(split(doc)).toEqual({ apps });
    const random = seededRandom(11);
    for (let n = 0; n < 200; n++) expect(split(doc, (b) => randomChunks(random, b))).toEqual({ apps });
    // One byte at a time.
    expect(split(doc, (b) => Array.from(b, (_, i) => b.subarray(i, i + 1)))).toEqual({ apps });
    expect(split('{"apps":[]}')).toEqual({ apps: [] });
    // Escaped key: still "apps".
    expect(split('{"\\u0061pps":[1]}')).toEqual({ apps: [1] });
  });

  it.each([
    ['an empty body', '', /ends early/],
    ['a top-level array', '[{"id":"/a"}]', /not an object/],
    ['no apps', '{"app":{"id":"/a"}}', /no "apps" array/],
    ['apps an object', '{"apps":{"id":"/a"}}', /"apps" is not an array/],
    ['a truncated list', '{"apps":[{"id":"/a"},{"id":"/b"', /ends early/],
    ['a truncated document', '{"apps":[{"id":"/a"}]', /ends early/],
    ['a trailing comma', '{"apps":[{"id":"/a"},]}', /expected a value, found '\]'/],
    ['a leading comma', '{"apps":[,{"id":"/a"}]}', /expected a value, found ','/],
    ['a bad app', '{"apps":[{"id":"/a"},{"id":}]}', /apps\[1\] is not JSON/],
    ['two values in one element', '{"apps":[1 2]}', /apps\[0\] is not JSON/],
    ['a list closed by }', '{"apps":[{"id":"/a"}}', /found '}'/],
    ['garbage after the end', '{"apps":[]} x', /'x' after the end/],
    ['a second document', '{"apps":[]}{"apps":[]}', /after the end/],
    ['two apps keys', '{"apps":[],"apps":[1]}', /two "apps" keys/],
    ['a bad other value', '{"v":tru,"apps":[]}', /"v" is not JSON/],
    ['a key that is no string', '{apps:[]}', /expected a key/],
    ['a missing colon', '{"apps" []}', /expected ':'/],
    ['an unescaped control character in a key', '{"ap\u0001ps":[]}', /not a JSON string/],
    ['a byte-order mark', '\ufeff{"apps":[]}', /not an object/],
  ])('refuses %s with a message saying where', (_name, text, message) => {
    const r = split(text);
    expect(r.error).toMatch(message);
    expect(() => JSON.parse(text) as unknown).toSatisfy((parse: () => unknown) => {
      try {
        const value = parse() as { apps?: unknown } | null;
        // JSON.parse takes these, but they hold no usable list (or, for two keys, an ambiguous one).
        return !Array.isArray(value?.apps) || text.includes('"apps":[],"apps"');
      } catch {
        return true;
      }
    });
  });

  it('agrees with JSON.parse on 1,500 mutated documents cut into random chunks', () => {
    const random = seededRandom(20261121);
    const base = JSON.stringify({ apps: fixtureApps() });
    let accepted = 0;
    let refused = 0;
    for (let n = 0; n < 1_500; n++) {
      const text = mutateText(random, base);
      let expected: unknown[] | undefined;
      try {
        const value = JSON.parse(text) as unknown;
        if (typeof value === 'object' && value !== null && !Array.isArray(value) && Array.isArray((value as { apps?: unknown }).apps)) {
          expected = (value as { apps: unknown[] }).apps;
        }
      } catch {
        expected = undefined;
      }
      const got = split(text, (b) => randomChunks(random, b));
      if (expected === undefined) {
        expect(got.error, `case ${n}: ${text.slice(0, 200)}`).toBeDefined();
        refused++;
      } else if (got.error !== undefined) {
        // The one difference: JSON.parse keeps the last of two "apps" keys; the splitter refuses.
        expect(got.error, `case ${n}`).toMatch(/two "apps" keys/);
      } else {
        expect(got.apps, `case ${n}`).toEqual(expected);
        accepted++;
      }
    }
    expect(accepted).toBeGreaterThan(150);
    expect(refused).toBeGreaterThan(150);
  });

  it('passes what onApp throws through, and an app nested 100,000 deep to JSON.parse', () => {
    const splitter = new AppListSplitter(() => {
      throw new Error('sink failed');
    });
    expect(() => splitter.write(Buffer.from('{"apps":[1]}'))).toThrow('sink failed');
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const r = split(`{"apps":[${deep},{"id":"/after"}]}`);
    expect(r.error).toBeUndefined();
    expect(r.apps[1]).toEqual({ id: '/after' });
  });
});
