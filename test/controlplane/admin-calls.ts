/** Requests as the cluster admin to a test file's shared in-process server (sharedInProcess), by HTTP or kubectl. */
import type { TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAuditPolicy } from '../../controlplane/audit/policy.ts';
import type { ServerOptions } from '../../controlplane/server.ts';
import { call, type HttpReply, type Identity } from './server-process.ts';
import type { InProcessServer } from './in-process.ts';

interface AdminCalls {
  /** Sends a request (as the admin unless `identity` says otherwise) and returns the reply as it is. */
  send(
    method: string,
    path: string,
    body?: unknown,
    identity?: Identity,
    headers?: Record<string, string>,
  ): Promise<HttpReply>;
  /** Sends a request as the admin; a reply of 300 or more throws with its Status. */
  sendOk(method: string, path: string, body?: unknown): Promise<any>;
}

export function adminCalls(shared: { server(): InProcessServer }): AdminCalls {
  const send: AdminCalls['send'] = (method, path, body, identity, headers = {}) => {
    const { server, dataDir, admin } = shared.server();
    const port = Number(new URL(server.url).port);
    return call(
      { dataDir, port },
      method,
      path,
      identity ?? { cert: admin.cert, key: admin.key },
      body,
      'application/json',
      headers,
    );
  };
  return {
    send,
    sendOk: async (method, path, body) => {
      const reply = await send(method, path, body);
      if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
      return reply.body;
    },
  };
}

interface KubectlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a kubectl binary as the admin against the shared server; never throws. Each binary keeps a
 * discovery cache of its own, so every release reads the server's discovery itself.
 */
export function adminKubectl(shared: { server(): InProcessServer }) {
  return (binary: string, ...args: string[]): Promise<KubectlRun> => {
    const { dataDir } = shared.server();
    const cache = join(dataDir, 'kubectl-cache', binary.replace(/\W+/g, '-'));
    return new Promise((resolve) => {
      execFile(
        binary,
        ['--kubeconfig', join(dataDir, 'admin.kubeconfig'), '--cache-dir', cache, ...args],
        { timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  };
}

/**
 * An audit log at Metadata level for a test file's server (removed after the file's tests), and
 * the completed events of one request, read once the asynchronous writer has them.
 */
export function metadataAuditLog(test: TestFn): {
  readonly audit: NonNullable<ServerOptions['audit']>;
  events(auditId: string): Promise<any[]>;
} {
  const folder = mkdtempSync(join(tmpdir(), `bosun-test-audit-${process.pid}-`));
  const path = join(folder, 'audit.log');
  test.after.always(() => rmSync(folder, { recursive: true, force: true }));
  return {
    audit: {
      policy: parseAuditPolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n'),
      log: { path, maxSizeMB: 10, maxBackups: 1, maxAgeDays: 1 },
    },
    events: async (auditId) => {
      for (let i = 0; i < 100; i++) {
        const events = readFileSync(path, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line))
          .filter((e) => e.auditID === auditId && e.stage === 'ResponseComplete');
        if (events.length > 0) return events;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return [];
    },
  };
}
