/** Durations on the command line, as kubectl and kubeadm write them: '24h', '90m', '1h30m', '45s', '0'. */
export function parseDurationSeconds(text: string): number | undefined {
  if (text === '0') return 0;
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!match || text === '') return undefined;
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}
