// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const sdkImports = {
  patterns: [
    { group: ["@aws-sdk/*", "@smithy/*"], message: "functions/core is pure: no AWS SDK." },
    {
      group: ["@octokit/rest", "@octokit/core"],
      message: "functions/core is pure: no Octokit client.",
    },
    { group: ["@pulumi/*"], message: "functions/ never imports Pulumi." },
  ],
};

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "**/*.js", "**/*.mjs", "**/*.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["functions/core/**/*.ts"],
    rules: { "no-restricted-imports": ["error", sdkImports] },
  },
  {
    files: ["functions/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["@pulumi/*"], message: "functions/ never imports Pulumi." }] },
      ],
    },
  },
  {
    files: ["functions/core/**/*.ts"],
    rules: { "no-restricted-imports": ["error", sdkImports] },
  },
  {
    files: ["infra/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@aws-sdk/*", "@octokit/*"],
              message: "infra/ uses Pulumi, not runtime SDKs.",
            },
            {
              group: ["../functions/*", "!../functions/shared"],
              message: "infra/ imports only functions/shared from functions/.",
            },
          ],
        },
      ],
    },
  },
  {
    // The webhook registration is a dynamic provider: its code runs in the Pulumi process at deploy
    // time and calls GitHub's API, so infra/github/ may use Octokit's REST client (and nothing else
    // of @octokit or the AWS SDK).
    files: ["infra/github/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@aws-sdk/*", "@octokit/*", "!@octokit/rest"],
              message:
                "infra/ uses Pulumi, not runtime SDKs (infra/github/ may use @octokit/rest).",
            },
            {
              group: ["../functions/*", "../../functions/*", "!../../functions/shared"],
              message: "infra/ imports only functions/shared from functions/.",
            },
          ],
        },
      ],
    },
  },
);
