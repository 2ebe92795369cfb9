import { DomainError } from "./domain-error.ts";

/** The request carries more than the operation accepts (a value over the size limit, too many operations). */
export class PayloadTooLargeError extends DomainError {}
