/**
 * pods/<name>/ephemeralcontainers, as upstream serves it for `kubectl debug`: the only way to add a
 * container to a running pod, taking nothing of the request but spec.ephemeralContainers, validated
 * as upstream's ValidatePodEphemeralContainersUpdate, and authorized as its own subresource.
 */
import test from 'ava';
import { call, userIdentity, type HttpReply, type Identity } from '../server-process.ts';
import { sharedInProcess } from '../in-process.ts';

const shared = sharedInProcess(test);

const podPath = (name: string) => `/api/v1/namespaces/default/pods/${name}`;
const strategic = 'application/strategic-merge-patch+json';

function endpoint(): { dataDir: string; port: number } {
  const s = shared.server();
  return { dataDir: s.dataDir, port: Number(new URL(s.server.url).port) };
}

function admin(): Identity {
  const { admin: config } = shared.server();
  return { cert: config.cert, key: config.key };
}

function send(
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
  identity: Identity = admin(),
): Promise<HttpReply> {
  return call(endpoint(), method, path, identity, body, contentType);
}

async function createPod(name: string, annotations?: Record<string, string>): Promise<void> {
  const reply = await send('POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: {
      initContainers: [{ name: 'setup', image: 'busybox:1.36' }],
      containers: [{ name: 'app', image: 'busybox:1.36' }],
    },
  });
  if (reply.status !== 201) throw new Error(`creating pod ${name}: ${reply.status} ${JSON.stringify(reply.body)}`);
}

/** What `kubectl debug -it pod/<name> --image=busybox:1.36 --target=app -- sh` sends (strategic merge patch). */
function debugPatch(container: Record<string, unknown>): { spec: Record<string, unknown> } {
  return {
    spec: {
      ephemeralContainers: [
        {
          name: 'debugger',
          image: 'busybox:1.36',
          command: ['sh'],
          stdin: true,
          tty: true,
          targetContainerName: 'app',
          ...container,
        },
      ],
    },
  };
}

test.serial(
  'a patch through pods/<name>/ephemeralcontainers adds the container, defaulted, and changes nothing else',
  async (t) => {
    await createPod('web');
    const before = (await send('GET', podPath('web'))).body;
    const patch = { ...debugPatch({}), metadata: { labels: { sneaked: 'in' } } };
    patch.spec.containers = [{ name: 'app', image: 'busybox:1.37' }];
    const reply = await send('PATCH', `${podPath('web')}/ephemeralcontainers`, patch, strategic);
    t.is(reply.status, 200, JSON.stringify(reply.body));
    t.is(reply.body.kind, 'Pod');
    const stored = (await send('GET', `${podPath('web')}/ephemeralcontainers`)).body;
    t.like(stored.spec.ephemeralContainers[0], {
      name: 'debugger',
      image: 'busybox:1.36',
      targetContainerName: 'app',
      imagePullPolicy: 'IfNotPresent',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
    });
    t.is(stored.spec.containers[0].image, 'busybox:1.36', 'only spec.ephemeralContainers is taken from the request');
    t.is(stored.metadata.labels, undefined);
    t.not(stored.metadata.resourceVersion, before.metadata.resourceVersion);
  },
);

test.serial(
  'an update of the main resource cannot add an ephemeral container, and a new pod cannot carry one',
  async (t) => {
    await createPod('plain');
    const pod = (await send('GET', podPath('plain'))).body;
    pod.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox:1.36' }];
    const put = await send('PUT', podPath('plain'), pod);
    t.is(put.status, 422);
    t.regex(
      put.body.message,
      /^Pod "plain" is invalid: spec: Forbidden: pod updates may not change fields other than /,
    );
    t.is((await send('GET', podPath('plain'))).body.spec.ephemeralContainers, undefined, 'nothing stored');

    const created = await send('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'born-debugged' },
      spec: {
        containers: [{ name: 'app', image: 'busybox:1.36' }],
        ephemeralContainers: [{ name: 'debugger', image: 'busybox:1.36' }],
      },
    });
    t.is(created.status, 422);
    t.is(
      created.body.message,
      'Pod "born-debugged" is invalid: spec.ephemeralContainers: Forbidden: cannot be set on create',
    );
    t.is((await send('GET', podPath('born-debugged'))).status, 404);
  },
);

