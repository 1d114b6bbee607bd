/**
 * Turns zod's JSON Schema (draft 2020-12) into a structural OpenAPI v3
 * schema the Kubernetes API server accepts for a CRD:
 * - every node has a `type`, except int-or-string quantities, which take the
 *   exact `anyOf: [{type: integer}, {type: string}]` shape the API server allows;
 * - no $ref/$defs, no `propertyNames`, no `additionalProperties` beside
 *   `properties` (and never `false`): unknown fields are pruned by the server;
 * - no number bounds that only say "a JS safe integer", no giant date-time
 *   regexes (`format: date-time` says it).
 * Anything it does not know how to make structural is an error, not a guess:
 * a schema change that the API server would reject fails here first.
 */
export type JsonSchema = { [k: string]: unknown };

const SAFE = Number.MAX_SAFE_INTEGER;

const isObj = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

export class NotStructuralError extends Error {
  override name = 'NotStructuralError';
}

const fail = (path: string, why: string): never => {
  throw new NotStructuralError(`${path || '<root>'}: ${why}`);
};

const intOrString = (node: JsonSchema, path: string): JsonSchema => {
  const branches = Array.isArray(node.anyOf) ? (node.anyOf as JsonSchema[]) : [];
  const str = branches.find((b) => b.type === 'string');
  const out: JsonSchema = {};
  if (typeof node.description === 'string') out.description = node.description;
  out['x-kubernetes-int-or-string'] = true;
  out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  // `pattern` outside anyOf applies to the string form only, as for core quantities.
  if (str && typeof str.pattern === 'string') out.pattern = str.pattern;
  if (str && typeof str.maxLength === 'number') out.maxLength = str.maxLength;
  // Rules on the quantity itself (a floor, a transition rule) see either form.
  if (Array.isArray(node['x-kubernetes-validations'])) out['x-kubernetes-validations'] = node['x-kubernetes-validations'];
  if (!str) fail(path, 'int-or-string node without a string branch');
  return out;
};

export const toStructural = (node: unknown, path = ''): JsonSchema => {
  if (!isObj(node)) return fail(path, 'schema node is not an object');
  if ('$ref' in node || '$defs' in node || 'definitions' in node) fail(path, '$ref/$defs are not allowed in a CRD schema');
  if (node['x-kubernetes-int-or-string'] === true) return intOrString(node, path);
  if ('anyOf' in node || 'oneOf' in node || 'allOf' in node || 'not' in node) {
    fail(path, 'unions are not structural: use an enum, a discriminated object or int-or-string');
  }
  if (Array.isArray(node.type)) fail(path, `type ${JSON.stringify(node.type)}: nullable fields are not supported, make the field optional`);

  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) {
    switch (k) {
      case '$schema':
      case 'propertyNames':
        break;
      case 'const':
        out.enum = [v];
        break;
      case 'properties': {
        if (!isObj(v)) fail(path, 'properties is not an object');
        const props: JsonSchema = {};
        for (const [name, child] of Object.entries(v as JsonSchema)) props[name] = toStructural(child, `${path}.${name}`);
        out.properties = props;
        break;
      }
      case 'items':
        out.items = toStructural(v, `${path}[]`);
        break;
      case 'additionalProperties':
        // `false` is not allowed, and beside `properties` it is not allowed either:
        // the API server prunes unknown fields instead.
        if (isObj(v) && !('properties' in node)) out.additionalProperties = toStructural(v, `${path}{}`);
        break;
      case 'minimum':
        if (v !== -SAFE) out.minimum = v;
        break;
      case 'maximum':
        if (v !== SAFE) out.maximum = v;
        break;
      // JSON Schema 2020 gives the bound as the value; the API server's OpenAPI v3.0 wants it as minimum/maximum with a flag.
      case 'exclusiveMinimum':
        out.minimum = v;
        out.exclusiveMinimum = true;
        break;
      case 'exclusiveMaximum':
        out.maximum = v;
        out.exclusiveMaximum = true;
        break;
      case 'pattern':
        if (node.format !== 'date-time') out.pattern = v;
        break;
      default:
        out[k] = v;
    }
  }
  if (typeof out.type !== 'string') fail(path, 'every node needs a type');
  if (out.type === 'object' && !out.properties && !out.additionalProperties && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    fail(path, 'an object needs properties, additionalProperties or x-kubernetes-preserve-unknown-fields');
  }
  return out;
};

/** Key order the API server does not care about but humans reading the CRD do. */
const ORDER = ['description', 'type', 'format', 'enum', 'default', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems'];

export const canonical = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(canonical);
  if (!isObj(node)) return node;
  const keys = Object.keys(node).sort((a, b) => {
    const ia = ORDER.indexOf(a);
    const ib = ORDER.indexOf(b);
    if (ia !== -1 || ib !== -1) return (ia === -1 ? ORDER.length : ia) - (ib === -1 ? ORDER.length : ib);
    return 0; // keep the schema's own order for properties and the rest
  });
  const out: JsonSchema = {};
  for (const k of keys) {
    // Property maps keep declaration order (the order of the zod schema) and
    // `default`/`enum` values are data: recurse only into schema nodes.
    if (k === 'properties' && isObj(node[k])) {
      const props: JsonSchema = {};
      for (const [name, child] of Object.entries(node[k] as JsonSchema)) props[name] = canonical(child);
      out[k] = props;
    } else if (k === 'items' || k === 'additionalProperties') out[k] = canonical(node[k]);
    else if (k === 'anyOf' || k === 'x-kubernetes-validations') out[k] = (node[k] as unknown[]).map(canonical);
    else out[k] = node[k];
  }
  return out;
};
