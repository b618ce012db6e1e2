/** The address the server advertises: the flag, else this machine's default-route address (as kubeadm picks it). */
import { CliError, ExitCode } from './exit.ts';

const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export async function advertiseAddress(flag: string | undefined): Promise<string> {
  let address = flag;
  if (address === undefined) {
    const { detectNodeIP } = await import('../agent/node/node-ip.ts');
    address = await detectNodeIP();
    if (address === undefined)
      throw new CliError('this machine has no IPv4 address to advertise; pass --advertise-address', ExitCode.usage);
  }
  if (!ipv4.test(address)) throw new CliError(`--advertise-address ${address} is not an IPv4 address`, ExitCode.usage);
  return address;
}
