/**
 * Deployments and deployment statuses on the GitHub API double, kept in memory per repository:
 * create (`POST /repos/{o}/{r}/deployments`), list newest first filtered by `sha`, `ref` and
 * `environment` (paginated with `Link` headers), create and list statuses. As GitHub does: `ref` is
 * required; without `required_contexts: []` a commit whose statuses are not all green is refused
 * (409), which tests set with {@link GitHubDeployments.failingContexts}; a status's `state` must be
 * one of GitHub's; `auto_inactive` (default true) marks the environment's older successful
 * deployments inactive; `environment_url` must be http(s).
 */
import type { GitHubApiDouble, RouteAnswer } from "./github-api.js";

export interface StoredDeployment {
  id: number;
  sha: string;
  ref: string;
  environment: string;
  description: string | null;
  transientEnvironment: boolean;
  productionEnvironment: boolean;
  createdAt: string;
  statuses: StoredDeploymentStatus[];
}

export interface StoredDeploymentStatus {
  id: number;
  state: string;
  environmentUrl: string;
  logUrl: string;
  description: string;
}

const STATES = new Set([
  "error",
  "failure",
  "inactive",
  "in_progress",
  "queued",
  "pending",
  "success",
]);

const DEPLOYMENTS = /^\/repos\/([^/]+)\/([^/]+)\/deployments$/;
const STATUSES = /^\/repos\/([^/]+)\/([^/]+)\/deployments\/(\d+)\/statuses$/;

export class GitHubDeployments {
  private readonly byRepository = new Map<string, StoredDeployment[]>();
  /** Commit SHAs whose status checks GitHub counts as failing (409 unless `required_contexts: []`). */
  readonly failingContexts = new Set<string>();
  private nextId = 500_000;

  constructor(private readonly api: GitHubApiDouble) {
    api.on("POST", DEPLOYMENTS, (m, { body }) => this.create(`${m[1]}/${m[2]}`, body));
    api.on("GET", DEPLOYMENTS, (m, { url }) => {
      const filters = ["sha", "ref", "environment"] as const;
      const all = this.of(`${m[1]}/${m[2]}`)
        .filter((d) =>
          filters.every((name) => {
            const wanted = url.searchParams.get(name);
            return wanted === null || d[name] === wanted;
          }),
        )
        .sort((a, b) => b.id - a.id);
      return this.page(all, url, (d) => this.render(`${m[1]}/${m[2]}`, d));
    });
    api.on("POST", STATUSES, (m, { body }) =>
      this.createStatus(`${m[1]}/${m[2]}`, Number(m[3]), body),
    );
    api.on("GET", STATUSES, (m, { url }) => {
      const deployment = this.find(`${m[1]}/${m[2]}`, Number(m[3]));
      if (!deployment) return { status: 404, body: { message: "Not Found" } };
      const newestFirst = [...deployment.statuses].sort((a, b) => b.id - a.id);
      return this.page(newestFirst, url, renderStatus);
    });
  }

  /** The repository's deployments, oldest first. */
  of(repository: string): StoredDeployment[] {
    const key = repository.toLowerCase();
    let list = this.byRepository.get(key);
    if (!list) {
      list = [];
      this.byRepository.set(key, list);
    }
    return list;
  }

  /** The newest status's state of each deployment of `environment`, oldest deployment first. */
  states(repository: string, environment: string): string[] {
    return this.of(repository)
      .filter((d) => d.environment === environment)
      .map((d) => d.statuses.at(-1)?.state ?? "none");
  }

  reset(): void {
    this.byRepository.clear();
    this.failingContexts.clear();
  }

  private find(repository: string, id: number): StoredDeployment | undefined {
    return this.of(repository).find((d) => d.id === id);
  }

