/** The agent's clock is the shared one (kube/clock.ts); kept here so the agent's imports stay short. */
export * from '../kube/clock.ts';
