import { DomainError } from "../errors/domain-error.ts";

/**
 * A deploy could not do what its service asks: an instance failed on its node, could not be
 * placed, or references a secret that does not exist. The message names what and why.
 */
export class DeployFailedError extends DomainError {}
