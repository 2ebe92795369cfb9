import { DomainError } from "./domain-error.ts";

/** The caller tried too often (failed logins); they may try again after `retryAfterSeconds`. */
export class TooManyRequestsError extends DomainError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number, message = "too many failed attempts; try again later") {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
