import { DomainError } from "./domain-error.ts";

/** One thing wrong with a stack file: where (a field path, and the line when known) and what. */
export type StackFileProblem = {
  readonly path: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
};

/**
 * A stack file cannot be used. It carries every problem found, not just the first, so an
 * author fixes a file in one round; the API answers 422 with the list.
 */
export class StackFileError extends DomainError {
  readonly problems: readonly StackFileProblem[];

  constructor(problems: readonly StackFileProblem[]) {
    super(problems.map(formatProblem).join("; "));
    this.problems = problems;
  }
}

function formatProblem(problem: StackFileProblem): string {
  const where = problem.line === undefined ? problem.path : `${problem.path} (line ${problem.line})`;
  return where === "" ? problem.message : `${where}: ${problem.message}`;
}
