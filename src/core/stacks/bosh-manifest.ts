import { isScalar, stringify } from "yaml";
import { z } from "zod";
import type { StoredService } from "../services/service-record.ts";
import { type FieldPath, formatPath } from "./field-path.ts";
import { orderByLinks } from "./link-order.ts";
import { asPlainObject } from "./plain-object.ts";
import { type ServiceSpec, serviceName, serviceSpec } from "./service-spec.ts";
import type { StackDefinition } from "./stack-file-parser.ts";
import type { StoredStack } from "./stack-record.ts";
import { parseYamlMap } from "./yaml-map-document.ts";

/**
 * A BOSH deployment manifest (what `POST /deployments` takes) read as a stack: the deployment
 * is the stack, its one release the stack's `owner/name` and version, each instance group a
 * service. Service attributes that BOSH has no word for (ports, env, health checks…) come from
 * the instance group's `properties` or its jobs' `properties`; the README documents the mapping.
 */

/** The owner a release without one gets, and the one the Director leaves out when it shows the release. */
export const DIRECTOR_RELEASE_OWNER = "director";

const TOP_LEVEL_KEYS = ["name", "releases", "stemcells", "update", "instance_groups"];
/** Taken and not used: BOSH bookkeeping with no meaning for containers. */
const IGNORED_TOP_LEVEL_KEYS = ["director_uuid", "tags", "features", "compilation"];
/** Hints for the keys of BOSH features Berth does not have. */
const TOP_LEVEL_HINTS: Readonly<Record<string, string>> = {
  jobs: "v1 manifests are not supported; list the groups under instance_groups",
  properties: "global properties are not supported; give each instance group its properties",
  variables: "BOSH variables are not supported; use the grid's secrets (properties.secrets)",
  addons: "addons are not supported",
};

const GROUP_KEYS = [
  "name",
  "instances",
  "azs",
  "jobs",
  "stemcell",
  "properties",
  "update",
  "persistent_disk",
  "persistent_disk_type",
  "lifecycle",
];
/** VM sizing and networking come from the nodes a container lands on; taken and not used. */
const IGNORED_GROUP_KEYS = ["vm_type", "vm_extensions", "vm_resources", "networks", "migrated_from"];
const GROUP_HINTS: Readonly<Record<string, string>> = {
  env: "BOSH VM settings have no meaning for containers; container environment goes under properties.env",
};

/** The service spec fields properties may set: the group gives the name and instance count. */
const PROPERTY_KEYS = Object.keys(serviceSpec.shape)
  .filter((key) => key !== "name" && key !== "instances")
  .sort();

const RELEASE_NAME = /^[a-z0-9][a-z0-9_.-]*(\/[a-z0-9][a-z0-9_.-]*)?$/i;
/** The stack file's version grammar (BOSH's `0+dev.17` fits it too). */
const VERSION = /^\d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
/** A Docker repository: optional registry host[:port], then lower-case path components. */
const IMAGE_NAME = /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:\d+)?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** az names end up in an affinity regex, so they are plain words. */
const AZ_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const count = z.int("must be an integer").min(0, "must be 0 or more");
const PERCENT = /^\d{1,3}%$/;
/** One message for either form (a union would answer the string branch's regex). */
const countOrPercent = (least: number) =>
  z.custom<number | string>(
    (value) =>
      (Number.isInteger(value) && (value as number) >= least) || (typeof value === "string" && PERCENT.test(value)),
    `must be an integer${least > 0 ? ` of at least ${least}` : ""} or a percentage like 25%`,
  );
/** Milliseconds, or BOSH's `min-max` range. */
const watchTime = z.custom<number | string>(
  (value) =>
    (Number.isInteger(value) && (value as number) >= 0) ||
    (typeof value === "string" && /^\s*\d+\s*-\s*\d+\s*$/.test(value)),
  "must be milliseconds or a range like 1000-30000",
);

const updateSpec = z.strictObject(
  {
    canaries: countOrPercent(0).optional(),
    max_in_flight: countOrPercent(1).optional(),
    canary_watch_time: watchTime.optional(),
    update_watch_time: watchTime.optional(),
    serial: z.boolean("must be true or false").optional(),
  },
  "must be a map of canaries, max_in_flight, canary_watch_time, update_watch_time, serial",
);
type UpdateSpec = z.output<typeof updateSpec>;

const releaseSpec = z.strictObject(
  {
    name: z.string("is required").regex(RELEASE_NAME, "must be name or owner/name"),
    version: z
      .string("is required")
      .regex(VERSION, "must be an exact version like 1.0.0 (resolve latest before deploying)"),
    // The bosh CLI uploads from these itself; the manifest it then sends still has them.
    url: z.string().optional(),
    sha1: z.string().optional(),
  },
  "must be a map of name and version",
);

