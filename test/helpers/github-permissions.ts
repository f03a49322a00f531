/**
 * Collaborator permissions and comment reactions on the GitHub API double:
 * `GET /repos/{o}/{r}/collaborators/{username}/permission` answers the permission a test set for
 * the login (GitHub's default for a user who is no collaborator of a public repository: `read`), and
 * `POST /repos/{o}/{r}/issues/comments/{id}/reactions` keeps the reactions.
 */
import type { GitHubApiDouble } from "./github-api.js";

export interface StoredReaction {
  repository: string;
  commentId: number;
  content: string;
}

export class GitHubPermissions {
  /** Permissions by lower-cased login (any repository). */
  readonly permissions = new Map<string, string>();
  readonly reactions: StoredReaction[] = [];
  /** The permission of a login the test did not set. */
  fallback = "read";

  constructor(github: GitHubApiDouble) {
    github.on("GET", /^\/repos\/([^/]+)\/([^/]+)\/collaborators\/([^/]+)\/permission$/, (m) => {
      const login = decodeURIComponent(m[3] ?? "");
      const permission = this.permissions.get(login.toLowerCase()) ?? this.fallback;
      return {
        status: 200,
        body: {
          permission,
          role_name: permission,
          user: { login, type: "User" },
        },
      };
    });
    github.on(
      "POST",
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)\/reactions$/,
      (m, request) => {
        const content = (request.body as { content?: string } | undefined)?.content ?? "";
        this.reactions.push({
          repository: `${m[1]}/${m[2]}`,
          commentId: Number(m[3]),
          content,
        });
        return { status: 201, body: { id: this.reactions.length, content } };
      },
    );
  }

  /** Sets the permission of `login`. */
  set(login: string, permission: string): this {
    this.permissions.set(login.toLowerCase(), permission);
    return this;
  }
}
