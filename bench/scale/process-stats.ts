/** RSS and CPU time of a process by PID, from /proc (Linux); undefined once it has gone. */
import { readFileSync } from 'node:fs';

const ticksPerSecond = 100;

interface ProcessSample {
  rssBytes: number;
  cpuSeconds: number;
}

function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    // fields after the command name (which may hold spaces) start at state; utime/stime are 14/15
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    return { rssBytes: rssKb * 1024, cpuSeconds: cpuTicks / ticksPerSecond };
  } catch {
    return undefined;
  }
}

/** Follows a set of processes: peak RSS (of their sum) and CPU seconds used since start(). */
export class ProcessWatch {
  readonly #pids: () => readonly number[];
  #startCpu = 0;
  #startedAt = 0;
  peakRssBytes = 0;
  lastRssBytes = 0;

  constructor(pids: () => readonly number[]) {
    this.#pids = pids;
  }

  #total(): ProcessSample {
    let rssBytes = 0;
    let cpuSeconds = 0;
    for (const pid of this.#pids()) {
      const sample = sampleProcess(pid);
      if (sample) {
        rssBytes += sample.rssBytes;
        cpuSeconds += sample.cpuSeconds;
      }
    }
    return { rssBytes, cpuSeconds };
  }

  start(): void {
    const total = this.#total();
    this.#startCpu = total.cpuSeconds;
    this.#startedAt = performance.now();
    this.peakRssBytes = total.rssBytes;
    this.lastRssBytes = total.rssBytes;
  }

  /** Call often: RSS peaks are only seen when sampled. */
  sample(): void {
    const total = this.#total();
    this.lastRssBytes = total.rssBytes;
    this.peakRssBytes = Math.max(this.peakRssBytes, total.rssBytes);
  }

  /** CPU seconds since start() and the share of one core they are over the elapsed time (%). */
  cpu(): { seconds: number; pct: number } {
    const seconds = this.#total().cpuSeconds - this.#startCpu;
    const elapsed = (performance.now() - this.#startedAt) / 1000;
    return {
      seconds: Math.round(seconds * 10) / 10,
      pct: elapsed > 0 ? Math.round((seconds / elapsed) * 1000) / 10 : 0,
    };
  }
}
