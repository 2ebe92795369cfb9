import type { FastifyInstance } from "fastify";

const GO_ESCAPED = /[<>&\u2028\u2029]/g;

/**
 * Go's json.Marshal escapes <, >, & and the JavaScript line separators inside strings; these
 * characters can only occur inside strings in JSON text, so escaping the whole text is safe.
 */
export function goJsonEscape(text: string): string {
  return text.replace(GO_ESCAPED, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Compact JSON text laid out as Go's json.MarshalIndent(v, "", "    ") does, with its trailing newline. */
export function indentJson(text: string): string {
  let out = "";
  let depth = 0;
  let inString = false;
  const newline = () => `\n${"    ".repeat(depth)}`;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (inString) {
      out += char;
      if (char === "\\") out += text[++i] ?? "";
      else if (char === '"') inString = false;
      continue;
    }
    switch (char) {
      case '"':
        inString = true;
        out += char;
        break;
      case "{":
      case "[":
        // Empty objects and arrays stay on one line.
        if (text[i + 1] === (char === "{" ? "}" : "]")) {
          out += char + text[++i];
          break;
        }
        depth++;
        out += char + newline();
        break;
      case "}":
      case "]":
        depth--;
        out += newline() + char;
        break;
      case ",":
        out += char + newline();
        break;
      case ":":
        out += ": ";
        break;
      default:
        out += char;
    }
  }
  return `${out}\n`;
}

/**
 * Every JSON answer of the face as Consul's Go server writes it: content type application/json,
 * HTML-sensitive characters escaped, and laid out with indentation when the URL has `?pretty`.
 */
export function installConsulJson(app: FastifyInstance): void {
  app.addHook("onSend", async (request, reply, payload) => {
    const type = String(reply.getHeader("content-type") ?? "");
    if (typeof payload !== "string" || !type.startsWith("application/json")) return payload;
    reply.header("content-type", "application/json");
    const escaped = goJsonEscape(payload);
    return Object.hasOwn((request.query ?? {}) as object, "pretty") ? indentJson(escaped) : escaped;
  });
}
