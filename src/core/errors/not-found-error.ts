import { DomainError } from "./domain-error.ts";

/** The record the caller named does not exist. */
export class NotFoundError extends DomainError {}
