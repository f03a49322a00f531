/** Check runs through Octokit (a GitHub App's installation token: the Checks API is the Apps'). */
import type { Octokit } from "@octokit/rest";
import type { CheckRuns, CheckRunView } from "../app/checks.js";
import type { CheckRunContent } from "../core/checks.js";
import { splitRepository } from "./github.js";

export class OctokitCheckRuns implements CheckRuns {
  constructor(private readonly octokit: Octokit) {}

  async list(repository: string, sha: string, name: string): Promise<CheckRunView[]> {
    const [owner, repo] = splitRepository(repository);
    const runs: CheckRunView[] = [];
    const pages = this.octokit.paginate.iterator(this.octokit.rest.checks.listForRef, {
      owner,
      repo,
      ref: sha,
      check_name: name,
      // Every run of the name, not only the latest: a duplicate is edited too.
      filter: "all",
      per_page: 100,
    });
    for await (const page of pages) {
      for (const run of page.data) {
        runs.push({
          id: run.id,
          externalId: run.external_id ?? null,
          status: run.status,
          conclusion: run.conclusion ?? null,
          detailsUrl: run.details_url ?? null,
          output: {
            title: run.output.title ?? null,
            summary: run.output.summary ?? null,
            text: run.output.text ?? null,
          },
        });
      }
    }
    return runs;
  }

  async create(repository: string, content: CheckRunContent): Promise<number> {
    const [owner, repo] = splitRepository(repository);
    const { data } = await this.octokit.rest.checks.create({
      owner,
      repo,
      name: content.name,
      head_sha: content.headSha,
      ...fields(content),
    });
    return data.id;
  }

  async update(repository: string, id: number, content: CheckRunContent): Promise<void> {
    const [owner, repo] = splitRepository(repository);
    await this.octokit.rest.checks.update({ owner, repo, check_run_id: id, ...fields(content) });
  }
}

function fields(content: CheckRunContent) {
  return {
    external_id: content.externalId,
    details_url: content.detailsUrl,
    status: content.status,
    ...(content.conclusion !== undefined ? { conclusion: content.conclusion } : {}),
    ...(content.startedAt !== undefined ? { started_at: content.startedAt } : {}),
    ...(content.completedAt !== undefined ? { completed_at: content.completedAt } : {}),
    output: {
      title: content.output.title,
      summary: content.output.summary,
      ...(content.output.text !== undefined ? { text: content.output.text } : {}),
    },
  };
}
