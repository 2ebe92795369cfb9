import { type Document, isMap, LineCounter, type Node, parseDocument } from "yaml";
import { StackFileError, type StackFileProblem } from "../errors/stack-file-error.ts";
import { type FieldPath, formatPath } from "./field-path.ts";

/**
 * A YAML document that must be a map (a stack file, a Director manifest), with the problems
 * found in it so far, each placed at the line of its field (or of the closest ancestor present).
 */
export interface YamlMapDocument {
  readonly doc: Document.Parsed;
  readonly problems: StackFileProblem[];
  /** A problem at `path`, located at `at` when given, else at the path's nearest node. */
  problemAt(path: FieldPath, message: string, at?: Node | null): StackFileProblem;
  report(path: FieldPath, message: string, at?: Node | null): void;
  /** Throws every problem found, in file order (problems without a line go last). */
  fail(): never;
}

/** Parses `text`; a syntax error, or a document that is not a map, throws StackFileError at once. */
export function parseYamlMap(text: string, notAMap: string): YamlMapDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const problems: StackFileProblem[] = [];
  const nearestNode = (path: FieldPath): Node | undefined => {
    for (let length = path.length; length > 0; length--) {
      const node = doc.getIn(path.slice(0, length), true);
      if (node !== undefined && node !== null && typeof node === "object") return node as Node;
    }
    return undefined;
  };
  const problemAt = (path: FieldPath, message: string, at?: Node | null): StackFileProblem => {
    const offset = (at ?? nearestNode(path))?.range?.[0];
    const position = offset === undefined ? undefined : lineCounter.linePos(offset);
    return { path: formatPath(path), ...(position && { line: position.line, column: position.col }), message };
  };
  const document: YamlMapDocument = {
    doc,
    problems,
    problemAt,
    report: (path, message, at) => {
      problems.push(problemAt(path, message, at));
    },
    fail: () => {
      const byLine = (problem: StackFileProblem): number => problem.line ?? Number.POSITIVE_INFINITY;
      throw new StackFileError(problems.toSorted((a, b) => byLine(a) - byLine(b)));
    },
  };
  for (const error of doc.errors) {
    const position = lineCounter.linePos(error.pos[0]);
    problems.push({ path: "", line: position.line, column: position.col, message: error.message });
  }
  if (problems.length > 0) document.fail();
  if (!isMap(doc.contents)) {
    document.report([], notAMap);
    document.fail();
  }
  return document;
}