test.serial('ephemeral containers are refused as upstream refuses them, and nothing is stored', async (t) => {
  await createPod('checked');
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'a target that is not a container of the pod',
      { targetContainerName: 'nope' },
      'spec.ephemeralContainers[0].targetContainerName: Not found: "nope"',
    ],
    ['a name taken by a container', { name: 'app' }, 'spec.ephemeralContainers[0].name: Duplicate value: "app"'],
    [
      'a name taken by an init container',
      { name: 'setup' },
      'spec.ephemeralContainers[0].name: Duplicate value: "setup"',
    ],
    [
      'ports',
      { ports: [{ containerPort: 80 }] },
      'spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container',
    ],
    [
      'resources',
      { resources: { limits: { cpu: '1' } } },
      'spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container',
    ],
    [
      'a probe',
      { readinessProbe: { exec: { command: ['true'] } } },
      'spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container',
    ],
    [
      'lifecycle hooks',
      { lifecycle: { preStop: { exec: { command: ['true'] } } } },
      'spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container',
    ],
    ['no image', { image: '' }, 'spec.ephemeralContainers[0].image: Required value'],
    [
      'a bad name',
      { name: 'Debugger' },
      'spec.ephemeralContainers[0].name: Invalid value: "Debugger": a lowercase RFC 1123 label must consist of',
    ],
  ];
  for (const [what, container, message] of cases) {
    const reply = await send('PATCH', `${podPath('checked')}/ephemeralcontainers`, debugPatch(container), strategic);
    t.is(reply.status, 422, what);
    t.is(reply.body.reason, 'Invalid', what);
    t.true(
      String(reply.body.message).startsWith(`Pod "checked" is invalid: ${message}`),
      `${what}: ${reply.body.message}`,
    );
  }
  t.is((await send('GET', podPath('checked'))).body.spec.ephemeralContainers, undefined, 'nothing stored');

  t.is((await send('PATCH', `${podPath('checked')}/ephemeralcontainers`, debugPatch({}), strategic)).status, 200);
  const pod = (await send('GET', `${podPath('checked')}/ephemeralcontainers`)).body;
  const removed = await send('PUT', `${podPath('checked')}/ephemeralcontainers`, {
    ...pod,
    spec: { ...pod.spec, ephemeralContainers: [] },
  });
  t.is(removed.status, 422);
  t.is(
    removed.body.message,
    'Pod "checked" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be removed\n',
  );
  const changed = await send(
    'PATCH',
    `${podPath('checked')}/ephemeralcontainers`,
    debugPatch({ image: 'busybox:1.37' }),
    strategic,
  );
  t.is(changed.status, 422);
  t.is(
    changed.body.message,
    'Pod "checked" is invalid: spec.ephemeralContainers.debugger: Forbidden: existing ephemeral containers "debugger" may not be changed\n',
  );
  const after = (await send('GET', podPath('checked'))).body;
  t.deepEqual(after.spec.ephemeralContainers, pod.spec.ephemeralContainers, 'the stored one is unchanged');

  const second = await send(
    'PATCH',
    `${podPath('checked')}/ephemeralcontainers`,
    { spec: { ephemeralContainers: [{ name: 'debugger-2', image: 'busybox:1.36' }] } },
    strategic,
  );
  t.is(second.status, 200, 'a second one is added beside the first (merged by name)');
  t.deepEqual(
    (second.body.spec.ephemeralContainers as { name: string }[]).map((c) => c.name),
    ['debugger', 'debugger-2'],
  );
});

test.serial(
  'hostile names, paths and sizes through the subresource are 422 and nothing is stored (they would become log paths and mounts on the node)',
  async (t) => {
    await createPod('hostile');
    const hostile: [string, Record<string, unknown>][] = [
      ['a climbing name', { name: '../../etc' }],
      ['a name with a quote and a newline', { name: 'a"\nb' }],
      ['a name of 1 MB', { name: 'x'.repeat(1_000_000) }],
      ['a target that climbs', { targetContainerName: '../app' }],
      ['a relative mount path with ..', { volumeMounts: [{ name: 'nope', mountPath: '../../host' }] }],
      ['a mount of a volume the pod does not have', { volumeMounts: [{ name: 'missing', mountPath: '/m' }] }],
    ];
    for (const [what, container] of hostile) {
      const reply = await send('PATCH', `${podPath('hostile')}/ephemeralcontainers`, debugPatch(container), strategic);
      t.is(reply.status, 422, `${what}: ${JSON.stringify(reply.body).slice(0, 200)}`);
      t.is(reply.body.reason, 'Invalid', what);
    }
    t.is((await send('GET', podPath('hostile'))).body.spec.ephemeralContainers, undefined, 'nothing stored');
    t.is((await call(endpoint(), 'GET', '/readyz', admin())).status, 200);
  },
);