const stemcellSpec = z
  .strictObject(
    {
      alias: z.string("is required").min(1, "is required"),
      os: z.string().regex(IMAGE_NAME, "must be an image name like busybox or registry:5000/team/app").optional(),
      name: z.string().regex(IMAGE_NAME, "must be an image name like busybox or registry:5000/team/app").optional(),
      version: z.string("is required").regex(IMAGE_TAG, "must be an image tag like 1.36 or latest"),
    },
    "must be a map of alias, os (or name) and version",
  )
  .superRefine((stemcell, ctx) => {
    if ((stemcell.os === undefined) === (stemcell.name === undefined))
      ctx.addIssue({ code: "custom", path: ["os"], message: "give the image as os or as name (one of them)" });
  });

const jobSpec = z.strictObject(
  {
    name: z.string("is required").min(1, "is required"),
    release: z.string("is required").min(1, "is required"),
    properties: z.record(z.string(), z.unknown(), "must be a map of service attributes").optional(),
  },
  "must be a map of name, release and properties",
);

const groupSpec = z.object(
  {
    name: z.string("is required").pipe(serviceName),
    instances: count,
    azs: z
      .array(z.string().regex(AZ_NAME, "must be an az name (letters, digits, . _ -)"), "must be a list of az names")
      .min(1, "must name at least one az")
      .optional(),
    jobs: z.array(jobSpec, "must be a list of jobs").default([]),
    stemcell: z.string("must be a stemcell alias").optional(),
    properties: z.record(z.string(), z.unknown(), "must be a map of service attributes").optional(),
    update: updateSpec.optional(),
    persistent_disk: z.int("must be an integer (MB)").min(0, "must be 0 or more").optional(),
    persistent_disk_type: z.string("must be a disk type name").optional(),
    lifecycle: z.literal("service", 'must be "service" (errands are not supported)').optional(),
  },
  "must be a map (name, instances, jobs, stemcell…)",
);
type GroupSpec = z.output<typeof groupSpec>;

const manifestSpec = z.object({
  name: z.string("is required (the deployment's name)").pipe(serviceName),
  releases: z
    .array(releaseSpec, "must be a list of releases")
    .length(1, "must name exactly one release: a deployment is one stack, and the release is its name and version"),
  stemcells: z.array(stemcellSpec, "must be a list of stemcells").default([]),
  update: updateSpec.optional(),
  instance_groups: z.array(groupSpec, "must be a list of instance groups").min(1, "must have an instance group"),
});
type Manifest = z.output<typeof manifestSpec>;

type Report = (path: FieldPath, message: string) => void;

/**
 * Reads a BOSH manifest into a stack definition. Every problem found is reported at once, by
 * manifest path and line (`instance_groups[1].instances (line 12): must be an integer`), in a
 * StackFileError; nothing is partly read.
 */
export function parseBoshManifest(text: string): StackDefinition {
  const { doc, problems, problemAt, report, fail } = parseYamlMap(
    text,
    "a manifest is a map of name, releases, stemcells, update and instance_groups",
  );

  const raw = doc.toJS() as Record<string, unknown>;
  // YAML reads `version: 1.10` as 1.1; versions are text as written.
  for (const list of ["releases", "stemcells"])
    if (Array.isArray(raw[list]))
      raw[list].forEach((entry, index) => {
        const version = scalarText(doc.getIn([list, index, "version"], true));
        const map = asPlainObject(entry);
        if (map && version !== undefined) map.version = version;
      });

  checkKeys(raw, [], TOP_LEVEL_KEYS, IGNORED_TOP_LEVEL_KEYS, TOP_LEVEL_HINTS, "a manifest", report);
  if (Array.isArray(raw.instance_groups))
    raw.instance_groups.forEach((group, index) => {
      const map = asPlainObject(group);
      if (map)
        checkKeys(
          map,
          ["instance_groups", index],
          GROUP_KEYS,
          IGNORED_GROUP_KEYS,
          GROUP_HINTS,
          "an instance group",
          report,
        );
    });

  const parsed = manifestSpec.safeParse(raw);
  if (!parsed.success) {
    reportIssues(parsed.error.issues, (path) => path, report);
    fail();
  }
  const manifest = parsed.data as Manifest;
  const release = manifest.releases[0] as Manifest["releases"][number];
  const images = stemcellImages(manifest, report);

  const services: ServiceSpec[] = [];
  const linkOrigins = new Map<string, FieldPath>();
  manifest.instance_groups.forEach((group, index) => {
    const base: FieldPath = ["instance_groups", index];
    if (manifest.instance_groups.findIndex((other) => other.name === group.name) !== index)
      report([...base, "name"], `repeats instance group "${group.name}"`);
    group.jobs.forEach((job, jobIndex) => {
      if (job.release !== release.name)
        report(
          [...base, "jobs", jobIndex, "release"],
          `names release "${job.release}", which is not the manifest's release "${release.name}"`,
        );
    });
    const service = readGroup(group, base, images, manifest.update, report);
    if (service) {
      services.push(service.spec);
      linkOrigins.set(group.name, service.origin("links"));
    }
  });
  if (problems.length > 0) fail();

  const stack = release.name.includes("/") ? release.name : `${DIRECTOR_RELEASE_OWNER}/${release.name}`;
  return {
    stack,
    name: manifest.name,
    version: release.version,
    variables: {},
    // Link problems are shown at the links' place in the manifest.
    services: orderByLinks(services, (path, message) => {
      const [, name, , ...rest] = path;
      const origin = linkOrigins.get(String(name)) ?? [];
      return problemAt([...origin, ...rest], message);
    }),
    volumes: [],
  };
}

