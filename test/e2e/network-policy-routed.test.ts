/** NetworkPolicy on two sandbox nodes on two segments (VXLAN between them); see network-policy-scenario.ts. */
import { networkPolicyScenario } from './network-policy-scenario.ts';

networkPolicyScenario('routed');
