/**
 * Ingresses driven by every kubectl release the tests know (1.27 ... 1.35): `kubectl create
 * ingress` with rules, TLS and a default backend is stored with the default class, `get ing`
 * prints CLASS/HOSTS/ADDRESS/PORTS, `describe` shows the rules, `get ingressclass` shows the
 * built-in class, and a path that climbs out is refused with upstream's words.
 */
import test, { type ExecutionContext } from 'ava';
import { installedKubectlReleases } from './kubectl-releases.ts';
import { useKubectlBed } from './kubectl-bed.ts';

const bed = useKubectlBed({ controllers: false });

async function run(t: ExecutionContext, binary: string, ...args: string[]): Promise<string> {
  const result = await bed.kubectl(args, { binary });
  t.is(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

for (const { release, binary } of installedKubectlReleases()) {
  test.serial(`kubectl ${release} creates, lists, describes Ingresses and sees the default class`, async (t) => {
    const name = `web-${release.replace('.', '')}`;
    const created = await run(
      t,
      binary,
      'create',
      'ingress',
      name,
      '--rule=foo.example.com/api*=api:8080,tls=foo-tls',
      '--rule=bar.example.com/=web:http',
      '--default-backend=web:80',
    );
    t.regex(created, new RegExp(`ingress.networking.k8s.io/${name} created`));
    const listed = (await run(t, binary, 'get', 'ing', name)).split('\n').map((l) => l.split(/\s+/).join(' '));
    t.is(listed[0], 'NAME CLASS HOSTS ADDRESS PORTS AGE');
    t.regex(listed[1] ?? '', new RegExp(`^${name} bosun foo.example.com,bar.example.com 80, 443 \\d+s$`));
    const described = await run(t, binary, 'describe', 'ingress', name);
    t.regex(described, /Ingress Class:\s+bosun/);
    t.regex(described, /foo-tls terminates foo\.example\.com/);
    t.regex(described, /foo\.example\.com\s*\n\s+\/api\s+api:8080/);
    const classes = await run(t, binary, 'get', 'ingressclass', 'bosun');
    t.regex(classes, /bosun\s+bosun\.io\/ingress-proxy\s+<none>/);
    const refused = await bed.kubectl(['create', 'ingress', `${name}-bad`, '--rule=foo.example.com/a/../b=api:8080'], {
      binary,
    });
    t.not(refused.code, 0);
    t.regex(
      refused.stderr,
      /spec\.rules\[0\]\.http\.paths\[0\]\.path: Invalid value: "\/a\/\.\.\/b": must not contain '\/\.\.\/'/,
    );
  });
}
