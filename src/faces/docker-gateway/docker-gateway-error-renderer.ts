import type { HttpProblem, RenderedError } from "../../http/face.ts";
import { fieldsText } from "../../http/problem-text.ts";

/** Portainer's shape: `{"message": "...", "details": "..."}`, details saying what exactly failed. */
export function renderDockerGatewayError(problem: HttpProblem): RenderedError {
  return {
    contentType: "application/json",
    body: JSON.stringify({
      message: problem.message,
      details: problem.fields ? fieldsText(problem.fields) : problem.message,
    }),
  };
}
