// The packages only the experiments need (figures, data sets): not dependencies of the library,
// so a user's install stays small. They load on first use, and a missing one says what to run.
// In a clone of the repository they are devDependencies.

/** require(name), or an Error naming the package, what needs it and the command that installs it. */
export function optional<T>(name: string, purpose: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND' || !String((e as Error).message).includes(name)) throw e;
    throw new Error(`${purpose} needs the package ${name}, which vsgd-fd does not install for the optimizers alone; add it with \`npm install ${name}\``);
  }
}
