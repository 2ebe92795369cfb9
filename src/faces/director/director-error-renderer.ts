import type { HttpProblem, RenderedError } from "../../http/face.ts";
import { problemText } from "../../http/problem-text.ts";

/** The BOSH Director's error codes that fit each status; anything else is its generic code 100. */
const codeByStatus: Readonly<Record<number, number>> = {
  400: 40000, // ValidationInvalidType
  401: 600000, // UnauthorizedToAccessDeployment
  403: 600000,
  404: 100002, // ResourceNotFound
  413: 40003, // ValidationViolatedMax
  415: 40000,
  422: 40000,
};

/** The Director's shape: `{"code": N, "description": "..."}`. */
export function renderDirectorError(problem: HttpProblem): RenderedError {
  return {
    contentType: "application/json",
    body: JSON.stringify({ code: codeByStatus[problem.status] ?? 100, description: problemText(problem) }),
  };
}
