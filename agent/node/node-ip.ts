/**
 * The node's InternalIP when --node-ip is not given: the IPv4 address of the interface that holds
 * the default route (what peers most likely reach us on), else the first non-loopback IPv4.
 */
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';

/** The interface of the default route in a /proc/net/route text, if there is one. */
export function defaultRouteInterface(routeTable: string): string | undefined {
  for (const line of routeTable.split('\n').slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
    if (destination === '00000000' && mask === '00000000') return iface;
  }
  return undefined;
}

export async function detectNodeIP(): Promise<string | undefined> {
  const table = await readFile('/proc/net/route', 'utf8').catch(() => '');
  const interfaces = networkInterfaces();
  const ipv4 = (name: string) => interfaces[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  const viaDefault = defaultRouteInterface(table);
  if (viaDefault !== undefined && ipv4(viaDefault) !== undefined) return ipv4(viaDefault);
  for (const name of Object.keys(interfaces)) {
    const address = ipv4(name);
    if (address !== undefined) return address;
  }
  return undefined;
}
