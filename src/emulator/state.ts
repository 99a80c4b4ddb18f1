// The emulator's in-memory state: apps, instances, deployments, and change notification.
import { servicePorts } from './app-def.ts';
import { isListed, taskId } from './json.ts';
import type { AppRecord, Deployment, Instance } from './types.ts';

export class Store {
  readonly apps = new Map<string, AppRecord>();
  readonly instances = new Map<string, Instance>();
  readonly deployments = new Map<string, Deployment>();
  #waiters = new Set<() => void>();
  #seq = 0;
  #closed = false;

  nextSeq(): number {
    return ++this.#seq;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Call after every mutation: wakes everything waiting for a condition. */
  changed(): void {
    for (const w of [...this.#waiters]) w();
  }

  /**
   * Resolves true once `pred()` holds, false when `abort()` turns true, the store closes, or the timeout expires.
   * Re-checked on every change.
   */
  waitFor(pred: () => boolean, abort: () => boolean = () => false, timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        let result: boolean | undefined;
        if (this.#closed || abort()) result = false;
        else if (pred()) result = true;
        if (result === undefined) return;
        this.#waiters.delete(check);
        if (timer !== undefined) clearTimeout(timer);
        resolve(result);
      };
      this.#waiters.add(check);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => { this.#waiters.delete(check); resolve(false); }, timeoutMs);
        timer.unref();
      }
      check();
    });
  }

  close(): void {
    this.#closed = true;
    this.changed();
  }

  instancesOf(appId: string): Instance[] {
    return [...this.instances.values()].filter((i) => i.appId === appId).sort((a, b) => a.seq - b.seq);
  }

  findTask(id: string): Instance | undefined {
    for (const inst of this.instances.values()) {
      if (taskId(inst) === id || inst.instanceId === id) return inst;
    }
    return undefined;
  }

  deploymentsOf(appId: string): Deployment[] {
    return [...this.deployments.values()].filter((d) => d.affectedApps.includes(appId));
  }

  /** Service ports used by apps other than `exceptAppId`. */
  takenServicePorts(exceptAppId?: string): Set<number> {
    const out = new Set<number>();
    for (const [id, rec] of this.apps) {
      if (id === exceptAppId) continue;
      for (const p of servicePorts(rec.spec)) if (p !== 0) out.add(p);
    }
    return out;
  }

  listedTasks(appId: string): Instance[] {
    return this.instancesOf(appId).filter(isListed);
  }
}
