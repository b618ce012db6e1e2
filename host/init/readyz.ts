/** Whether the API server on this machine answers /readyz with 200, verified against the cluster CA. */
import { get } from 'node:https';

export function readyz(port: number, caPem: string | Buffer, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get({ host, port, path: '/readyz', ca: caPem, timeout: 2_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => {
      request.destroy();
      resolve(false);
    });
  });
}
