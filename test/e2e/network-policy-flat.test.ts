/** NetworkPolicy on two sandbox nodes on one segment (host-gw between them); see network-policy-scenario.ts. */
import { networkPolicyScenario } from './network-policy-scenario.ts';

networkPolicyScenario('flat');
