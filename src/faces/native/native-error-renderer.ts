import type { HttpProblem, RenderedError } from "../../http/face.ts";

/**
 * Kontena's shape: `{"error": "message"}`, or `{"error": {"field": "message"}}` for invalid input.
 * A problem with a code (the OAuth2 endpoints') takes RFC 6749's shape, which Kontena's OAuth2
 * API used too: `{"error": "invalid_grant", "error_description": "message"}`.
 */
export function renderNativeError(problem: HttpProblem): RenderedError {
  const body =
    problem.code === undefined
      ? { error: problem.fields ?? problem.message }
      : { error: problem.code, error_description: problem.message };
  return { contentType: "application/json; charset=utf-8", body: JSON.stringify(body) };
}
