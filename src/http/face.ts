import type { FastifyInstance } from "fastify";

/** An error on its way to the client, before a face gives it its wire shape. */
export interface HttpProblem {
  readonly status: number;
  /** Safe to show to the client: never a stack trace or an internal detail. */
  readonly message: string;
  /** Per-field messages for validation failures. */
  readonly fields?: Readonly<Record<string, string>>;
  /** A machine-readable error code the client acts on (OAuth2's `invalid_grant`…); the message then describes it. */
  readonly code?: string;
  /** Extra response headers (Allow on a 405…). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** An error body in a face's own format. */
export interface RenderedError {
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One of the master's HTTP APIs. The host registers each face in its own encapsulated
 * Fastify context, so a face's content-type parsers and hooks (authentication, later)
 * apply to its routes only.
 */
export interface Face {
  /** Short stable name, e.g. "consul"; shown in the route table and logs. */
  readonly name: string;
  /** Path prefixes the face owns, matched on whole segments ("/v1/kv" owns "/v1/kv/a", not "/v1/kvx"). */
  readonly mounts: readonly string[];
  /** Largest request body its routes accept, bytes, unless a route sets its own. Default 1 MiB. */
  readonly bodyLimit?: number;
  renderError(problem: HttpProblem): RenderedError;
  /** Adds the face's routes; every route must lie under one of its mounts. */
  register(app: FastifyInstance): void | Promise<void>;
}
