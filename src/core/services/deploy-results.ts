import type { ServiceDeployResult } from "../deploys/deploy-kinds.ts";
import { asPlainObject } from "../stacks/plain-object.ts";

/**
 * The per-service results a deploy operation wrote so far (its result output: one JSON line
 * per service). Lines that are not such results are skipped: the output is the deployer's to
 * write, and a status read must not fail on it.
 */
export function deployResultsOf(resultOutput: string): ServiceDeployResult[] {
  const results: ServiceDeployResult[] = [];
  for (const line of resultOutput.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    const result = asPlainObject(value);
    if (typeof result?.service_id === "string" && Array.isArray(result.instance_deploys))
      results.push(result as ServiceDeployResult);
  }
  return results;
}