test.serial('static pods take no ephemeral containers', async (t) => {
  await createPod('mirror', { 'kubernetes.io/config.mirror': 'abc' });
  const reply = await send('PATCH', `${podPath('mirror')}/ephemeralcontainers`, debugPatch({}), strategic);
  t.is(reply.status, 422);
  t.is(reply.body.message, 'Pod "mirror" is invalid: : Forbidden: static pods do not support ephemeral containers');
  t.is((await send('GET', podPath('mirror'))).body.spec.ephemeralContainers, undefined);
});

test.serial(
  'view and edit may read a pod but not add an ephemeral container to it (upstream grants neither); nothing changes, the server still answers',
  async (t) => {
    await createPod('guarded');
    for (const [user, role] of [
      ['viewer', 'view'],
      ['editor', 'edit'],
    ] as const) {
      const binding = await send('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
        metadata: { name: `${user}-${role}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      });
      t.is(binding.status, 201);
      const identity = userIdentity(endpoint().dataDir, user);
      let read = await send('GET', podPath('guarded'), undefined, undefined, identity);
      for (let i = 0; i < 100 && read.status === 403; i++) {
        await new Promise((r) => setTimeout(r, 100));
        read = await send('GET', podPath('guarded'), undefined, undefined, identity);
      }
      t.is(read.status, 200, `${user}: the binding is in force`);
      for (const [method, body, type] of [
        ['PATCH', debugPatch({}), strategic],
        ['PUT', { ...read.body, spec: { ...read.body.spec, ...debugPatch({}).spec } }, 'application/json'],
      ] as const) {
        const reply = await send(method, `${podPath('guarded')}/ephemeralcontainers`, body, type, identity);
        t.is(reply.status, 403, `${user} ${method}`);
        t.is(
          reply.body.message,
          `pods "guarded" is forbidden: User "${user}" cannot ${method === 'PUT' ? 'update' : 'patch'} resource "pods/ephemeralcontainers" in API group "" in the namespace "default"`,
        );
      }
      t.is(
        (await send('GET', podPath('guarded'), undefined, undefined, identity)).status,
        200,
        `the server still answers ${user}`,
      );
    }
    t.is((await send('GET', podPath('guarded'))).body.spec.ephemeralContainers, undefined, 'nothing stored');
    t.is(
      (await send('PATCH', `${podPath('guarded')}/ephemeralcontainers`, debugPatch({}), strategic)).status,
      200,
      'cluster-admin may',
    );
  },
);

test.serial(
  'Pod Security judges the added container: under baseline a privileged one is refused and nothing is stored',
  async (t) => {
    t.is(
      (
        await send('POST', '/api/v1/namespaces', {
          metadata: { name: 'guarded-ns', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } },
        })
      ).status,
      201,
    );
    const created = await send('POST', '/api/v1/namespaces/guarded-ns/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app' },
      spec: { containers: [{ name: 'app', image: 'busybox:1.36' }] },
    });
    t.is(created.status, 201);
    const path = '/api/v1/namespaces/guarded-ns/pods/app/ephemeralcontainers';
    const refused = await send('PATCH', path, debugPatch({ securityContext: { privileged: true } }), strategic);
    t.is(refused.status, 403);
    t.is(
      refused.body.message,
      'pods "app" is forbidden: violates PodSecurity "baseline:latest": privileged (container "debugger" must not set securityContext.privileged=true)',
    );
    t.is(
      (await send('GET', '/api/v1/namespaces/guarded-ns/pods/app')).body.spec.ephemeralContainers,
      undefined,
      'nothing stored',
    );
    t.is(
      (await send('PATCH', path, debugPatch({}), strategic)).status,
      200,
      'an ordinary debugging container is let in',
    );
  },
);

test.serial("a workload's pod template may not carry ephemeral containers", async (t) => {
  const reply = await send('POST', '/apis/apps/v1/namespaces/default/deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'templated' },
    spec: {
      selector: { matchLabels: { app: 'templated' } },
      template: {
        metadata: { labels: { app: 'templated' } },
        spec: {
          containers: [{ name: 'app', image: 'busybox:1.36' }],
          ephemeralContainers: [{ name: 'debugger', image: 'busybox:1.36' }],
        },
      },
    },
  });
  t.is(reply.status, 422);
  t.true(
    String(reply.body.message).includes(
      'spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template',
    ),
    reply.body.message,
  );
  t.is((await send('GET', '/apis/apps/v1/namespaces/default/deployments/templated')).status, 404);
});
