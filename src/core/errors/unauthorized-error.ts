import { DomainError } from "./domain-error.ts";

/** The caller did not prove who they are, or the proof is invalid or expired. */
export class UnauthorizedError extends DomainError {
  constructor(message = "authentication required") {
    super(message);
  }
}
