import { isMap, isScalar, isSeq, type Node, Scalar } from "yaml";
import type { z } from "zod";
import {
  composeServiceToSpecInput,
  SPEC_FIELD_SOURCES,
  STACK_SERVICE_KEYS,
  unknownServiceKeyMessage,
} from "./compose-service.ts";
import type { FieldPath } from "./field-path.ts";
import { interpolateText } from "./interpolate-text.ts";
import { orderByLinks } from "./link-order.ts";
import { asPlainObject } from "./plain-object.ts";
import { type ServiceSpec, serviceSpec } from "./service-spec.ts";
import { resolveVariable, type VariableSources, type VariableValue, variablesSpec } from "./stack-variables.ts";
import { parseYamlMap } from "./yaml-map-document.ts";

/** A stack file, resolved: variables filled in, services normalised and in link order. */
export type StackDefinition = {
  /** `owner/name`, as the file names it. */
  readonly stack: string;
  /** The name part of `stack`: the default name of the stack in a grid. */
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  readonly expose?: string;
  /** The values used, so a redeploy can reuse them (a random password must not change). */
  readonly variables: Readonly<Record<string, VariableValue>>;
  readonly services: readonly ServiceSpec[];
  readonly volumes: readonly { readonly name: string; readonly external: string }[];
};

const TOP_LEVEL_KEYS = ["stack", "version", "description", "variables", "services", "volumes", "expose"];
const STACK_NAME = /^[a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*$/i;
const VERSION = /^\d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/**
 * Parses and resolves a stack file (kontena.yml style: compose services plus Kontena keys).
 * Every problem found is reported at once, by field path and line, in a StackFileError.
 */
export function parseStackFile(text: string, sources: VariableSources = {}): StackDefinition {
  const { doc, problems, problemAt, report, fail } = parseYamlMap(
    text,
    "a stack file is a map of stack, version, services…",
  );

  const top = (doc.toJS() ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(top))
    if (!TOP_LEVEL_KEYS.includes(key))
      report(
        [key],
        `unknown key "${key}"; a stack file takes ${TOP_LEVEL_KEYS.join(", ")}`,
        keyNode(doc.contents, key),
      );

  const variables = resolveVariables(top.variables, sources, report);
  // A declared variable without a value is optional or already reported: it reads as empty.
  const declared = new Set(Object.keys(asPlainObject(top.variables) ?? {}));
  interpolate(
    doc.contents,
    [],
    (name) => (variables[name] === undefined ? (declared.has(name) ? "" : undefined) : String(variables[name])),
    report,
  );
  const file = doc.toJS() as Record<string, unknown>;

  if (typeof file.stack !== "string" || !STACK_NAME.test(file.stack))
    report(["stack"], file.stack === undefined ? "is required (owner/name)" : "must be owner/name");
  const version = scalarText(doc.getIn(["version"], true));
  if (version === undefined || !VERSION.test(version))
    report(
      ["version"],
      version === undefined ? "is required (like 1.0.0)" : `"${version}" is not a version like 1.0.0`,
    );
  if (file.description !== undefined && typeof file.description !== "string") report(["description"], "must be text");

  const volumes = readVolumes(file.volumes, report);
  const services = readServices(file.services, report, (path) =>
    keyNode(doc.getIn(path.slice(0, -1), true), path.at(-1)),
  );
  reportUndeclaredVolumes(services, volumes, report);
  if (file.expose !== undefined && !services.some((service) => service.name === file.expose))
    report(["expose"], `exposes service "${String(file.expose)}", which is not in this stack`);
  if (problems.length > 0) fail();

  const stack = file.stack as string;
  return {
    stack,
    name: stack.split("/")[1] as string,
    version: version as string,
    ...(typeof file.description === "string" && { description: file.description }),
    ...(typeof file.expose === "string" && { expose: file.expose }),
    variables,
    services: orderByLinks(services, problemAt),
    volumes,
  };
}

/**
 * A scalar as the author wrote it: YAML reads `version: 1.10` as the number 1.1, but a
 * version is text. Interpolated values are text already.
 */
function scalarText(node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null) return undefined;
  return typeof node.value === "string" ? node.value : (node.source ?? String(node.value));
}

type Report = (path: FieldPath, message: string, at?: Node | null) => void;

/** The key node of a map entry, so an unknown key's line is the key's. */
function keyNode(map: unknown, key: string | number | undefined): Node | undefined {
  if (!isMap(map)) return undefined;
  const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
  return pair?.key as Node | undefined;
}

function reportIssues(
  issues: readonly z.core.$ZodIssue[],
  base: FieldPath,
  report: Report,
  rename?: (path: FieldPath) => FieldPath,
): void {
  for (const issue of issues) {
    const own = rename ? rename(issue.path as FieldPath) : (issue.path as FieldPath);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) report([...base, ...own, key], "unknown key");
    } else {
      report([...base, ...own], issue.message);
    }
  }
}

