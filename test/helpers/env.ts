/** Applies `vars` to process.env (undefined removes a variable); returns the previous values. */
function apply(vars: Record<string, string | undefined>): Map<string, string | undefined> {
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(vars)) {
    saved.set(name, process.env[name]);
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
  return saved;
}

function restore(saved: Map<string, string | undefined>): void {
  for (const [name, value] of saved) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
}

/**
 * Sets environment variables for the duration of `fn` and restores the previous values afterwards,
 * whether `fn` succeeds or throws. A value of `undefined` removes the variable meanwhile.
 */
export async function withEnv<T>(
  vars: Record<string, string | undefined>,
  fn: () => Promise<T> | T,
): Promise<T> {
  const saved = apply(vars);
  try {
    return await fn();
  } finally {
    restore(saved);
  }
}

/**
 * Sets environment variables until the returned function is called (for mocha `before`/`after`
 * hooks, where a callback scope does not fit).
 */
export function setEnv(vars: Record<string, string | undefined>): () => void {
  const saved = apply(vars);
  return () => restore(saved);
}
