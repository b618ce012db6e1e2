/**
 * client-go's leader election gauge, leader_election_master_status{name}: 1 while this process
 * leads the lease, 0 while it stands by, so a dashboard shows which server runs the controllers.
 */
import { PrometheusText } from '../../kube/prometheus-text.ts';

export function leaderElectionMetrics(leases: readonly { readonly name: string; isLeader(): boolean }[]): string {
  const text = new PrometheusText().family(
    'leader_election_master_status',
    'gauge',
    'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
  );
  for (const lease of leases)
    text.sample('leader_election_master_status', { name: lease.name }, lease.isLeader() ? 1 : 0);
  return text.text();
}
