/**
 * Where bosun keeps its files on a machine. Every folder can be moved by a flag (install.sh passes
 * them through), so tests and unusual hosts keep bosun inside folders of their own.
 */
import { join } from 'node:path';

export interface NodePaths {
  /** Kubeconfigs: admin.kubeconfig (on a server), agent.kubeconfig (on a node). */
  configDir: string;
  /** State: <dataDir>/server (datastore, PKI), <dataDir>/agent (the agent's root folder). */
  dataDir: string;
  /** PID files of detached daemons. */
  runDir: string;
  /** Logs of detached daemons. */
  logDir: string;
  /** Environment files the systemd units read (BOSUN_SERVER_ARGS, BOSUN_AGENT_ARGS). */
  defaultsDir: string;
}

const defaultNodePaths: NodePaths = {
  configDir: '/etc/bosun',
  dataDir: '/var/lib/bosun',
  runDir: '/run/bosun',
  logDir: '/var/log/bosun',
  defaultsDir: '/etc/default',
};

export const serverDataDir = (paths: NodePaths) => join(paths.dataDir, 'server');
export const agentRootDir = (paths: NodePaths) => join(paths.dataDir, 'agent');
export const adminKubeconfig = (paths: NodePaths) => join(paths.configDir, 'admin.kubeconfig');
export const agentKubeconfig = (paths: NodePaths) => join(paths.configDir, 'agent.kubeconfig');

/** yargs options for the folders, shared by init, up and reset. */
export const nodePathOptions = {
  'config-dir': {
    type: 'string',
    default: defaultNodePaths.configDir,
    describe: 'Kubeconfigs (admin.kubeconfig, agent.kubeconfig)',
  },
  'data-dir': {
    type: 'string',
    default: defaultNodePaths.dataDir,
    describe: 'State: <dir>/server (datastore, PKI), <dir>/agent',
  },
  'run-dir': { type: 'string', default: defaultNodePaths.runDir, describe: 'PID files of daemons run without systemd' },
  'log-dir': { type: 'string', default: defaultNodePaths.logDir, describe: 'Logs of daemons run without systemd' },
  'defaults-dir': {
    type: 'string',
    default: defaultNodePaths.defaultsDir,
    describe: "Where systemd units' environment files go",
    hidden: true,
  },
} as const;

/** The parsed folder flags. */
export interface NodePathArgs {
  'config-dir': string;
  'data-dir': string;
  'run-dir': string;
  'log-dir': string;
  'defaults-dir': string;
}

export function nodePathsFrom(args: NodePathArgs): NodePaths {
  return {
    configDir: args['config-dir'],
    dataDir: args['data-dir'],
    runDir: args['run-dir'],
    logDir: args['log-dir'],
    defaultsDir: args['defaults-dir'],
  };
}
