/**
 * `bosun certs check-expiration|renew`: the control plane's own certificates, as `kubeadm certs`
 * handles them. check-expiration prints what expires when; renew issues certificates again from the
 * cluster CA (a name, or all) and rewrites admin.kubeconfig with them, here and in the config folder.
 * A running server puts renewed files to use within a minute, without a restart (it also renews
 * them itself once a third of their life is left).
 */
import type { Argv, CommandModule } from 'yargs';
import { CliError, ExitCode } from './exit.ts';
import { requiredPositional } from './typed-args.ts';

interface Common {
  'data-dir': string;
}

const defaultDataDir = '/var/lib/bosun/server';
const defaultConfigDir = '/etc/bosun';

function common<T>(y: Argv<T>): Argv<T & Common> {
  return y.option('data-dir', {
    type: 'string',
    default: defaultDataDir,
    describe: "The server's data folder (bosun server --data-dir): pki/ and admin.kubeconfig",
  }) as Argv<T & Common>;
}

const checkExpiration: CommandModule<object, Common & { output: string }> = {
  command: 'check-expiration',
  describe: "Print when the control plane's certificates and its CA expire",
  builder: (y) =>
    common(y).option('output', { alias: 'o', type: 'string', choices: ['text', 'json', 'yaml'], default: 'text' }),
  handler: async (args) => {
    const { observeExpirations, renderExpirationReport } = await import('../controlplane/pki/expiration-report.ts');
    const report = observeExpirations(args['data-dir']);
    if (report.authority.notAfter === undefined && report.certificates.every((c) => c.notAfter === undefined)) {
      throw new CliError(
        `no certificates under ${args['data-dir']}/pki: is it the server's data folder (bosun server --data-dir)?`,
      );
    }
    const now = Date.now();
    if (args.output === 'text') {
      process.stdout.write(renderExpirationReport(report, now));
      return;
    }
    const entry = (row: { name: string; notAfter: number | undefined; externallyManaged: boolean }) => ({
      name: row.name,
      ...(row.notAfter === undefined
        ? { missing: true }
        : {
            expirationDate: new Date(row.notAfter).toISOString(),
            residualSeconds: Math.trunc((row.notAfter - now) / 1000),
          }),
      externallyManaged: row.externallyManaged,
    });
    const document = {
      certificates: report.certificates.map((c) => ({ ...entry(c), certificateAuthority: report.authority.name })),
      certificateAuthorities: [entry(report.authority)],
    };
    if (args.output === 'json') process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    else process.stdout.write((await import('js-yaml')).default.dump(document));
  },
};

const renew: CommandModule<object, Common & { name: string; 'config-dir': string }> = {
  command: 'renew <name>',
  describe:
    'Issue a control-plane certificate again now: admin.kubeconfig, apiserver, apiserver-kubelet-client, or all',
  builder: (y) =>
    requiredPositional(common(y), 'name', {
      type: 'string',
      describe: 'admin.kubeconfig, apiserver, apiserver-kubelet-client, or all',
    }).option('config-dir', {
      type: 'string',
      default: defaultConfigDir,
      describe: 'Where bosun init put its copy of admin.kubeconfig (rewritten too when it is there)',
    }),
  handler: async (args) => {
    const [
      { renewOnDisk },
      { RenewalRefusedError },
      { certificateNames, controlPlaneCertificates },
      { expiryText },
      { rewriteKubeconfig },
      { existsSync },
      { join },
    ] = await Promise.all([
      import('../controlplane/pki/renew-on-disk.ts'),
      import('../controlplane/errors.ts'),
      import('../controlplane/pki/control-plane-certificates.ts'),
      import('../controlplane/pki/expiration-report.ts'),
      import('../agent/certs/client-cert-rotation.ts'),
      import('node:fs'),
      import('node:path'),
    ]);
    if (args.name !== 'all' && !certificateNames.includes(args.name)) {
      throw new CliError(
        `no certificate named ${args.name}; name one of ${certificateNames.join(', ')}, or all`,
        ExitCode.usage,
      );
    }
    const names = new Set(args.name === 'all' ? certificateNames : [args.name]);
    let pki;
    try {
      pki = renewOnDisk(args['data-dir'], names);
    } catch (err) {
      if (err instanceof RenewalRefusedError) throw new CliError(err.message);
      throw err;
    }
    const copy = join(args['config-dir'], 'admin.kubeconfig');
    if (names.has('admin.kubeconfig') && existsSync(copy)) rewriteKubeconfig(copy, pki.admin.cert, pki.admin.key);
    const pairs = { admin: pki.admin, apiserver: pki.serving, 'apiserver-kubelet-client': pki.kubeletClient } as Record<
      string,
      { cert: string }
    >;
    const { X509Certificate } = await import('node:crypto');
    for (const c of controlPlaneCertificates.filter((c) => names.has(c.name))) {
      const until = expiryText(Date.parse(new X509Certificate(pairs[c.file]!.cert).validTo));
      process.stdout.write(`renewed ${c.name} (${c.purpose}), valid until ${until}\n`);
    }
    if (names.has('admin.kubeconfig'))
      process.stdout.write(`rewrote ${pki.kubeconfigPath}${existsSync(copy) ? ` and ${copy}` : ''}\n`);
    process.stdout.write(
      'A running bosun server puts the renewed certificates to use within a minute, without a restart.\n',
    );
  },
};

export const certsCommand: CommandModule = {
  command: 'certs <command>',
  describe: "Check and renew the control plane's own certificates",
  builder: (y) =>
    y
      .command(checkExpiration as unknown as CommandModule)
      .command(renew as unknown as CommandModule)
      .demandCommand(1, 'name a certs command; see bosun certs --help'),
  handler: () => undefined,
};
