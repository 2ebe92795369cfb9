import { DomainError } from "./domain-error.ts";

/**
 * The request was well formed, but a rule of the system refused the operation (a session on an
 * unregistered node, an out-of-range session TTL). Consul's servers report these as a failed
 * RPC, which its HTTP API answers with 500 and the message; faces that copy Consul do the same.
 */
export class OperationFailedError extends DomainError {}
