/**
 * A JSON Schema (draft-07) validator for the keywords values.schema.json uses:
 * type, enum, const, properties, required, additionalProperties, items,
 * minItems, minimum, maximum, minLength, pattern, anyOf, allOf and local $ref
 * (#/definitions/…). Any other keyword is refused, so the schema cannot rely on
 * something this checker would silently skip. (zod's fromJSONSchema was tried:
 * it accepted values that break the schema's allOf/anyOf rules.)
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema',
  'title',
  'description',
  'definitions',
  '$ref',
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'minimum',
  'maximum',
  'minLength',
  'pattern',
  'anyOf',
  'allOf',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, type: string): boolean {
  const actual = typeOf(v);
  return actual === type || (type === 'number' && actual === 'integer');
}

function resolveRef(root: Schema, ref: string): Schema {
  const m = /^#\/definitions\/([A-Za-z0-9_-]+)$/.exec(ref);
  const target = m ? (root.definitions as Record<string, Schema> | undefined)?.[m[1] as string] : undefined;
  if (!target) throw new Error(`unresolvable $ref ${ref}`);
  return target;
}

/** every problem as "path: message"; empty when valid */
export function validate(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  check(root, value, '', errors);
  return errors;

  function check(schema: Schema, v: unknown, path: string, out: string[]): void {
    const at = path || '(root)';
    for (const key of Object.keys(schema)) if (!KNOWN.has(key)) throw new Error(`${at}: schema keyword "${key}" is not supported by this validator`);
    if (typeof schema.$ref === 'string') check(resolveRef(root, schema.$ref), v, path, out);
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
      if (!types.some((t) => matchesType(v, t))) {
        out.push(`${at}: must be ${types.join(' or ')}, not ${typeOf(v)}`);
        return;
      }
    }
    if (schema.enum !== undefined && !(schema.enum as unknown[]).some((e) => e === v)) out.push(`${at}: must be one of ${JSON.stringify(schema.enum)}`);
    if ('const' in schema && schema.const !== v) out.push(`${at}: must be ${JSON.stringify(schema.const)}`);
    if (typeof v === 'number') {
      if (typeof schema.minimum === 'number' && v < schema.minimum) out.push(`${at}: must be at least ${schema.minimum}`);
      if (typeof schema.maximum === 'number' && v > schema.maximum) out.push(`${at}: must be at most ${schema.maximum}`);
    }
    if (typeof v === 'string') {
      if (typeof schema.minLength === 'number' && v.length < schema.minLength) out.push(`${at}: must have at least ${schema.minLength} characters`);
      if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(v)) out.push(`${at}: must match ${schema.pattern}`);
    }
    if (Array.isArray(v)) {
      if (typeof schema.minItems === 'number' && v.length < schema.minItems) out.push(`${at}: must have at least ${schema.minItems} items`);
      if (schema.items !== undefined) v.forEach((item, i) => check(schema.items as Schema, item, `${path}[${i}]`, out));
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const obj = v as Record<string, unknown>;
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      for (const name of (schema.required ?? []) as string[]) if (!(name in obj)) out.push(`${path ? `${path}.` : ''}${name}: is required`);
      for (const [name, child] of Object.entries(obj)) {
        const childPath = path ? `${path}.${name}` : name;
        if (props[name]) check(props[name], child, childPath, out);
        else if (schema.additionalProperties === false) out.push(`${childPath}: is not allowed here`);
        else if (typeof schema.additionalProperties === 'object') check(schema.additionalProperties as Schema, child, childPath, out);
      }
    }
    if (Array.isArray(schema.allOf)) for (const sub of schema.allOf as Schema[]) check(sub, v, path, out);
    if (Array.isArray(schema.anyOf)) {
      const attempts = (schema.anyOf as Schema[]).map((sub) => {
        const e: string[] = [];
        check(sub, v, path, e);
        return e;
      });
      if (!attempts.some((e) => e.length === 0)) {
        out.push(
          `${at}: ${typeof schema.description === 'string' ? schema.description : 'matches none of the allowed forms'} (${attempts.map((e) => e.join('; ')).join(' | ')})`,
        );
      }
    }
  }
}
