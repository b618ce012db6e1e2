/**
 * Real kubectl for every test: against an in-process server, a server process, a sandbox or a
 * bed's cluster alike. One runner, so each test says only what differs (which kubeconfig, which
 * kubectl release, what goes to stdin, how long it may take) and every test fails the same way.
 */
import { run, type RunResult } from '../../host/process/run.ts';

interface KubectlCall {
  /**
   * The cluster and identity, given as KUBECONFIG; `--kubeconfig` in the arguments or KUBECONFIG in
   * `env` still wins.
   */
  kubeconfig: string;
  /** `kubectl` (the machine's, the default), a release on the PATH (`kubectl.1.27`) or a downloaded path. */
  binary?: string | undefined;
  /** Text for kubectl's stdin (`-f -`). */
  input?: string | undefined;
  /** More environment for kubectl. */
  env?: Record<string, string> | undefined;
  /** Past this the call fails with an error naming the command (default 60 s). */
  timeoutMs?: number | undefined;
}

/** Runs kubectl and returns its exit code and output whatever the code: for tests that expect a refusal. */
export function kubectl(call: KubectlCall, args: readonly string[]): Promise<RunResult> {
  return run([call.binary ?? 'kubectl', ...args], {
    env: { KUBECONFIG: call.kubeconfig, ...call.env },
    ...(call.input !== undefined && { input: call.input }),
    timeoutMs: call.timeoutMs ?? 60_000,
  });
}

/** Runs kubectl that must succeed: its stdout, or an error naming the command and what kubectl said. */
export async function kubectlOk(call: KubectlCall, args: readonly string[]): Promise<string> {
  const result = await kubectl(call, args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}
