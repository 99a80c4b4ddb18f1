/**
 * A small JSON Schema (draft 4) validator: the keywords Marathon's legacy AppDefinition.json uses
 * (type, properties, additionalProperties, patternProperties, required, items/additionalItems,
 * minItems, enum, minimum, maximum, minLength, pattern, $ref, allOf, oneOf, not). Unknown keywords
 * (format, description, default) are ignored. Returns the errors, each with its JSON path.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { readonly [key: string]: unknown };

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

export function validate(schema: Schema, value: unknown, root: Schema = schema, path = '$'): string[] {
  const errors: string[] = [];
  const s = schema;
  if (typeof s['$ref'] === 'string') {
    const ref = s['$ref'];
    if (!ref.startsWith('#/')) return [`${path}: unsupported $ref ${ref}`];
    let target: unknown = root;
    for (const part of ref.slice(2).split('/')) target = (target as Schema | undefined)?.[part];
    if (!target || typeof target !== 'object') return [`${path}: unresolved $ref ${ref}`];
    errors.push(...validate(target as Schema, value, root, path));
  }
  if (s['type'] !== undefined) {
    const types = Array.isArray(s['type']) ? (s['type'] as string[]) : [s['type'] as string];
    if (!types.some((t) => typeMatches(value, t))) return [...errors, `${path}: expected ${types.join('|')}, got ${typeOf(value)}`];
  }
  if (Array.isArray(s['enum']) && !s['enum'].some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s['enum'])}`);
  }
  if (typeof value === 'number') {
    if (typeof s['minimum'] === 'number' && value < s['minimum']) errors.push(`${path}: ${value} < minimum ${s['minimum']}`);
    if (typeof s['maximum'] === 'number' && value > s['maximum']) errors.push(`${path}: ${value} > maximum ${s['maximum']}`);
  }
  if (typeof value === 'string') {
    if (typeof s['minLength'] === 'number' && value.length < s['minLength']) errors.push(`${path}: shorter than ${s['minLength']}`);
    if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'], 'u').test(value)) errors.push(`${path}: ${JSON.stringify(value)} does not match ${s['pattern']}`);
  }
  if (Array.isArray(value)) {
    if (typeof s['minItems'] === 'number' && value.length < s['minItems']) errors.push(`${path}: fewer than ${s['minItems']} items`);
    const items = s['items'];
    if (Array.isArray(items)) {
      value.forEach((v, i) => {
        if (i < items.length) errors.push(...validate(items[i] as Schema, v, root, `${path}[${i}]`));
        else if (s['additionalItems'] === false) errors.push(`${path}[${i}]: no additional items allowed`);
        else if (s['additionalItems'] && typeof s['additionalItems'] === 'object') errors.push(...validate(s['additionalItems'] as Schema, v, root, `${path}[${i}]`));
      });
    } else if (items && typeof items === 'object') {
      value.forEach((v, i) => errors.push(...validate(items as Schema, v, root, `${path}[${i}]`)));
    }
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as { [key: string]: Json };
    const properties = (s['properties'] ?? {}) as Record<string, Schema>;
    const patterns = Object.entries((s['patternProperties'] ?? {}) as Record<string, Schema>);
    for (const name of (s['required'] ?? []) as string[]) if (!(name in obj)) errors.push(`${path}: missing required ${name}`);
    for (const [key, v] of Object.entries(obj)) {
      let known = false;
      if (properties[key]) {
        known = true;
        errors.push(...validate(properties[key], v, root, `${path}.${key}`));
      }
      for (const [pattern, sub] of patterns) {
        if (new RegExp(pattern, 'u').test(key)) {
          known = true;
          errors.push(...validate(sub, v, root, `${path}.${key}`));
        }
      }
      if (!known) {
        if (s['additionalProperties'] === false) errors.push(`${path}.${key}: not allowed`);
        else if (s['additionalProperties'] && typeof s['additionalProperties'] === 'object') errors.push(...validate(s['additionalProperties'] as Schema, v, root, `${path}.${key}`));
      }
    }
  }
  if (Array.isArray(s['allOf'])) for (const sub of s['allOf']) errors.push(...validate(sub as Schema, value, root, path));
  if (Array.isArray(s['oneOf'])) {
    const passing = s['oneOf'].filter((sub) => validate(sub as Schema, value, root, path).length === 0).length;
    if (passing !== 1) errors.push(`${path}: matches ${passing} of the oneOf schemas, not exactly one`);
  }
  if (s['not'] && typeof s['not'] === 'object' && validate(s['not'] as Schema, value, root, path).length === 0) errors.push(`${path}: matches a schema it must not`);
  return errors;
}
