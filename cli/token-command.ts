/**
 * `bosun token create|list|delete`: bootstrap tokens, the credentials a new node joins with. Each is
 * a Secret `bootstrap-token-<id>` (type bootstrap.kubernetes.io/token) in kube-system, as kubeadm
 * stores them, so the server's authenticator and the cluster-info signer find them.
 */
import type { Argv, CommandModule } from 'yargs';
import { columnsText } from './columns.ts';
import { CliError, ExitCode } from './exit.ts';
import { listOption } from './list-flag.ts';
import { parseDurationSeconds } from './duration.ts';
import { requiredPositional } from './typed-args.ts';

interface Common {
  kubeconfig?: string;
  output: string;
}

const defaultKubeconfig = '/etc/bosun/admin.kubeconfig';
const secretType = 'bootstrap.kubernetes.io/token';
const defaultGroup = 'system:bootstrappers:bosun:default-node-token';

function common<T>(y: Argv<T>): Argv<T & Common> {
  return y
    .option('kubeconfig', {
      type: 'string',
      describe: `Admin kubeconfig (default: $KUBECONFIG, then ${defaultKubeconfig})`,
    })
    .option('output', { alias: 'o', type: 'string', choices: ['table', 'json', 'yaml'], default: 'table' }) as Argv<
    T & Common
  >;
}

/** '24h', '90m', '45s', '1h30m' -> seconds; '0' means the token never expires. */
function parseTtl(text: string): number {
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined)
    throw new CliError(`--ttl ${text}: use a duration like 24h, 90m or 1h30m (0: never expires)`, ExitCode.usage);
  return seconds;
}

async function connect(args: Common) {
  const [{ loadKubeconfig, kubeconfigPath }, { KubeconfigError }, { KubeClient }] = await Promise.all([
    import('../kube/kubeconfig.ts'),
    import('../kube/errors.ts'),
    import('../kube/client.ts'),
  ]);
  try {
    const config = loadKubeconfig(kubeconfigPath(args.kubeconfig, defaultKubeconfig));
    return { config, client: new KubeClient(config.client) };
  } catch (err) {
    if (err instanceof KubeconfigError)
      throw new CliError(`${err.message} (pass --kubeconfig, or run on a server node)`);
    throw err;
  }
}

async function apiFailure(err: unknown, doing: string): Promise<never> {
  const { isApiError } = await import('../kube/errors.ts');
  if (isApiError(err)) throw new CliError(`${doing}: ${err.message}`);
  throw err;
}

interface TokenSecret {
  metadata: { name: string; namespace?: string; creationTimestamp?: string };
  type?: string;
  data?: Record<string, string>;
}

function field(secret: TokenSecret, key: string): string | undefined {
  const value = secret.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

function describeToken(secret: TokenSecret, now: number) {
  const id = field(secret, 'token-id') ?? '';
  const expiration = field(secret, 'expiration');
  const usages = Object.keys(secret.data ?? {})
    .filter((k) => k.startsWith('usage-bootstrap-') && field(secret, k) === 'true')
    .map((k) => k.slice('usage-bootstrap-'.length))
    .sort();
  const ttlSeconds = expiration ? Math.floor((Date.parse(expiration) - now) / 1000) : undefined;
  return {
    token: `${id}.${field(secret, 'token-secret') ?? ''}`,
    ttl: ttlSeconds === undefined ? '<forever>' : ttlSeconds <= 0 ? '<expired>' : humanDuration(ttlSeconds),
    expires: expiration ?? '<never>',
    usages: usages.join(','),
    description: field(secret, 'description') ?? '',
    extraGroups: field(secret, 'auth-extra-groups') ?? '',
  };
}

function humanDuration(seconds: number): string {
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)}h`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)}m`;
  return `${seconds}s`;
}

const create: CommandModule<
  object,
  Common & {
    ttl: string;
    usages: string[];
    groups: string[];
    description: string;
    'print-join-command': boolean;
    'control-plane': boolean;
    'data-dir': string;
    'encryption-provider-config': string | undefined;
  }
> = {
  command: 'create',
  describe: 'Create a bootstrap token and print it',
  builder: (y) =>
    common(y)
      .option('ttl', { type: 'string', default: '24h', describe: 'How long the token is valid (0: forever)' })
      .option('usages', listOption('signing (of cluster-info), authentication (join)', ['signing', 'authentication']))
      .option('groups', listOption('Extra groups the token authenticates as', [defaultGroup]))
      .option('description', { type: 'string', default: '', describe: 'A note for people' })
      .option('print-join-command', { type: 'boolean', default: false, describe: 'Print the full bosun join command' })
      .option('control-plane', {
        type: 'boolean',
        default: false,
        describe:
          'A token that joins another server (bosun server join): uploads the shared keys, sealed for two hours under a certificate key printed after the token',
      })
      .option('data-dir', {
        type: 'string',
        default: '/var/lib/bosun/server',
        describe: "With --control-plane: this server's data folder, whose pki/ is uploaded",
      })
      .option('encryption-provider-config', {
        type: 'string',
        describe: `With --control-plane: the server's EncryptionConfiguration (default: ${defaultEncryptionConfig} when present)`,
      }),
  handler: async (args) => {
    const ttl = parseTtl(args.ttl);
    if (args['control-plane']) return await createControlPlaneToken(args, ttl);
    const usages = args.usages;
    const unknown = usages.filter((u) => u !== 'signing' && u !== 'authentication');
    if (unknown.length > 0)
      throw new CliError(
        `--usages: unknown usage ${unknown.join(', ')}; use signing and/or authentication`,
        ExitCode.usage,
      );
    const groups = args.groups;
    const badGroup = groups.find((g) => !/^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/.test(g));
    if (badGroup) throw new CliError(`--groups: ${badGroup} must start with system:bootstrappers:`, ExitCode.usage);
    const [{ caCertHash }, { createBootstrapToken }] = await Promise.all([
      import('../kube/bootstrap.ts'),
      import('../host/init/bootstrap-token.ts'),
    ]);
    const { config, client } = await connect(args);
    let text = '';
    try {
      text = await createBootstrapToken(client, { ttlSeconds: ttl, usages, groups, description: args.description });
    } catch (err) {
      await apiFailure(err, 'creating the token');
    } finally {
      client.close();
    }
    if (args['print-join-command']) {
      process.stdout.write(
        `bosun join ${config.client.server} --token ${text} --discovery-token-ca-cert-hash ${caCertHash(config.client.ca)}\n`,
      );
    } else {
      process.stdout.write(`${text}\n`);
    }
  },
};

