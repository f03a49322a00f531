/**
 * A pull request read from GitHub once however many services ask about it: one delivery routed to
 * several services, or one sweep over the services of a monorepo. Its changed files too (read for
 * services with path rules). A failed read is not kept (the next ask reads again).
 */
import type { GitHubPullRequests } from "./ports.js";

export function readEachPullRequestOnce(github: GitHubPullRequests): GitHubPullRequests {
  const files = github.changedFiles?.bind(github);
  return {
    repository: (repository) => github.repository(repository),
    get: once((repository, number) => github.get(repository, number)),
    ...(files ? { changedFiles: once(files) } : {}),
  };
}

/**
 * `read` answered once per pull request (GitHub's names are case-insensitive); a failed read is not
 * kept, so the next caller tries again.
 */
export function once<T>(
  read: (repository: string, number: number) => Promise<T>,
): (repository: string, number: number) => Promise<T> {
  const reads = new Map<string, Promise<T>>();
  return (repository, number) => {
    const key = `${repository.toLowerCase()}#${number}`;
    let current = reads.get(key);
    if (current === undefined) {
      const started = read(repository, number);
      current = started;
      reads.set(key, started);
      started.catch(() => {
        if (reads.get(key) === started) reads.delete(key);
      });
    }
    return current;
  };
}
