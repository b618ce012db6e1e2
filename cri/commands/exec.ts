/** `bosun cri exec`, `attach` and `port-forward`, through the runtime's streaming server. */
import net from 'node:net';
import { forwardConnection, runRemoteCommand, type TerminalSize } from '../stream.ts';
import { resolveContainerId, resolvePodId } from './inspect.ts';
import { callOptions, usage, type CriContext } from './context.ts';

export interface ExecArgs {
  container: string;
  cmd: string[];
  interactive: boolean;
  tty: boolean;
  sync: boolean;
  /** Seconds; 0: no limit. */
  'exec-timeout': number;
}

export interface Terminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

function terminalSize(stdout: NodeJS.WriteStream): TerminalSize | undefined {
  return stdout.columns && stdout.rows ? { width: stdout.columns, height: stdout.rows } : undefined;
}

/**
 * With -t on a real terminal: raw mode (keys go to the remote shell as typed, Ctrl-C included)
 * and the terminal's size, again on every resize. Always undone, also on failure.
 */
async function streamToTerminal(
  url: string,
  ctx: CriContext,
  terminal: Terminal,
  interactive: boolean,
  tty: boolean,
): Promise<number> {
  const rawMode = tty && interactive && terminal.stdin.isTTY;
  if (rawMode) terminal.stdin.setRawMode(true);
  try {
    const result = await runRemoteCommand(url, {
      stdin: interactive ? terminal.stdin : undefined,
      stdout: ctx.out,
      stderr: tty ? undefined : ctx.err,
      onStdinEndLost: tty
        ? undefined
        : () =>
            ctx.err.write(
              'bosun: input ended, but this runtime cannot pass end-of-input on (stream protocol v4): the command runs until it exits by itself or you press Ctrl-C\n',
            ),
      onResize: tty
        ? (send) => {
            const first = terminalSize(terminal.stdout);
            if (first) send(first);
            const onResize = () => {
              const size = terminalSize(terminal.stdout);
              if (size) send(size);
            };
            terminal.stdout.on('resize', onResize);
            return () => terminal.stdout.off('resize', onResize);
          }
        : undefined,
    });
    return result.exitCode ?? 0;
  } finally {
    if (rawMode) terminal.stdin.setRawMode(false);
    if (interactive) terminal.stdin.pause();
  }
}

/** Returns the command's exit code, which becomes bosun's. */
export async function exec(ctx: CriContext, args: ExecArgs, terminal: Terminal): Promise<number> {
  if (args.cmd.length === 0) throw usage('name the command to run: bosun cri exec CONTAINER -- COMMAND [ARG...]');
  if (args.sync && (args.interactive || args.tty)) throw usage('--sync runs without a terminal or input: drop -i/-t');
  const id = await resolveContainerId(ctx, args.container);
  if (args.sync) {
    const res = await ctx.runtime.execSync(id, args.cmd, args['exec-timeout']);
    ctx.out.write(res.stdout);
    ctx.err.write(res.stderr);
    return res.exitCode;
  }
  const url = await ctx.runtime.exec(
    { containerId: id, cmd: args.cmd, tty: args.tty, stdin: args.interactive, stdout: true, stderr: !args.tty },
    callOptions(ctx),
  );
  return streamToTerminal(url, ctx, terminal, args.interactive, args.tty);
}

export async function attach(
  ctx: CriContext,
  args: { container: string; interactive: boolean; tty: boolean },
  terminal: Terminal,
): Promise<number> {
  const id = await resolveContainerId(ctx, args.container);
  const url = await ctx.runtime.attach(
    { containerId: id, tty: args.tty, stdin: args.interactive, stdout: true, stderr: !args.tty },
    callOptions(ctx),
  );
  const streamed = await streamToTerminal(url, ctx, terminal, args.interactive, args.tty);
  return (await exitCodeOnceExited(ctx, id)) ?? streamed;
}

/**
 * The attach stream ends when the process does, but reports no exit code (containerd sends
 * "Success" either way), so ask the runtime; it may take a moment to record the exit.
 */
async function exitCodeOnceExited(ctx: CriContext, id: string): Promise<number | undefined> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const status = (await ctx.runtime.containerStatus(id, false, callOptions(ctx))).status;
    if (status?.state === 'CONTAINER_EXITED') return status.exitCode;
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** '8080' -> 8080 on both sides; '9000:8080' -> local 9000 to pod 8080; '0:8080' -> any free local port. */
export function parsePortPair(text: string): { local: number; remote: number } {
  const match = /^(?:(\d+):)?(\d+)$/.exec(text);
  const local = Number(match?.[1] ?? match?.[2]);
  const remote = Number(match?.[2]);
  if (!match || remote < 1 || remote > 65535 || local < 0 || local > 65535) {
    throw usage(`port "${text}": write PORT or LOCAL:REMOTE (numbers 1-65535; LOCAL 0 picks a free port)`);
  }
  return { local, remote };
}

export interface PortForwardArgs {
  pod: string;
  ports: string[];
  address: string;
}

/** Listens locally and carries each connection to the pod; runs until `signal` aborts. */
export async function portForward(ctx: CriContext, args: PortForwardArgs, signal: AbortSignal): Promise<void> {
  if (args.ports.length === 0) throw usage('name at least one port: bosun cri port-forward POD [LOCAL:]REMOTE');
  const pairs = args.ports.map(parsePortPair);
  const podId = await resolvePodId(ctx, args.pod);
  const servers: net.Server[] = [];
  try {
    for (const { local, remote } of pairs) {
      const server = net.createServer((connection) => {
        connection.pause();
        ctx.runtime
          .portForward(podId, [remote], callOptions(ctx))
          .then((url) => forwardConnection(url, remote, connection, signal))
          .catch((err: Error) => {
            ctx.err.write(`bosun: port-forward ${remote}: ${err.message}\n`);
            connection.destroy();
          });
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(usage(`cannot listen on ${args.address}:${local}: ${err.message}`)));
        server.listen(local, args.address, () => resolve());
      });
      servers.push(server);
      const bound = (server.address() as net.AddressInfo).port;
      ctx.out.write(`Forwarding from ${args.address}:${bound} -> ${remote}\n`);
    }
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    for (const server of servers) server.close();
  }
}
