import type { HttpProblem, RenderedError } from "../../http/face.ts";

/** Kontena's shape: `{"error": "message"}`, or `{"error": {"field": "message"}}` for invalid input. */
export function renderNativeError(problem: HttpProblem): RenderedError {
  return {
    contentType: "application/json; charset=utf-8",
    body: JSON.stringify({ error: problem.fields ?? problem.message }),
  };
}
