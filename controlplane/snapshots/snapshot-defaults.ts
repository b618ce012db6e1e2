/** k3s' snapshot defaults: every 12 hours, the 5 newest scheduled snapshots kept. Own module: the CLI reads them at start-up. */
export const defaultSnapshotCron = '0 */12 * * *';
export const defaultSnapshotRetention = 5;
