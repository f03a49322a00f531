/**
 * Which pull requests a service builds, beyond the base branch: its label and path rules. Pure:
 * parsing and validating the rules, glob matching, and the decision with its reason.
 *
 * - `labels.require`: a pull request is built only with one of these labels (opt-in).
 * - `labels.skip`: a pull request with one of these labels is not built, and loses its clone
 *   (opt-out or pause); removing the label builds it again.
 * - `paths.include` / `paths.exclude`: a pull request is built only when it changes at least one
 *   file matching an include glob (default: every file) and no exclude glob.
 *
 * Globs: `*` matches within one path segment, `**` any number of segments (`a/**` matches `a/b`
 * and `a/b/c`; `**\/x` matches `x` and `a/b/x`), `?` one character other than `/`; everything else
 * matches itself. A glob without `/` (such as `*.md`) matches the file name in any folder.
 */
import { ConfigurationError } from "./errors.js";
import { pathGlobProblem } from "../shared/names.js";

export interface Selection {
  labels?: { require?: string[]; skip?: string[] };
  paths?: { include?: string[]; exclude?: string[] };
}

/** GitHub lists at most this many files of a pull request. */
export const GITHUB_FILES_LIMIT = 3000;

/** A pull request's changed files as GitHub listed them. */
export interface ChangedFiles {
  files: string[];
  /** GitHub's list stopped at its limit: the pull request may change more files than listed. */
  truncated: boolean;
}

export type SelectionDecision =
  { build: true; note?: string } | { build: false; reason: string; description: string };

/** Whether the service has path rules (only then are the pull request's files read). */
export function hasPathRules(selection: Selection | undefined): boolean {
  const paths = selection?.paths;
  return (paths?.include?.length ?? 0) > 0 || (paths?.exclude?.length ?? 0) > 0;
}

/** Whether the service has label rules (only then do `labeled` and `unlabeled` matter to it). */
export function hasLabelRules(selection: Selection | undefined): boolean {
  const labels = selection?.labels;
  return (labels?.require?.length ?? 0) > 0 || (labels?.skip?.length ?? 0) > 0;
}

/** The decision by labels alone. GitHub's label names are compared case-insensitively. */
export function byLabels(
  selection: Selection | undefined,
  labels: readonly string[],
): SelectionDecision {
  const have = new Set(labels.map((label) => label.toLowerCase()));
  const skip = selection?.labels?.skip?.find((label) => have.has(label.toLowerCase()));
  if (skip !== undefined) return notBuilt(`label \`${skip}\``);
  const require = selection?.labels?.require ?? [];
  if (require.length > 0 && !require.some((label) => have.has(label.toLowerCase()))) {
    return notBuilt(`no label ${require.map((label) => `\`${label}\``).join(" or ")}`);
  }
  return { build: true };
}

/**
 * The decision by changed files. A list GitHub truncated counts as matching (the files beyond its
 * limit are unknown, and a huge pull request must never be skipped silently): the decision's note
 * says so.
 */
export function byPaths(
  selection: Selection | undefined,
  changed: ChangedFiles,
): SelectionDecision {
  if (!hasPathRules(selection)) return { build: true };
  const include = (selection?.paths?.include ?? []).map(globMatcher);
  const exclude = (selection?.paths?.exclude ?? []).map(globMatcher);
  const matches = (file: string) =>
    (include.length === 0 || include.some((match) => match(file))) &&
    !exclude.some((match) => match(file));
  if (changed.files.some(matches)) return { build: true };
  if (changed.truncated) {
    return {
      build: true,
      note: `GitHub lists at most ${GITHUB_FILES_LIMIT} changed files and none of those listed matches the path rules; built anyway, as the files beyond the list are unknown`,
    };
  }
  return notBuilt(`no changed file matches ${pathRulesText(selection)}`);
}

function pathRulesText(selection: Selection | undefined): string {
  const include = selection?.paths?.include ?? [];
  const exclude = selection?.paths?.exclude ?? [];
  const parts = [
    include.length > 0 ? include.join(", ") : "any path",
    ...(exclude.length > 0 ? [`outside ${exclude.join(", ")}`] : []),
  ];
  return parts.join(" ");
}

/** GitHub's limit on a commit status description. */
const DESCRIPTION_MAX = 140;

function notBuilt(why: string): SelectionDecision {
  const description = `Not built: ${why}`;
  return {
    build: false,
    reason: description.charAt(0).toLowerCase() + description.slice(1),
    description:
      description.length <= DESCRIPTION_MAX
        ? description
        : `${description.slice(0, DESCRIPTION_MAX - 1)}…`,
  };
}

/** A glob (see the module's comment) as a predicate on `/`-separated paths. */
export function globMatcher(glob: string): (path: string) => boolean {
  const pattern = glob.startsWith("/") ? glob.slice(1) : glob;
  const anywhere = !pattern.includes("/");
  const source = globSource(pattern);
  const regex = new RegExp(anywhere ? `^(?:.*/)?${source}$` : `^${source}$`, "u");
  return (path) => regex.test(path);
}

function globSource(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === "*" && glob.charAt(i + 1) === "*") {
      const atStart = i === 0 || glob.charAt(i - 1) === "/";
      const atEnd = i + 2 === glob.length || glob.charAt(i + 2) === "/";
      if (atStart && atEnd) {
        if (i + 2 === glob.length) {
          out += ".*"; // `a/**`: everything below a
        } else {
          out += "(?:[^/]*/)*"; // `**/`: zero or more folders
          i++; // the `/` after `**`
        }
        i++;
        continue;
      }
      out += "[^/]*";
      i++;
      continue;
    }
    if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return out;
}

/**
 * Reads a selection from JSON-shaped values (the routing table, the environment): `labels` and
 * `paths` objects of string lists. `what` names the origin in every error.
 */
export function parseSelection(
  labels: unknown,
  paths: unknown,
  what: (key: string) => string,
): Selection {
  const selection: Selection = {};
  const parsedLabels = stringLists(labels, ["require", "skip"], what("labels"));
  if (parsedLabels !== undefined) selection.labels = parsedLabels;
  const parsedPaths = stringLists(paths, ["include", "exclude"], what("paths"));
  if (parsedPaths !== undefined) {
    for (const glob of [...(parsedPaths.include ?? []), ...(parsedPaths.exclude ?? [])]) {
      const problem = globProblem(glob);
      if (problem !== undefined) {
        throw new ConfigurationError(`${what("paths")}: glob ${JSON.stringify(glob)} ${problem}`);
      }
    }
    selection.paths = parsedPaths;
  }
  return selection;
}

/** Why a glob is refused, or `undefined`. */
export const globProblem = pathGlobProblem;

function stringLists<K extends string>(
  value: unknown,
  keys: readonly K[],
  label: string,
): Partial<Record<K, string[]>> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigurationError(
      `${label} must be an object { ${keys.map((key) => `${key}?: string[]`).join(", ")} }`,
    );
  }
  const result: Partial<Record<K, string[]>> = {};
  for (const [key, list] of Object.entries(value as Record<string, unknown>)) {
    if (!(keys as readonly string[]).includes(key)) {
      throw new ConfigurationError(`${label}: ${key} is not one of ${keys.join(", ")}`);
    }
    if (
      !Array.isArray(list) ||
      !list.every((item: unknown) => typeof item === "string" && item.trim() !== "")
    ) {
      throw new ConfigurationError(`${label}.${key} must be a list of non-empty strings`);
    }
    if (list.length > 0) result[key as K] = [...new Set(list as string[])];
  }
  return Object.keys(result).length > 0 ? result : undefined;
}
