import { BadRequestError } from "../errors/bad-request-error.ts";

/** Cancelling an operation that has already finished (the Director answers 400, as BOSH does). */
export class OperationFinishedError extends BadRequestError {}