/** The release name as the Director shows it: a stack named `director/x` came from release `x`. */
export function releaseNameOf(stack: string): string {
  const prefix = `${DIRECTOR_RELEASE_OWNER}/`;
  return stack.startsWith(prefix) ? stack.slice(prefix.length) : stack;
}

/**
 * The stack as a manifest: the one it was last applied from when it came from a manifest, else
 * an equivalent one (a stack made through the native API or from a stack file) whose groups
 * carry every service attribute in properties and min_health as update.max_in_flight.
 */
export function manifestOf(stack: StoredStack, services: readonly StoredService[]): string {
  if (stack.source !== null && isManifestOf(stack.source, stack.name)) return stack.source;
  return stringify({
    name: stack.name,
    releases: [{ name: releaseNameOf(stack.stack), version: stack.version }],
    instance_groups: services.map(({ spec }) => {
      const { name, instances, deploy_opts, ...attributes } = spec;
      const { min_health, ...deployOpts } = deploy_opts;
      return {
        name,
        instances,
        ...(instances > 0 && {
          update: { max_in_flight: Math.max(1, Math.floor(instances * (1 - min_health) + 1e-9)) },
        }),
        properties: { ...attributes, deploy_opts: deployOpts },
      };
    }),
  });
}

function isManifestOf(text: string, name: string): boolean {
  try {
    return parseBoshManifest(text).name === name;
  } catch {
    return false;
  }
}

function scalarText(node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null) return undefined;
  return typeof node.value === "string" ? node.value : (node.source ?? String(node.value));
}

function checkKeys(
  map: Record<string, unknown>,
  base: FieldPath,
  keys: readonly string[],
  ignored: readonly string[],
  hints: Readonly<Record<string, string>>,
  what: string,
  report: Report,
): void {
  for (const key of Object.keys(map)) {
    if (keys.includes(key)) continue;
    if (ignored.includes(key)) {
      delete map[key];
      continue;
    }
    report([...base, key], hints[key] ?? `unknown key "${key}"; ${what} takes ${[...keys, ...ignored].join(", ")}`);
  }
}

function reportIssues(
  issues: readonly z.core.$ZodIssue[],
  locate: (path: FieldPath) => FieldPath,
  report: Report,
): void {
  for (const issue of issues) {
    const path = locate(issue.path as FieldPath);
    if (issue.code === "unrecognized_keys") for (const key of issue.keys) report([...path, key], "unknown key");
    else report(path, issue.message);
  }
}

/** Stemcell alias → image `name:tag`; aliases must be unique. */
function stemcellImages(manifest: Manifest, report: Report): Map<string, string> {
  const images = new Map<string, string>();
  manifest.stemcells.forEach((stemcell, index) => {
    if (images.has(stemcell.alias)) report(["stemcells", index, "alias"], `repeats alias "${stemcell.alias}"`);
    images.set(stemcell.alias, `${stemcell.os ?? stemcell.name}:${stemcell.version}`);
  });
  return images;
}

/**
 * The min_health that lets `max_in_flight` instances update at once (a percentage is of the
 * group's instances, rounded down, at least 1): 1 − max_in_flight/instances, rounded down to 4
 * places, so that the deployer's floor(instances × (1 − min_health)) comes to max_in_flight.
 */
export function minHealthFor(maxInFlight: number | string, instances: number): number {
  const wanted =
    typeof maxInFlight === "string"
      ? Math.max(1, Math.floor((instances * Number.parseInt(maxInFlight, 10)) / 100))
      : maxInFlight;
  if (wanted >= instances) return 0;
  const minHealth = Math.floor((1 - wanted / instances) * 10_000) / 10_000;
  // Floating point can put the product a hair under max_in_flight (10 × (1 − 0.8) is 1.999…): a step lower keeps it whole.
  return Math.floor(instances * (1 - minHealth)) < wanted ? (Math.round(minHealth * 10_000) - 1) / 10_000 : minHealth;
}

