/** Which way the servers that tests start have their scheduler and controllers reach the API. */
import type { ControllersLoopback } from '../../controlplane/loopback-client.ts';

/**
 * BOSUN_TEST_CONTROLLERS_LOOPBACK=tcp|in-process: how the servers that tests start have their
 * loops reach the API (`--controllers-loopback`), so that the same test files run both ways;
 * unset: the server's default.
 */
export function testLoopback(): ControllersLoopback | undefined {
  const value = process.env.BOSUN_TEST_CONTROLLERS_LOOPBACK;
  if (value === undefined || value === '') return undefined;
  if (value !== 'tcp' && value !== 'in-process')
    throw new Error(`BOSUN_TEST_CONTROLLERS_LOOPBACK must be tcp or in-process, not ${value}`);
  return value;
}
