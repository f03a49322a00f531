/** Masking secrets in a build log's tail before it leaves AWS. */
import { expect } from "chai";
import { MASK, maskSecrets, secretValuesOf } from "../../../functions/core/mask.js";

describe("core/mask", () => {
  const cases: [string, string, string][] = [
    [
      "a classic GitHub token",
      "token ghp_16C7e42F292c6912E7710c838347Ae178B4a in the log",
      `token ${MASK} in the log`,
    ],
    [
      "OAuth, installation, user-to-server and refresh tokens",
      "gho_abcdefghijklmnop1234 ghs_abcdefghijklmnop1234 ghu_abcdefghijklmnop1234 ghr_abcdefghijklmnop1234",
      `${MASK} ${MASK} ${MASK} ${MASK}`,
    ],
    [
      "a fine-grained token",
      "GH=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
      `GH=${MASK}`,
    ],
    ["an access key id", "key AKIAIOSFODNN7EXAMPLE used", `key ${MASK} used`],
    ["a session's key id", "ASIAY34FZKBOKMUTVV7A,", `${MASK},`],
    [
      "a secret access key assignment",
      "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      `aws_secret_access_key=${MASK}`,
    ],
    [
      "a quoted JSON secret",
      '{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG", "Region": "eu-west-1"}',
      `{"SecretAccessKey": "${MASK}", "Region": "eu-west-1"}`,
    ],
    ["a password", "DB_PASSWORD: hunter2", `DB_PASSWORD: ${MASK}`],
    [
      "a bearer header",
      "curl -H 'Authorization: Bearer abc.def.ghi' https://x",
      `curl -H 'Authorization: Bearer ${MASK}' https://x`,
    ],
    ["a basic header", "authorization: Basic dXNlcjpwYXNzd29yZA==", `authorization: Basic ${MASK}`],
    ["a bare bearer credential", "sent Bearer eyJhbGciOiJIUzI1NiJ9", `sent Bearer ${MASK}`],
    [
      "a URL's user and password",
      "fetch https://robot:s3cr3t@registry.example.com/v2/",
      `fetch https://${MASK}@registry.example.com/v2/`,
    ],
    [
      "a private key block",
      "before\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\nafter",
      `before\n${MASK}\nafter`,
    ],
    ["a key block cut at the end", "x\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg", `x\n${MASK}`],
    [
      "a key block cut at the start",
      "MIIEvQIBADANBg\nqhkiG9w0BAQEFAASC\n-----END RSA PRIVATE KEY-----\nnext",
      `${MASK}\nnext`,
    ],
  ];
  for (const [what, input, expected] of cases) {
    it(`masks ${what}`, () => {
      expect(maskSecrets(input)).to.equal(expected);
    });
  }

  it("leaves ordinary build output alone", () => {
    const text = [
      "[Container] 2026/03/04 10:15:02 Running command npm test",
      "Step 3/9 : RUN npm ci --omit=dev",
      " ---> 6dcb09b5b578",
      "https://github.com/Codertocat/Hello-World/pull/2",
      "  42 passing (3s)",
    ].join("\n");
    expect(maskSecrets(text)).to.equal(text);
  });

  it("masks known values wherever they occur, longest first", () => {
    expect(
      maskSecrets("npm_abcdefgh and npm_abcdefgh-2", ["npm_abcdefgh", "npm_abcdefgh-2"]),
    ).to.equal(`${MASK} and ${MASK}`);
    // Too short to mask on its own.
    expect(maskSecrets("a b c", ["b"])).to.equal("a b c");
  });

  it("takes plain-text variables with a secret's name, never a reference's name", () => {
    expect(
      secretValuesOf([
        { name: "NPM_TOKEN", value: "npm_plainValue", type: "PLAINTEXT" },
        { name: "DB_PASSWORD", value: "correct-horse", type: "PLAINTEXT" },
        { name: "IMAGE_TAG_PREFIX", value: "pr-2", type: "PLAINTEXT" },
        { name: "API_KEY", value: "/prod/api-key", type: "PARAMETER_STORE" },
        { name: "REGISTRY_SECRET", value: "registry:password", type: "SECRETS_MANAGER" },
      ]),
    ).to.deep.equal(["npm_plainValue", "correct-horse"]);
  });
});
