/** Where in a stack file or service spec: keys and list indexes from the top. */
export type FieldPath = readonly (string | number)[];

/** `services.web.ports[1]`: dots between keys, brackets around indexes. */
export function formatPath(path: FieldPath): string {
  return path.reduce<string>(
    (text, segment) =>
      typeof segment === "number" ? `${text}[${segment}]` : text === "" ? segment : `${text}.${segment}`,
    "",
  );
}
