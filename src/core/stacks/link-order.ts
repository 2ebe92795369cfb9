import { StackFileError, type StackFileProblem } from "../errors/stack-file-error.ts";
import { type FieldPath, formatPath } from "./field-path.ts";
import type { ServiceSpec } from "./service-spec.ts";

/** A link inside the stack names the service alone; `other-stack/service` is outside it. */
function isInternal(linkName: string): boolean {
  return !linkName.includes("/");
}

/**
 * Orders a stack's services so each comes after the services it links to, keeping the
 * file's order otherwise (deploys go in this order, so a linked service exists first).
 * A link to a service the stack lacks, or a cycle, throws StackFileError naming them;
 * `problemAt` makes its problems, so a stack file's can carry their lines.
 */
export function orderByLinks<Service extends Pick<ServiceSpec, "name" | "links">>(
  services: readonly Service[],
  problemAt: (path: FieldPath, message: string) => StackFileProblem = (path, message) => ({
    path: formatPath(path),
    message,
  }),
): Service[] {
  const byName = new Map(services.map((service) => [service.name, service]));
  const problems: StackFileProblem[] = [];
  for (const service of services) {
    service.links.forEach((link, index) => {
      if (isInternal(link.name) && !byName.has(link.name))
        problems.push(
          problemAt(
            ["services", service.name, "links", index],
            `links to service "${link.name}", which is not in this stack`,
          ),
        );
    });
  }
  if (problems.length > 0) throw new StackFileError(problems);

  const ordered: Service[] = [];
  const done = new Set<string>();
  // The services being visited, in order, so a cycle can be shown as the path that closes it.
  const visiting: string[] = [];
  const visit = (service: Service): void => {
    if (done.has(service.name)) return;
    const seen = visiting.indexOf(service.name);
    if (seen >= 0) {
      const cycle = [...visiting.slice(seen), service.name].join(" -> ");
      throw new StackFileError([problemAt(["services", service.name, "links"], `link cycle: ${cycle}`)]);
    }
    visiting.push(service.name);
    for (const link of service.links) {
      if (isInternal(link.name)) visit(byName.get(link.name) as Service);
    }
    visiting.pop();
    done.add(service.name);
    ordered.push(service);
  };
  for (const service of services) visit(service);
  return ordered;
}
