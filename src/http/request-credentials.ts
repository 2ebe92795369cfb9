import type { FastifyRequest } from "fastify";
import { UnauthorizedError } from "../core/errors/unauthorized-error.ts";

/** What a request offers to prove who sent it. */
export type Credentials =
  | { readonly kind: "bearer"; readonly token: string }
  | { readonly kind: "basic"; readonly username: string; readonly password: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The credentials of a request: the Authorization header, else `?token=` (for browsers, which
 * cannot set headers on links and WebSockets). undefined when there are none; UnauthorizedError
 * when the header is malformed.
 */
export function requestCredentials(request: FastifyRequest): Credentials | undefined {
  const header = request.headers.authorization;
  if (header !== undefined && header.trim() !== "") return parseAuthorization(header);
  const token = queryToken(request.query);
  return token === undefined ? undefined : { kind: "bearer", token };
}

/**
 * `Bearer <token>` (any case: Kontena clients send `bearer`), `Basic <base64>`, or a bare token,
 * which Portainer accepts and its own documentation sends.
 */
export function parseAuthorization(header: string): Credentials {
  const [first = "", ...rest] = header.trim().split(/\s+/);
  if (rest.length === 0) return { kind: "bearer", token: first };
  const scheme = first.toLowerCase();
  if (scheme === "bearer" && rest.length === 1) return { kind: "bearer", token: rest[0] as string };
  if (scheme === "basic" && rest.length === 1) return parseBasic(rest[0] as string);
  throw new UnauthorizedError('malformed Authorization header: expected "Bearer <token>" or "Basic <credentials>"');
}

function parseBasic(encoded: string): Credentials {
  const decoded = BASE64.test(encoded) ? Buffer.from(encoded, "base64").toString("utf8") : "";
  const colon = decoded.indexOf(":");
  if (colon < 1) throw new UnauthorizedError("malformed basic credentials: expected base64 of user:password");
  return { kind: "basic", username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function queryToken(query: unknown): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.token;
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === "string" && first !== "" ? first : undefined;
}
