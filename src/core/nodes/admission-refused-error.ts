import { DomainError } from "../errors/domain-error.ts";

/** Why an agent may not (re)join; the agent link turns each into its own close code. */
export type AdmissionRefusal = "grid_token" | "node_token" | "node_deleted" | "name_taken";

/** An agent's credentials or requested name were refused; the message says what to fix. */
export class AdmissionRefusedError extends DomainError {
  readonly refusal: AdmissionRefusal;

  constructor(refusal: AdmissionRefusal, message: string) {
    super(message);
    this.refusal = refusal;
  }
}
