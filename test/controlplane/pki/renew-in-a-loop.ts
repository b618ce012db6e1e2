/**
 * A child process for the crash test, until it is killed: `renew` issues every control-plane
 * certificate of the data dir in argv[2] again, round after round (the real renewal path, key
 * generation included); `rewrite` issues a few pairs once and then only writes them in turn (the
 * write step alone, so a kill lands inside it often). Prints `round <n>` after each round.
 */
import { ensureClusterPki } from '../../../controlplane/pki/cluster-pki.ts';
import { certificateNames, controlPlaneCertificates } from '../../../controlplane/pki/control-plane-certificates.ts';
import { issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { writeKeyPair } from '../../../kube/key-pair-files.ts';

const [dataDir, mode] = [process.argv[2]!, process.argv[3]];
const options = { dataDir, serverNames: [], serverUrl: 'https://127.0.0.1:6443', serviceIP: '10.96.0.1' };
const renew = new Set(certificateNames);
const pki = ensureClusterPki(options);
const pool = controlPlaneCertificates.map((c) => ({
  file: c.file,
  pairs: [0, 1].map(() => issueCertificate(pki.ca, c.request(['localhost']))),
}));
for (let round = 1; ; round++) {
  if (mode === 'rewrite') for (const { file, pairs } of pool) writeKeyPair(`${dataDir}/pki`, file, pairs[round % 2]!);
  else ensureClusterPki({ ...options, renew });
  process.stdout.write(`round ${round}\n`);
}
