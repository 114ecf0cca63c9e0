// Plain JSON values, checked and put in a canonical form (object keys sorted) so the manifest's
// bytes depend only on its content, not on the order a caller built its objects in.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * A copy of `value` with object keys sorted, or throws a TypeError naming the offending path
 * (`where.a[3].b`) when it is not plain JSON: undefined, NaN/Infinity, bigint, functions, symbols,
 * class instances (Map, Date, ...) and cycles are refused rather than silently dropped or changed.
 */
export function canonicalJson(value: unknown, where: string): JsonValue {
  return canon(value, where, new Set());
}

function canon(value: unknown, where: string, seen: Set<object>): JsonValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${where}: ${String(value)} is not representable in JSON`);
    return Object.is(value, -0) ? 0 : value;
  }
  if (typeof value !== 'object') throw new TypeError(`${where}: a ${typeof value} is not representable in JSON`);
  if (seen.has(value)) throw new TypeError(`${where}: circular reference`);
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v, i) => canon(v, `${where}[${i}]`, seen));
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`${where}: only plain objects are allowed, not ${value.constructor?.name ?? 'this object'}`);
    }
    const out: JsonObject = {};
    for (const key of Object.keys(value).sort()) {
      out[key] = canon((value as Record<string, unknown>)[key], `${where}.${key}`, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** True for a JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
