import type { z } from "zod";
import { ValidationError } from "../errors/validation-error.ts";
import { asPlainObject } from "../stacks/plain-object.ts";
import { type ServiceSpec, serviceSpec } from "../stacks/service-spec.ts";

/** Problems with input, by dotted field path (ValidationError's fields). */
export type FieldProblems = Record<string, string>;

/**
 * Reads a service spec as the native API takes it: the spec's shorthands, plus `replicas`,
 * the name the spec's stack JSON uses for `instances`. Problems are named by field under
 * `at` (e.g. `services.web.`), an unknown key by its own name, so that a stack's services
 * can all be checked before anything is refused.
 */
export function readServiceSpec(input: unknown, at = ""): { spec?: ServiceSpec; problems: FieldProblems } {
  const problems: FieldProblems = Object.create(null);
  const body = asPlainObject(input);
  if (body === undefined) {
    problems[at === "" ? "body" : at.slice(0, -1)] = "must be an object";
    return { problems };
  }
  let spec: Record<string, unknown> = body;
  if (body.replicas !== undefined) {
    if (body.instances !== undefined) {
      problems[`${at}replicas`] = "give instances or replicas, not both";
      return { problems };
    }
    const { replicas, ...rest } = body;
    spec = { ...rest, instances: replicas };
  }
  const result = serviceSpec.safeParse(spec);
  if (result.success) return { spec: result.data, problems };
  addIssues(problems, result.error.issues, at);
  // Named as the author wrote it.
  if (body.replicas !== undefined && problems[`${at}instances`] !== undefined) {
    problems[`${at}replicas`] = problems[`${at}instances`] as string;
    delete problems[`${at}instances`];
  }
  return { problems };
}

/** Adds zod issues as field problems (the first per field wins); unknown keys are named one by one. */
export function addIssues(problems: FieldProblems, issues: readonly z.core.$ZodIssue[], at = ""): void {
  for (const issue of issues) {
    const path = issue.path.map(String).join(".");
    const base = path === "" ? at : `${at}${path}.`;
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) problems[`${base}${key}`] ??= "unknown key";
    } else {
      problems[base === "" ? "body" : base.slice(0, -1)] ??= issue.message;
    }
  }
}

/** Parses input with a schema; problems are a ValidationError naming each field (unknown keys by name). */
export function parseFields<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems: FieldProblems = Object.create(null);
  addIssues(problems, result.error.issues);
  throw new ValidationError(problems);
}
