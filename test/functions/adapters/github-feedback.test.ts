/**
 * Whose comment is branchline's, as the comment adapter decides it from the comment's author (the
 * wire-level tests in test/functions/notify drive the same rule through Octokit and the GitHub API
 * double).
 */
import { expect } from "chai";
import { writtenBy } from "../../../functions/adapters/github-feedback.js";

describe("adapters/github-feedback: writtenBy", () => {
  const user = { kind: "user", login: "branchline-bot" } as const;
  const app = { kind: "app" } as const;

  it("matches a user's token by login, whatever the case GitHub shows", () => {
    expect(writtenBy({ id: 1, user: { login: "branchline-bot", type: "User" } }, user)).to.equal(
      true,
    );
    expect(writtenBy({ id: 1, user: { login: "Branchline-Bot", type: "User" } }, user)).to.equal(
      true,
    );
    expect(writtenBy({ id: 1, user: { login: "octocat", type: "User" } }, user)).to.equal(false);
    expect(writtenBy({ id: 1, user: null }, user)).to.equal(false);
    expect(writtenBy({ id: 1 }, user)).to.equal(false);
  });

  it("with an App token, matches only an App's bot writing through that App", () => {
    const bot = { login: "branchline[bot]", type: "Bot" };
    expect(
      writtenBy({ id: 1, user: bot, performed_via_github_app: { slug: "branchline" } }, app),
    ).to.equal(true);
    // A person, a bot without the App it writes for, a bot writing for another App's name.
    expect(
      writtenBy(
        {
          id: 1,
          user: { login: "octocat", type: "User" },
          performed_via_github_app: { slug: "octocat" },
        },
        app,
      ),
    ).to.equal(false);
    expect(writtenBy({ id: 1, user: bot, performed_via_github_app: null }, app)).to.equal(false);
    expect(
      writtenBy({ id: 1, user: bot, performed_via_github_app: { slug: "other" } }, app),
    ).to.equal(false);
  });
});
