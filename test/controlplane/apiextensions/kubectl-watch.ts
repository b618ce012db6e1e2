/** `kubectl get -w` in the background for the custom-resource tests. */
import { spawn } from 'node:child_process';

/**
 * The lines `kubectl get -w` prints (spaces squeezed) until `last` is one of them; `during` runs
 * once it printed two lines (a header and an object, or two objects).
 */
export function watchLines(
  kubeconfig: string,
  binary: string,
  args: readonly string[],
  last: string,
  during: () => Promise<unknown>,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [...args], { env: { ...process.env, KUBECONFIG: kubeconfig } });
    let out = '';
    let started = false;
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`kubectl ${args.join(' ')} printed only: ${out}`));
    }, 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const got = out.split('\n').filter((l) => l !== '');
      if (!started && got.length >= 2) {
        started = true;
        during().catch(reject);
      }
      const lines = got.map((l) => l.split(/\s+/).join(' '));
      if (lines.includes(last)) {
        clearTimeout(timer);
        child.kill();
        resolve(lines);
      }
    });
  });
}
