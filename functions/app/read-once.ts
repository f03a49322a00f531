/**
 * A pull request read from GitHub once however many services ask about it: one delivery routed to
 * several services, or one sweep over the services of a monorepo. A failed read is not kept (the
 * next ask reads again).
 */
import type { PullRequest } from "../core/classify.js";
import type { GitHubPullRequests } from "./ports.js";

export function readEachPullRequestOnce(github: GitHubPullRequests): GitHubPullRequests {
  const reads = new Map<string, Promise<PullRequest>>();
  return {
    repository: (repository) => github.repository(repository),
    get: (repository, number) => {
      const key = `${repository.toLowerCase()}#${number}`;
      let read = reads.get(key);
      if (read === undefined) {
        const started = github.get(repository, number);
        read = started;
        reads.set(key, started);
        started.catch(() => {
          if (reads.get(key) === started) reads.delete(key);
        });
      }
      return read;
    },
  };
}
