/**
 * Check runs on the GitHub API double, kept per repository in memory: create
 * (`POST /repos/{o}/{r}/check-runs`), update (`PATCH /repos/{o}/{r}/check-runs/{id}`) and list for a
 * ref (`GET /repos/{o}/{r}/commits/{sha}/check-runs`, filtered by `check_name`, paginated with
 * `Link` headers), validating what GitHub validates: only a GitHub App's installation token may
 * write (any other token gets 403 "You must authenticate via a GitHub App."); `name` and `head_sha`
 * are required on create; a `completed` status needs a `conclusion` (a conclusion alone completes
 * the run); an output needs a `title` and a `summary`, and `summary` and `text` hold at most 65,535
 * characters (422 otherwise).
 */
import type { GitHubApiDouble } from "./github-api.js";

/** GitHub's limit on a check run output's `summary` and `text`. */
export const CHECK_OUTPUT_MAX = 65_535;

const STATUSES = ["queued", "in_progress", "completed"];
const CONCLUSIONS = [
  "action_required",
  "cancelled",
  "failure",
  "neutral",
  "success",
  "skipped",
  "stale",
  "timed_out",
];

export interface StoredCheckRun {
  id: number;
  /** `owner/name`, lower case. */
  repository: string;
  name: string;
  head_sha: string;
  external_id: string | null;
  details_url: string | null;
  status: string;
  conclusion: string | null;
  started_at: string | null;
  completed_at: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  /** The App that wrote it (its slug). */
  app: string;
}

type Body = Record<string, unknown>;

export class GitHubChecks {
  runs: StoredCheckRun[] = [];
  private nextId = 4000;

  constructor(private readonly github: GitHubApiDouble) {
    github.on("POST", /^\/repos\/([^/]+)\/([^/]+)\/check-runs$/, (m, request) => {
      const app = this.appOf(request.authorization);
      if (typeof app !== "string") return app;
      const body = (request.body ?? {}) as Body;
      const missing = ["name", "head_sha"].filter(
        (field) => typeof body[field] !== "string" || body[field] === "",
      );
      if (missing.length > 0) return invalid(`"${missing[0]}" wasn't supplied.`);
      const run: StoredCheckRun = {
        id: this.nextId++,
        repository: `${m[1]}/${m[2]}`.toLowerCase(),
        name: String(body["name"]),
        head_sha: String(body["head_sha"]),
        external_id: null,
        details_url: null,
        status: "queued",
        conclusion: null,
        started_at: null,
        completed_at: null,
        output: { title: null, summary: null, text: null },
        app,
      };
      const problem = apply(run, body);
      if (problem) return invalid(problem);
      this.runs.push(run);
      return { status: 201, body: this.render(run) };
    });
    github.on("PATCH", /^\/repos\/([^/]+)\/([^/]+)\/check-runs\/(\d+)$/, (m, request) => {
      const app = this.appOf(request.authorization);
      if (typeof app !== "string") return app;
      const run = this.runs.find(
        (r) => r.id === Number(m[3]) && r.repository === `${m[1]}/${m[2]}`.toLowerCase(),
      );
      if (!run) return { status: 404, body: { message: "Not Found" } };
      if (run.app !== app) {
        return {
          status: 403,
          body: { message: "Invalid app_id `" + app + "` - check run is not owned by it" },
        };
      }
      const updated = structuredClone(run);
      const problem = apply(updated, (request.body ?? {}) as Body);
      if (problem) return invalid(problem);
      Object.assign(run, updated);
      return { status: 200, body: this.render(run) };
    });
    github.on("GET", /^\/repos\/([^/]+)\/([^/]+)\/commits\/([^/]+)\/check-runs$/, (m, { url }) => {
      const repository = `${m[1]}/${m[2]}`.toLowerCase();
      const name = url.searchParams.get("check_name");
      const filter = url.searchParams.get("filter") ?? "latest";
      let matching = this.runs
        .filter((r) => r.repository === repository && r.head_sha === m[3])
        .filter((r) => name === null || r.name === name)
        .sort((a, b) => b.id - a.id);
      if (filter === "latest") {
        // The most recent run of each name.
        const seen = new Set<string>();
        matching = matching.filter((r) => !seen.has(r.name) && seen.add(r.name) !== undefined);
      }
      const perPage = Math.min(100, Number(url.searchParams.get("per_page") ?? "30"));
      const page = Math.max(1, Number(url.searchParams.get("page") ?? "1"));
      const items = matching.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> = {};
      if (page * perPage < matching.length) {
        const next = new URL(url.pathname, github.url);
        url.searchParams.forEach((value, key) => next.searchParams.set(key, value));
        next.searchParams.set("page", String(page + 1));
        headers["link"] = `<${next.toString()}>; rel="next"`;
      }
      return {
        status: 200,
        body: { total_count: matching.length, check_runs: items.map((r) => this.render(r)) },
        headers,
      };
    });
  }

