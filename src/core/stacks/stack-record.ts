import type { VariableValue } from "./stack-variables.ts";

/** How a stack is stored: `/stacks/<grid>/<name>`; its id on the native API is `grid/name`. */
export const STACKS_PREFIX = "/stacks/";

export type StoredStack = {
  /** `grid/name`. */
  readonly id: string;
  readonly grid: string;
  /** The stack's name in its grid (defaults to the name part of `stack`). */
  readonly name: string;
  /** `owner/name`, as the stack file names it. */
  readonly stack: string;
  readonly version: string;
  readonly registry: string;
  readonly description: string | null;
  /** The service exposed to the grid's DNS namespace, or null. */
  readonly expose: string | null;
  /** Names of the stack's services (each a StoredService under the stack), in link order. */
  readonly services: readonly string[];
  readonly volumes: readonly { readonly name: string; readonly external: string }[];
  /** The variable values the stack file was resolved with, reused by a redeploy. */
  readonly variables: Readonly<Record<string, VariableValue>>;
  /** The text it was created or last modified from (a stack file or a Director manifest), or null for JSON. */
  readonly source: string | null;
  /** ISO-8601. */
  readonly created_at: string;
  readonly updated_at: string;
};

export function stackId(grid: string, name: string): string {
  return `${grid}/${name}`;
}

/** Splits `grid/name`; undefined when it is not two segments. */
export function parseStackId(id: string): { grid: string; name: string } | undefined {
  const parts = id.split("/");
  if (parts.length !== 2 || parts.some((part) => part === "")) return undefined;
  return { grid: parts[0] as string, name: parts[1] as string };
}

export function stackKey(grid: string, name: string): string {
  return `${STACKS_PREFIX}${grid}/${name}`;
}

export function stacksPrefix(grid: string): string {
  return `${STACKS_PREFIX}${grid}/`;
}
