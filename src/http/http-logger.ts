import { type DestinationStream, type Logger, pino } from "pino";
import type { LogLevel } from "../config/log-level.ts";

/** Query parameters that carry credentials (Consul's ?token=, OAuth2 codes, invite codes…). */
const SECRET_QUERY_PARAMS = new Set([
  "token",
  "access_token",
  "refresh_token",
  "code",
  "code_verifier",
  "invite_code",
  "password",
  "client_secret",
]);

/** Headers that carry credentials, in whatever object a log line nests them. */
const SECRET_HEADERS = [
  "authorization",
  "cookie",
  "set-cookie",
  "x-consul-token",
  "x-auth-token",
  "x-registry-auth",
  "proxy-authorization",
];

/** The master's structured logger: JSON lines, credentials redacted wherever they appear. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const redact = SECRET_HEADERS.flatMap((header) => [
    `req.headers["${header}"]`,
    `res.headers["${header}"]`,
    `headers["${header}"]`,
  ]);
  return pino(
    {
      level,
      redact: { paths: redact, censor: "[redacted]" },
      serializers: { req: serializeRequest },
    },
    destination,
  );
}

/** What a request log line shows: enough to trace it, no credentials. */
export function serializeRequest(request: { method?: string; url?: string; ip?: string }): Record<string, unknown> {
  return { method: request.method, url: redactUrl(request.url ?? ""), remoteAddress: request.ip };
}

/** Consul's legacy ACL endpoints carry the token itself in the path: /v1/acl/info/<token>. */
const TOKEN_IN_PATH = /^(\/v1\/acl\/(?:info|destroy|clone)\/)[^?#]+/;

/** Replaces the values of credential-bearing query parameters, and a token in an ACL path. */
export function redactUrl(rawUrl: string): string {
  const url = rawUrl.replace(TOKEN_IN_PATH, "$1[redacted]");
  const queryStart = url.indexOf("?");
  if (queryStart === -1) return url;
  const params = url
    .slice(queryStart + 1)
    .split("&")
    .map((pair) => {
      const name = decodeName(pair.split("=", 1)[0] ?? "");
      return SECRET_QUERY_PARAMS.has(name.toLowerCase()) ? `${pair.split("=", 1)[0]}=[redacted]` : pair;
    });
  return `${url.slice(0, queryStart)}?${params.join("&")}`;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll("+", " "));
  } catch {
    return name;
  }
}
