import { InvalidValueError } from "./errors/invalid-value-error.ts";
import type { JsonValue } from "./state-store.ts";

const MAX_DEPTH = 64;

/**
 * Checks that a value is plain JSON and returns a deep-frozen copy of it.
 * The copy decouples the stored record from the caller's object, and freezing lets every
 * reader share it without defensive copies.
 */
export function freezeJsonValue(value: unknown): JsonValue {
  return copy(value, "$", 0, new Set());
}

function copy(value: unknown, path: string, depth: number, ancestors: Set<object>): JsonValue {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
      if (!value.isWellFormed()) throw new InvalidValueError(path, "string is not well-formed Unicode");
      return value;
    case "boolean":
      return value;
    case "number":
      if (!Number.isFinite(value)) throw new InvalidValueError(path, `${value} is not a finite number`);
      return value;
    case "object":
      break;
    default:
      throw new InvalidValueError(path, `a ${typeof value} is not JSON`);
  }
  if (depth >= MAX_DEPTH) throw new InvalidValueError(path, `nested deeper than ${MAX_DEPTH} levels`);
  if (ancestors.has(value)) throw new InvalidValueError(path, "contains a reference cycle");
  ancestors.add(value);
  let result: JsonValue;
  if (Array.isArray(value)) {
    const items: JsonValue[] = [];
    for (let i = 0; i < value.length; i++) items.push(copy(value[i], `${path}[${i}]`, depth + 1, ancestors));
    result = Object.freeze(items) as JsonValue;
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new InvalidValueError(path, `a ${proto?.constructor?.name ?? "class"} instance is not plain JSON`);
    }
    const out: { [key: string]: JsonValue } = {};
    for (const [name, item] of Object.entries(value)) {
      if (item === undefined) throw new InvalidValueError(`${path}.${name}`, "undefined is not JSON");
      out[name] = copy(item, `${path}.${name}`, depth + 1, ancestors);
    }
    result = Object.freeze(out);
  }
  ancestors.delete(value);
  return result;
}
