import type { HttpProblem, RenderedError } from "../../http/face.ts";
import { problemText } from "../../http/problem-text.ts";

/** libnetwork answers errors with Go's http.Error: plain text, a trailing newline, nosniff. */
export function renderNetworkError(problem: HttpProblem): RenderedError {
  return {
    contentType: "text/plain; charset=utf-8",
    body: `${problemText(problem)}\n`,
    headers: { "x-content-type-options": "nosniff" },
  };
}
