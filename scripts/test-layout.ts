/**
 * Where a test lives says what it covers: test/<source folder>/... mirrors the folder of the code
 * it tests (test/cri/ for cri/, test/controlplane/api/ for controlplane/api/), so a reader finds a
 * module's tests, and a change's tests, without searching. Tests that cover no single folder have
 * their own top folders, listed below.
 */

/** Top folders of test/ that mirror no source folder, and what belongs in each. */
const crossCuttingFolders: ReadonlyMap<string, string> = new Map([
  ['e2e', 'whole clusters and sandboxes, driven through the CLI and real clients'],
  ['install', 'install.sh, bosun up and reset on a host'],
  ['security', 'adversarial tests of the API server as a trust boundary'],
  ['bed', 'shared fixtures: the test bed, real nodes for a test file, the kubectl runner (no tests of their own)'],
  ['helpers', 'small helpers shared by tests of every folder'],
]);

/**
 * Pure: the finding for one path under the root (`test/a/b.test.ts`), or undefined when it is in
 * place. `sourceFolders` are the repository's top folders that tests may mirror.
 */
export function testLayoutFinding(path: string, sourceFolders: ReadonlySet<string>): string | undefined {
  const [first, top, ...rest] = path.split('/');
  if (first !== 'test' || top === undefined) return undefined;
  if (rest.length === 0) {
    // a file right under test/: nothing may sit there
    if (path.endsWith('.ts')) return `${path}: move it under test/<folder of the code it covers>/`;
    return undefined;
  }
  if (top !== 'test' && (sourceFolders.has(top) || crossCuttingFolders.has(top))) return undefined;
  const allowed = [...[...sourceFolders].filter((f) => f !== 'test'), ...crossCuttingFolders.keys()].sort();
  return `${path}: test/${top}/ mirrors no source folder; tests go under test/<one of ${allowed.join(', ')}>/`;
}
