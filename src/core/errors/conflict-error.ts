import { DomainError } from "./domain-error.ts";

/** The request clashes with the current state (a name taken, a concurrent change won). */
export class ConflictError extends DomainError {}