function resolveVariables(raw: unknown, sources: VariableSources, report: Report): Record<string, VariableValue> {
  const resolved: Record<string, VariableValue> = {};
  if (raw === undefined) return resolved;
  const parsed = variablesSpec.safeParse(raw);
  if (!parsed.success) {
    reportIssues(parsed.error.issues, ["variables"], report);
    return resolved;
  }
  for (const [name, variable] of Object.entries(parsed.data)) {
    const value = resolveVariable(name, variable, sources);
    if (value === undefined) {
      if (variable.required)
        report(
          ["variables", name],
          `variable ${name} has no value: give it one${variable.from?.env ? `, set ${variable.from.env}` : ""} or add a default`,
        );
    } else if (typeof value === "object") {
      report(["variables", name], value.error);
    } else {
      resolved[name] = value;
    }
  }
  return resolved;
}

/**
 * Fills in variables in every text value of the file except the variables themselves. A
 * plain (unquoted) value that becomes an integer or boolean is one, as it would be had the
 * author typed it: `instances: ${count}` gives an integer.
 */
function interpolate(
  node: unknown,
  path: FieldPath,
  lookup: (name: string) => string | undefined,
  report: Report,
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "?";
      if (path.length === 0 && key === "variables") continue;
      interpolate(pair.value, [...path, key], lookup, report);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      interpolate(item, [...path, index], lookup, report);
    });
  } else if (isScalar(node) && typeof node.value === "string" && node.value.includes("$")) {
    const result = interpolateText(node.value, lookup);
    if ("error" in result) {
      report(path, result.error, node);
      return;
    }
    node.value = node.type === Scalar.PLAIN ? typed(result.text) : result.text;
  }
}

// Integers and booleans only: a decimal like a version "1.10" must not become 1.1.
function typed(text: string): string | number | boolean {
  if (/^-?\d+$/.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  return text;
}

function readVolumes(raw: unknown, report: Report): StackDefinition["volumes"] {
  if (raw === undefined || raw === null) return [];
  const map = asPlainObject(raw);
  if (map === undefined) {
    report(["volumes"], "must be a map of volume names to {external: name}");
    return [];
  }
  const volumes: { name: string; external: string }[] = [];
  for (const [name, volume] of Object.entries(map)) {
    const external = asPlainObject(volume)?.external;
    const extra = Object.keys(asPlainObject(volume) ?? {}).filter((key) => key !== "external");
    for (const key of extra) report(["volumes", name, key], "unknown key; a stack volume takes external");
    if (external === true || (typeof external === "string" && external !== "")) {
      volumes.push({ name, external: external === true ? name : external });
    } else {
      report(["volumes", name], "needs external: the grid volume's name, or true for the same name");
    }
  }
  return volumes;
}

/**
 * A named volume (`data:/data`, not a host path like `/srv:/data`) must be one of the
 * stack's volumes, as in Kontena: otherwise a typo would quietly create a new volume.
 */
function reportUndeclaredVolumes(
  services: readonly ServiceSpec[],
  volumes: StackDefinition["volumes"],
  report: Report,
): void {
  const declared = new Set(volumes.map((volume) => volume.name));
  for (const service of services) {
    service.volumes.forEach((volume, index) => {
      const [source, target] = volume.split(":");
      if (target === undefined || source === undefined || /^[/.~]/.test(source) || declared.has(source)) return;
      report(
        ["services", service.name, "volumes", index],
        `uses volume "${source}", which is not in the stack's volumes`,
      );
    });
  }
}

/** Shows a service spec field's problem at the stack file key it came from. */
function toSourcePath(path: FieldPath): FieldPath {
  const [field, ...rest] = path;
  const source = typeof field === "string" ? SPEC_FIELD_SOURCES[field] : undefined;
  // The name comes from the service's key, so its problems belong to the service.
  if (field === "name") return [];
  return source === undefined ? path : [...source, ...rest];
}

function readServices(raw: unknown, report: Report, keyAt: (path: FieldPath) => Node | undefined): ServiceSpec[] {
  const map = asPlainObject(raw);
  if (map === undefined) {
    report(["services"], "must be a map of service names to services");
    return [];
  }
  const services: ServiceSpec[] = [];
  for (const [name, service] of Object.entries(map)) {
    const base = ["services", name];
    const body = asPlainObject(service);
    if (body === undefined) {
      report(base, "must be a map (image, command, ports…)");
      continue;
    }
    for (const key of Object.keys(body))
      if (!STACK_SERVICE_KEYS.includes(key))
        report([...base, key], unknownServiceKeyMessage(key), keyAt([...base, key]));
    const logging = asPlainObject(body.logging);
    if (body.logging !== undefined && logging === undefined)
      report([...base, "logging"], "must be a map of driver and options");
    for (const key of Object.keys(logging ?? {}))
      if (key !== "driver" && key !== "options")
        report([...base, "logging", key], "unknown key; logging takes driver and options");
    const deployStrategy = asPlainObject(body.deploy)?.strategy;
    if (deployStrategy !== undefined && body.strategy !== undefined)
      report([...base, "deploy", "strategy"], "strategy is given twice: here and as the service's strategy");
    const parsed = serviceSpec.safeParse(composeServiceToSpecInput(name, body));
    if (parsed.success) services.push(parsed.data);
    else reportIssues(parsed.error.issues, base, report, toSourcePath);
  }
  return services;
}
