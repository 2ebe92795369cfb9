import { DomainError } from "./domain-error.ts";

/** The request cannot be understood (a malformed parameter), as opposed to failing validation of a record. */
export class BadRequestError extends DomainError {}
