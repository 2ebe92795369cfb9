import type { HttpProblem, RenderedError } from "../../http/face.ts";
import { problemText } from "../../http/problem-text.ts";

/** Consul answers errors as a bare plain-text message (no trailing newline), the status saying the rest. */
export function renderConsulError(problem: HttpProblem): RenderedError {
  return { contentType: "text/plain; charset=utf-8", body: problemText(problem) };
}
