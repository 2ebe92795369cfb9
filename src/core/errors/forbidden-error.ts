import { DomainError } from "./domain-error.ts";

/** The caller is known but may not do this. */
export class ForbiddenError extends DomainError {
  constructor(message = "permission denied") {
    super(message);
  }
}