/** An instance group as a service spec, or undefined after reporting why it cannot be one. */
function readGroup(
  group: GroupSpec,
  base: FieldPath,
  images: ReadonlyMap<string, string>,
  deploymentUpdate: UpdateSpec | undefined,
  report: Report,
): { spec: ServiceSpec; origin: (field: string) => FieldPath } | undefined {
  // Each attribute may be given once: in the group's properties or in one job's.
  const attributes: Record<string, unknown> = {};
  const origins = new Map<string, FieldPath>();
  const blocks: [FieldPath, Record<string, unknown> | undefined][] = [
    [[...base, "properties"], group.properties],
    ...group.jobs.map((job, index): [FieldPath, Record<string, unknown> | undefined] => [
      [...base, "jobs", index, "properties"],
      job.properties,
    ]),
  ];
  let usable = true;
  for (const [path, properties] of blocks) {
    for (const [key, value] of Object.entries(properties ?? {})) {
      if (!PROPERTY_KEYS.includes(key)) {
        report(
          [...path, key],
          key === "instances"
            ? "is the instance group's instances"
            : `unknown key "${key}"; properties take ${PROPERTY_KEYS.join(", ")}`,
        );
        usable = false;
        continue;
      }
      const earlier = origins.get(key);
      if (earlier) {
        report([...path, key], `is given twice: here and at ${formatPath([...earlier, key])}`);
        usable = false;
        continue;
      }
      origins.set(key, path);
      attributes[key] = value;
    }
  }
  const origin = (field: string): FieldPath => [...(origins.get(field) ?? [...base, "properties"]), field];

  const deployOpts = asPlainObject(attributes.deploy_opts);
  if (deployOpts?.min_health !== undefined) {
    report([...origin("deploy_opts"), "min_health"], "comes from update.max_in_flight");
    usable = false;
  }
  let image = attributes.image;
  if (image === undefined) {
    if (group.stemcell === undefined) {
      report([...base, "stemcell"], "is required (a stemcells alias), unless properties.image names the image");
      usable = false;
    } else if (!images.has(group.stemcell)) {
      report([...base, "stemcell"], `names stemcell "${group.stemcell}", which is not in stemcells`);
      usable = false;
    }
    image = group.stemcell === undefined ? undefined : images.get(group.stemcell);
  }
  if (!usable) return undefined;

  const update = { ...deploymentUpdate, ...group.update };
  const ownAffinity = Array.isArray(attributes.affinity) ? attributes.affinity : [];
  const azRule = group.azs === undefined ? [] : [azAffinity(group.azs)];
  const input: Record<string, unknown> = {
    ...attributes,
    name: group.name,
    instances: group.instances,
    image,
    // A deploy_opts or affinity of the wrong shape is passed on as it is, for the spec to report.
    ...(update.max_in_flight !== undefined &&
      (attributes.deploy_opts === undefined || deployOpts !== undefined) && {
        deploy_opts: { ...deployOpts, min_health: minHealthFor(update.max_in_flight, group.instances) },
      }),
    ...(azRule.length > 0 &&
      (attributes.affinity === undefined || Array.isArray(attributes.affinity)) && {
        affinity: [...ownAffinity, ...azRule],
      }),
    stateful: attributes.stateful ?? ((group.persistent_disk ?? 0) > 0 || group.persistent_disk_type !== undefined),
  };
  const parsed = serviceSpec.safeParse(input);
  if (!parsed.success) {
    const maxInFlightPath: FieldPath =
      group.update?.max_in_flight === undefined ? ["update", "max_in_flight"] : [...base, "update", "max_in_flight"];
    reportIssues(
      parsed.error.issues,
      (path) => {
        const [field, ...rest] = path;
        if (field === "name" || field === "instances") return [...base, field];
        if (field === "image" && attributes.image === undefined) return [...base, "stemcell"];
        if (field === "deploy_opts" && rest[0] === "min_health") return maxInFlightPath;
        if (field === "affinity" && typeof rest[0] === "number" && rest[0] >= ownAffinity.length)
          return [...base, "azs"];
        if (field === "stateful" && attributes.stateful === undefined) return [...base, "persistent_disk"];
        return [...origin(String(field)), ...rest];
      },
      report,
    );
    return undefined;
  }
  return { spec: parsed.data, origin };
}

/** Instances go only to nodes labelled with one of the azs; the ha strategy then spreads them over those azs. */
function azAffinity(azs: readonly string[]): string {
  if (azs.length === 1) return `label==az=${azs[0]}`;
  const escaped = azs.map((az) => az.replace(/[.]/g, "\\."));
  return `label==az=/^(${escaped.join("|")})$/`;
}
