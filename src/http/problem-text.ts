import type { HttpProblem } from "./face.ts";

/** The field messages as one line: "name: is missing; port: must be a number". */
export function fieldsText(fields: Readonly<Record<string, string>>): string {
  return Object.entries(fields)
    .map(([field, message]) => `${field}: ${message}`)
    .join("; ");
}

/** The problem as one line of text, for faces whose errors are a single string. */
export function problemText(problem: HttpProblem): string {
  const fields = problem.fields ? fieldsText(problem.fields) : "";
  return fields === "" ? problem.message : `${problem.message}: ${fields}`;
}