  private create(repository: string, body: unknown): RouteAnswer {
    const request = (body ?? {}) as Record<string, unknown>;
    if (typeof request["ref"] !== "string" || request["ref"] === "") {
      return invalid("ref", "missing_field");
    }
    const ref = request["ref"];
    const sha = /^[0-9a-f]{40}$/.test(ref) ? ref : "f".repeat(40);
    const required = request["required_contexts"];
    if (!(Array.isArray(required) && required.length === 0) && this.failingContexts.has(sha)) {
      return {
        status: 409,
        body: { message: `Conflict: Commit status checks failed for ${ref}.` },
      };
    }
    const deployment: StoredDeployment = {
      id: this.nextId++,
      sha,
      ref,
      environment:
        typeof request["environment"] === "string" ? request["environment"] : "production",
      description: typeof request["description"] === "string" ? request["description"] : null,
      transientEnvironment: request["transient_environment"] === true,
      productionEnvironment: request["production_environment"] === true,
      createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      statuses: [],
    };
    this.of(repository).push(deployment);
    return { status: 201, body: this.render(repository, deployment) };
  }

  private createStatus(repository: string, id: number, body: unknown): RouteAnswer {
    const deployment = this.find(repository, id);
    if (!deployment) return { status: 404, body: { message: "Not Found" } };
    const request = (body ?? {}) as Record<string, unknown>;
    const state = request["state"];
    if (typeof state !== "string" || !STATES.has(state)) return invalid("state", "invalid");
    const environmentUrl =
      typeof request["environment_url"] === "string" ? request["environment_url"] : "";
    if (environmentUrl !== "" && !/^https?:\/\//.test(environmentUrl)) {
      return invalid("environment_url", "invalid");
    }
    deployment.statuses.push({
      id: this.nextId++,
      state,
      environmentUrl,
      logUrl: typeof request["log_url"] === "string" ? request["log_url"] : "",
      description: typeof request["description"] === "string" ? request["description"] : "",
    });
    if (state === "success" && request["auto_inactive"] !== false) {
      for (const other of this.of(repository)) {
        if (other === deployment || other.environment !== deployment.environment) continue;
        if (other.statuses.at(-1)?.state !== "success") continue;
        other.statuses.push({
          id: this.nextId++,
          state: "inactive",
          environmentUrl: "",
          logUrl: "",
          description: "",
        });
      }
    }
    return {
      status: 201,
      body: renderStatus(deployment.statuses.at(-1) as StoredDeploymentStatus),
    };
  }

  private page<T>(all: T[], url: URL, render: (item: T) => unknown): RouteAnswer {
    const perPage = Math.min(100, Number(url.searchParams.get("per_page") ?? 30));
    const page = Number(url.searchParams.get("page") ?? 1);
    const headers: Record<string, string> = {};
    if (page * perPage < all.length) {
      const next = new URL(url.pathname, this.api.url);
      for (const [key, value] of url.searchParams) next.searchParams.set(key, value);
      next.searchParams.set("per_page", String(perPage));
      next.searchParams.set("page", String(page + 1));
      headers["link"] = `<${next.toString()}>; rel="next"`;
    }
    return {
      status: 200,
      body: all.slice((page - 1) * perPage, page * perPage).map(render),
      headers,
    };
  }

  private render(repository: string, d: StoredDeployment): Record<string, unknown> {
    return {
      id: d.id,
      url: `${this.api.url}/repos/${repository}/deployments/${d.id}`,
      sha: d.sha,
      ref: d.ref,
      task: "deploy",
      environment: d.environment,
      description: d.description,
      transient_environment: d.transientEnvironment,
      production_environment: d.productionEnvironment,
      created_at: d.createdAt,
      updated_at: d.createdAt,
    };
  }
}

function renderStatus(s: StoredDeploymentStatus): Record<string, unknown> {
  return {
    id: s.id,
    state: s.state,
    environment_url: s.environmentUrl,
    log_url: s.logUrl,
    description: s.description,
  };
}

function invalid(field: string, code: string): RouteAnswer {
  return {
    status: 422,
    body: {
      message: "Validation Failed",
      errors: [{ resource: "Deployment", field, code }],
    },
  };
}