const defaultEncryptionConfig = '/etc/bosun/encryption-config.yaml';

/** `--control-plane`: upload the sealed material, print the token and the key (or the whole command). */
async function createControlPlaneToken(
  args: Common & {
    'print-join-command': boolean;
    'data-dir': string;
    'encryption-provider-config': string | undefined;
  },
  ttl: number,
): Promise<void> {
  const [{ caCertHash }, { uploadControlPlaneMaterial }, { existsSync }] = await Promise.all([
    import('../kube/bootstrap.ts'),
    import('../host/init/upload-control-plane-material.ts'),
    import('node:fs'),
  ]);
  const encryptionConfigPath =
    args['encryption-provider-config'] ?? (existsSync(defaultEncryptionConfig) ? defaultEncryptionConfig : undefined);
  const { config, client } = await connect(args);
  let upload;
  try {
    upload = await uploadControlPlaneMaterial(client, {
      serverDataDir: args['data-dir'],
      encryptionConfigPath,
      tokenTtlSeconds: ttl,
    });
    // the printed command works at once: cluster-info is signed for the new token first
    const { waitClusterInfoSigned } = await import('../host/init/wait-cluster-info.ts');
    await waitClusterInfoSigned(client, upload.token);
  } catch (err) {
    // a missing file or an API refusal: one line either way
    throw new CliError(`uploading the control-plane material: ${(err as Error).message}`);
  } finally {
    client.close();
  }
  process.stderr.write(
    `[token] control-plane material uploaded, sealed, until ${upload.expires ?? 'deleted'}; keep the certificate key secret\n`,
  );
  if (args['print-join-command']) {
    process.stdout.write(
      `bosun server join ${config.client.server} --token ${upload.token} --discovery-token-ca-cert-hash ${caCertHash(config.client.ca)} --certificate-key ${upload.certificateKey}\n`,
    );
  } else {
    process.stdout.write(`${upload.token}\n${upload.certificateKey}\n`);
  }
}

const list: CommandModule<object, Common> = {
  command: 'list',
  describe: 'List bootstrap tokens',
  builder: (y) => common(y),
  handler: async (args) => {
    const { refs } = await import('../kube/resource-ref.ts');
    const { client } = await connect(args);
    let secrets: TokenSecret[] = [];
    try {
      const result = await client.list(refs.secrets, { namespace: 'kube-system', fieldSelector: `type=${secretType}` });
      secrets = (result.items as unknown as TokenSecret[]).filter((s) => s.type === secretType);
    } catch (err) {
      await apiFailure(err, 'listing tokens');
    } finally {
      client.close();
    }
    const tokens = secrets.map((s) => describeToken(s, Date.now())).sort((a, b) => a.token.localeCompare(b.token));
    if (args.output === 'json') {
      process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
      return;
    }
    if (args.output === 'yaml') {
      const yaml = (await import('js-yaml')).default;
      process.stdout.write(yaml.dump(tokens));
      return;
    }
    const rows = [
      ['TOKEN', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION', 'EXTRA GROUPS'],
      ...tokens.map((t) => [t.token, t.ttl, t.expires, t.usages, t.description || '<none>', t.extraGroups]),
    ];
    process.stdout.write(columnsText(rows));
  },
};

const remove: CommandModule<object, Common & { tokens: string[] }> = {
  command: 'delete <tokens..>',
  describe: 'Delete bootstrap tokens (by id or whole token)',
  builder: (y) => requiredPositional(common(y), 'tokens', { type: 'string', array: true }),
  handler: async (args) => {
    const { bootstrapTokenSecretName } = await import('../kube/bootstrap.ts');
    const { refs } = await import('../kube/resource-ref.ts');
    const ids = args.tokens.map((t) => String(t).split('.')[0]!);
    const bad = ids.find((id) => !/^[a-z0-9]{6}$/.test(id));
    if (bad !== undefined)
      throw new CliError(`${bad} is not a token id (6 lower-case letters or digits) or a token`, ExitCode.usage);
    const { client } = await connect(args);
    try {
      for (const id of ids) {
        try {
          await client.delete(refs.secrets, bootstrapTokenSecretName(id), { namespace: 'kube-system' });
          process.stdout.write(`bootstrap token "${id}" deleted\n`);
        } catch (err) {
          await apiFailure(err, `deleting token ${id}`);
        }
      }
    } finally {
      client.close();
    }
  },
};

export const tokenCommand: CommandModule = {
  command: 'token <command>',
  describe: 'Manage bootstrap tokens that nodes join with',
  builder: (y) =>
    y
      .command(create as unknown as CommandModule)
      .command(list as unknown as CommandModule)
      .command(remove as unknown as CommandModule)
      .demandCommand(1, 'name a token command; see bosun token --help'),
  handler: () => undefined,
};
