/**
 * Masking secrets in text that leaves AWS (a failing build's log tail on GitHub), as pure functions.
 * What looks like a credential is replaced by {@link MASK}: GitHub tokens (`ghp_`, `gho_`, `ghs_`,
 * `ghu_`, `ghr_`, `github_pat_`), AWS access key ids (`AKIA...`, `ASIA...`), the value of an
 * assignment whose name says secret (`aws_secret_access_key=...`, `PASSWORD: ...`, `api-key=...`),
 * the credentials of `Authorization`-like headers (bearer, basic, token), private key blocks (also
 * cut ones, at either end of the text) and the user and password of a URL (`https://u:p@host`).
 * Known values (e.g. plain-text environment variables with a secret's name) are replaced wherever
 * they occur. Masking is on the whole text before any truncation, so a cut never reveals a part.
 */

export const MASK = "***";

/** A known value shorter than this is not masked on its own (it would mask ordinary words). */
export const MIN_KNOWN_SECRET_LENGTH = 6;

const PRIVATE_KEY =
  /-----BEGIN ([A-Z0-9 ]*?)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
/** A key block's tail whose BEGIN line is before the text's start. */
const PRIVATE_KEY_TAIL = /^[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/;
const GITHUB_TOKEN = /\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})/g;
const AWS_ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+(?::[^\s/@]*)?@/gi;
const AUTH_HEADER =
  /\b((?:proxy-)?authorization\s*[:=]\s*["']?)(?:(bearer|basic|token|digest)\s+)?[^\s"',;]+/gi;
const AUTH_SCHEME = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
/** `name=value`, `name: value`, `"name": "value"` where the name says secret. */
const SECRET_ASSIGNMENT =
  /(\b[A-Za-z0-9_.-]*(?:secret|password|passwd|pwd|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)[A-Za-z0-9_.-]*["']?\s*[:=]\s*["']?)([^\s"',;]+)/gi;

/** `text` with every secret-looking part replaced by {@link MASK}, and the `known` values. */
export function maskSecrets(text: string, known: readonly string[] = []): string {
  let masked = text;
  for (const value of [...known].sort((a, b) => b.length - a.length)) {
    if (value.length < MIN_KNOWN_SECRET_LENGTH) continue;
    masked = masked.split(value).join(MASK);
  }
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(masked.split(/-----END/)[0] ?? "")) {
    masked = masked.replace(PRIVATE_KEY_TAIL, MASK);
  }
  return masked
    .replace(PRIVATE_KEY, MASK)
    .replace(GITHUB_TOKEN, MASK)
    .replace(AWS_ACCESS_KEY_ID, MASK)
    .replace(URL_CREDENTIALS, `$1${MASK}@`)
    .replace(AUTH_HEADER, (_all, prefix: string, scheme: string | undefined) =>
      scheme ? `${prefix}${scheme} ${MASK}` : `${prefix}${MASK}`,
    )
    .replace(AUTH_SCHEME, `$1 ${MASK}`)
    .replace(SECRET_ASSIGNMENT, (all, prefix: string, value: string) =>
      value === MASK || value.startsWith(MASK) ? all : `${prefix}${MASK}`,
    );
}

/** Names of plain-text variables whose values are treated as secrets. */
const SECRET_NAME =
  /secret|password|passwd|token|api[_-]?key|access[_-]?key|private[_-]?key|credential/i;

/**
 * The values to mask among a build's environment variables: the plain-text ones with a secret's
 * name. Variables of type SECRETS_MANAGER or PARAMETER_STORE hold a reference, never the value, and
 * their values are never fetched; CodeBuild masks those in its logs itself.
 */
export function secretValuesOf(
  variables: readonly { name?: string; value?: string; type?: string }[],
): string[] {
  return variables
    .filter((v) => (v.type ?? "PLAINTEXT") === "PLAINTEXT" && SECRET_NAME.test(v.name ?? ""))
    .map((v) => v.value ?? "")
    .filter((value) => value.length >= MIN_KNOWN_SECRET_LENGTH);
}
