import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const REQUEST_ID_HEADER = "x-request-id";

/** Printable, header-safe and short: anything else could forge log lines or bloat them. */
const SANE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** Keeps the caller's X-Request-Id when it is sane, so a trace spans services; otherwise a new UUID. */
export function requestIdFor(request: IncomingMessage): string {
  const incoming = request.headers[REQUEST_ID_HEADER];
  return typeof incoming === "string" && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}