  reset(): void {
    this.runs = [];
    this.nextId = 4000;
  }

  /** The check runs of a commit, oldest first. */
  of(sha: string): StoredCheckRun[] {
    return this.runs.filter((r) => r.head_sha === sha);
  }

  /** The App slug of an installation token, or GitHub's refusal of any other credential. */
  private appOf(authorization: string | undefined) {
    const owner = this.github.whoIs(authorization);
    if (!owner) return { status: 401, body: { message: "Requires authentication" } };
    if (!("app" in owner)) {
      return {
        status: 403,
        body: {
          message: "You must authenticate via a GitHub App.",
          documentation_url: "https://docs.github.com/rest/checks/runs#create-a-check-run",
        },
      };
    }
    return owner.app;
  }

  private render(run: StoredCheckRun): Record<string, unknown> {
    const [owner, name] = run.repository.split("/");
    const base = `${this.github.url}/repos/${owner}/${name}/check-runs/${run.id}`;
    return {
      id: run.id,
      node_id: `CR_${run.id}`,
      head_sha: run.head_sha,
      external_id: run.external_id,
      url: base,
      html_url: `https://github.com/${owner}/${name}/runs/${run.id}`,
      details_url: run.details_url,
      status: run.status,
      conclusion: run.conclusion,
      started_at: run.started_at,
      completed_at: run.completed_at,
      output: { ...run.output, annotations_count: 0, annotations_url: `${base}/annotations` },
      name: run.name,
      check_suite: { id: 5000 },
      app: { id: 424242, slug: run.app, name: run.app },
      pull_requests: [],
    };
  }
}

function invalid(message: string) {
  return {
    status: 422,
    body: {
      message: "Invalid request.\n\n" + message,
      documentation_url: "https://docs.github.com/rest/checks/runs",
    },
  };
}

/** Applies a create or update body to `run`; the problem GitHub would answer 422 for, if any. */
function apply(run: StoredCheckRun, body: Body): string | undefined {
  for (const field of ["external_id", "details_url", "started_at", "completed_at"] as const) {
    const value = body[field];
    if (value === undefined) continue;
    if (typeof value !== "string")
      return `For '${field}', ${JSON.stringify(value)} is not a string.`;
    run[field] = value;
  }
  const status = body["status"];
  if (status !== undefined && (typeof status !== "string" || !STATUSES.includes(status))) {
    return `For 'status', ${JSON.stringify(status)} is not a member of ${JSON.stringify(STATUSES)}.`;
  }
  const conclusion = body["conclusion"];
  if (
    conclusion !== undefined &&
    (typeof conclusion !== "string" || !CONCLUSIONS.includes(conclusion))
  ) {
    return `For 'conclusion', ${JSON.stringify(conclusion)} is not a member of ${JSON.stringify(CONCLUSIONS)}.`;
  }
  if ((status === "completed" || body["completed_at"] !== undefined) && conclusion === undefined) {
    return "No conclusion: a completed check run needs one.";
  }
  if (typeof conclusion === "string") {
    run.status = "completed";
    run.conclusion = conclusion;
    run.completed_at ??= new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  } else if (typeof status === "string") {
    run.status = status;
    if (status !== "completed") {
      run.conclusion = null;
      run.completed_at = null;
    }
  }
  const output = body["output"];
  if (output !== undefined) {
    if (output === null || typeof output !== "object") return "For 'output', it is not an object.";
    const { title, summary, text } = output as Body;
    if (typeof title !== "string" || typeof summary !== "string") {
      return `"title" and "summary" weren't supplied for the output.`;
    }
    if (summary.length > CHECK_OUTPUT_MAX) {
      return `output.summary is too long (maximum is ${CHECK_OUTPUT_MAX} characters)`;
    }
    if (typeof text === "string" && text.length > CHECK_OUTPUT_MAX) {
      return `output.text is too long (maximum is ${CHECK_OUTPUT_MAX} characters)`;
    }
    run.output = { title, summary, text: typeof text === "string" ? text : null };
  }
  return undefined;
}
