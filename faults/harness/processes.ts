// The processes of a fault run: publishers, consumers and any other script
// speaking the line protocol, each in a slot that survives its process. The
// harness starts them, kills (SIGKILL) or stops (SIGTERM) them, freezes
// them (SIGSTOP), restarts them as a new incarnation of the same slot, and
// feeds what they print to the ledger.

import type { ConsumerConfig } from "@/faults/proc/consumer";
import type { ChildLine } from "@/faults/proc/lines";
import type { PublisherConfig } from "@/faults/proc/publisher";
import { pause } from "@/faults/wait";
import type { SubscriptionInput } from "@/server/queue";
import { Child, type ChildSpec } from "./child";
import type { FetchTracker, Ledger } from "./ledger";

/** A clock shift preloaded into the process (proc/skew-clock.ts), ms. */
interface Skew {
  skewMs?: number;
}

export type PublisherSpec = Omit<PublisherConfig, "url" | "name"> & Skew;
export type ConsumerSpec = Omit<ConsumerConfig, "url" | "consumer" | "subscriberName" | "options"> &
  Skew & {
    /** Over the harness's subscription options. */
    options?: Partial<SubscriptionInput>;
  };
/** Any other script: it prints the ready line, and may print fatal. */
export type ProcessSpec = Pick<ChildSpec, "script" | "args">;

/** A role a process plays; restarting it starts a new incarnation of the same slot. */
export interface Slot {
  readonly base: string;
  readonly kind: "publisher" | "consumer" | "process";
  incarnation: number;
  child?: Child;
  /** Left stopped: the drain does not bring it back. */
  retired: boolean;
  /** A consumer incarnation's deliveries without an outcome yet. */
  fetches?: FetchTracker;
}

type AnySlot =
  | (Slot & { kind: "publisher"; spec: PublisherSpec })
  | (Slot & { kind: "consumer"; spec: ConsumerSpec })
  | (Slot & { kind: "process"; spec: ProcessSpec });

export interface ProcessContext {
  url: string;
  ledger: Ledger;
  /** Process failures the harness did not cause (crashes, refused graceful stops). */
  problems: string[];
  log(line: string): void;
  /** Every line of every process, after the ledger took it. */
  heard(line: ChildLine, slot: Slot): void;
  subscription: Partial<SubscriptionInput>;
  stopGraceMs: number;
}

export class Processes {
  kills = 0;
  terminations = 0;
  restarts = 0;
  private readonly slots: AnySlot[] = [];
  private readonly loose = new Set<Child>();
  private readonly frozen = new Set<Slot>();
  private readonly background = new Set<Promise<void>>();

  constructor(private readonly ctx: ProcessContext) {}

  startPublisher(base: string, spec: PublisherSpec): Promise<Slot> {
    return this.add({ base, kind: "publisher", incarnation: 0, retired: false, spec });
  }

  startConsumer(base: string, spec: ConsumerSpec): Promise<Slot> {
    return this.add({ base, kind: "consumer", incarnation: 0, retired: false, spec });
  }

  startProcess(base: string, spec: ProcessSpec): Promise<Slot> {
    return this.add({ base, kind: "process", incarnation: 0, retired: false, spec });
  }

  /** Runs a script to its end (killed after `timeoutMs`); returns its lines and how it exited. */
  async runToEnd(name: string, spec: ChildSpec, timeoutMs: number) {
    const lines: ChildLine[] = [];
    const child = new Child(name, spec, (l) => lines.push(l));
    this.loose.add(child);
    const inTime = await child.exitWithin(timeoutMs);
    if (!inTime) {
      child.signal("SIGKILL");
      await child.closed;
    }
    this.loose.delete(child);
    return { lines, exit: child.exit as NonNullable<Child["exit"]>, inTime, why: child.why() };
  }

  private async add(slot: AnySlot): Promise<Slot> {
    // Names end up in message ids and record streams: two slots of one name would mix them up.
    if (this.slots.some((s) => s.base === slot.base))
      throw new Error(`a process slot named ${slot.base} already exists`);
    this.slots.push(slot);
    await this.launch(slot);
    return slot;
  }

  consumers(group?: string): Slot[] {
    return this.slots.filter((s) => s.kind === "consumer" && (group === undefined || s.spec.group === group));
  }

  publishers(): Slot[] {
    return this.slots.filter((s) => s.kind === "publisher");
  }

  running(slot: Slot): boolean {
    return slot.child?.running ?? false;
  }

  /** Running and past start-up: the ones worth striking. */
  live(slots: Slot[]): Slot[] {
    return slots.filter((s) => s.child?.running && s.child.isReady);
  }

  /** Deliveries the slots' current incarnations hold without an outcome: what a fault striking now may duplicate. */
  outstanding(slots: Slot[] = this.consumers()): number {
    return slots.reduce((n, s) => n + (s.fetches?.outstanding ?? 0), 0);
  }

  /** Restarts the slot after `delayMs` without waiting for it; `settle()` waits for every such restart. */
  restartLater(slot: Slot, delayMs: number): void {
    this.track(`restart of ${slot.base}`, () => pause(delayMs).then(() => this.restart(slot)));
  }

  /** Runs work in the background; `settle()` waits for it and a failure becomes a problem. */
  track(what: string, work: () => Promise<unknown>): void {
    const task = work().then(
      () => {},
      (err: unknown) => {
        this.ctx.problems.push(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
    this.background.add(task);
    void task.finally(() => this.background.delete(task));
  }

  /** Waits for the background work under way. */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  /** Starts the slot's next incarnation and waits until it is ready. */
  async restart(slot: Slot): Promise<void> {
    if (this.running(slot)) throw new Error(`${slot.base} is still running`);
    slot.retired = false;
    this.restarts++;
    await this.launch(slot as AnySlot);
  }

  /**
   * SIGKILL; resolves once the process is gone. Returns what it had in flight:
   * a consumer's deliveries without a printed outcome, a publisher's
   * publishes attempted but not acknowledged.
   */
  async kill(slot: Slot): Promise<number> {
    const child = slot.child;
    if (!child?.running) return 0;
    const { ledger } = this.ctx;
    const before = ledger.inFlight.length + ledger.unackedAtKill;
    child.signal("SIGKILL");
    this.kills++;
    await child.closed;
    return ledger.inFlight.length + ledger.unackedAtKill - before;
  }

  /**
   * SIGKILL `delayMs` after the publisher's next attempt line, so the kill
   * lands inside publish(). Returns what `kill` returns.
   */
  async killMidPublish(slot: Slot, delayMs: number): Promise<number> {
    const child = slot.child;
    if (!child?.running) return 0;
    await new Promise<void>((resolve) => {
      child.watchers.add((line) => {
        if (line.t !== "pub" || line.acked) return false;
        resolve();
        return true;
      });
      void child.closed.then(() => resolve());
    });
    if (delayMs > 0) await pause(delayMs);
    return this.kill(slot);
  }

  /** SIGTERM, the graceful stop; a process that does not exit in time is killed and reported. */
  async terminate(slot: Slot, timeoutMs = this.ctx.stopGraceMs): Promise<void> {
    const child = slot.child;
    if (!child?.running) return;
    child.signal("SIGTERM");
    this.terminations++;
    if (await child.exitWithin(timeoutMs)) return;
    this.ctx.problems.push(`${child.name} did not stop within ${timeoutMs} ms of SIGTERM`);
    child.signal("SIGKILL");
    await child.closed;
  }

  /** Stops the slot and keeps it stopped through the drain. */
  async retire(slot: Slot, how: "SIGTERM" | "SIGKILL"): Promise<void> {
    slot.retired = true;
    if (how === "SIGKILL") await this.kill(slot);
    else await this.terminate(slot);
  }

  /** Ends the traffic: every publisher stops gracefully, finishing the publish it is in. */
  async stopPublishers(): Promise<void> {
    const live = this.publishers().filter((s) => this.running(s));
    for (const s of live) s.retired = true;
    await Promise.all(live.map((s) => this.terminate(s)));
  }

  /** SIGSTOP (frozen) or SIGCONT: the process keeps its connections and leases but does nothing. */
  freeze(slot: Slot, frozen: boolean): void {
    slot.child?.freeze(frozen);
    if (frozen) this.frozen.add(slot);
    else this.frozen.delete(slot);
  }

  /** Kills whatever still runs. */
  async closeAll(): Promise<void> {
    await this.settle();
    for (const s of this.frozen) s.child?.freeze(false);
    const live = [...this.slots.map((s) => s.child), ...this.loose].filter((c): c is Child => c?.running === true);
    for (const c of live) c.signal("SIGKILL");
    await Promise.all(live.map((c) => c.closed));
  }

  private async launch(slot: AnySlot): Promise<void> {
    slot.incarnation++;
    const name = `${slot.base}_${slot.incarnation}`;
    const { ledger, url } = this.ctx;
    let see: (line: ChildLine) => void = () => {};
    let onKilled = () => {};
    let spec: ChildSpec;
    slot.fetches = undefined;
    if (slot.kind === "publisher") {
      const { skewMs, ...rest } = slot.spec;
      const config: PublisherConfig = { ...rest, url, name };
      const track = ledger.publisherTrack();
      see = (l) => track.see(l);
      onKilled = () => {
        ledger.unackedAtKill += track.attempted;
      };
      spec = { script: "publisher", args: [JSON.stringify(config)], ...skewed(skewMs) };
    } else if (slot.kind === "consumer") {
      const { skewMs, options, ...rest } = slot.spec;
      const config: ConsumerConfig = {
        ...rest,
        options: { ...this.ctx.subscription, ...options },
        url,
        subscriberName: slot.base,
        consumer: name,
      };
      const tracker = ledger.consumerTrack(rest.group, rest.topic, name);
      slot.fetches = tracker;
      see = (l) => tracker.see(l);
      // Fetched with no outcome printed: the ack may or may not have committed.
      onKilled = () => ledger.killed(tracker);
      spec = { script: "consumer", args: [JSON.stringify(config)], ...skewed(skewMs) };
    } else spec = slot.spec;
    const child = new Child(name, spec, (line) => {
      see(line);
      if (line.t === "puberr" && !line.retrying) this.ctx.log(`${name} gave a publish up: ${line.error}`);
      else if (line.t === "fatal") this.ctx.log(`${name} crashed: ${line.error.split("\n")[0]}`);
      this.ctx.heard(line, slot);
    });
    slot.child = child;
    void child.closed.then((exit) => {
      if (child.signalled === "SIGKILL" || child.failed) onKilled();
      if (child.failed) this.ctx.problems.push(`${name} exited with ${exit.signal ?? exit.code}: ${child.why()}`);
    });
    // A process the harness itself struck during start-up is the fault, not a failure.
    await child.ready.catch((err: unknown) => {
      if (!child.signalled) throw err;
    });
  }
}

function skewed(skewMs: number | undefined): Pick<ChildSpec, "preload" | "env"> {
  return skewMs === undefined ? {} : { preload: "skew-clock.ts", env: { SKEW_MS: String(skewMs) } };
}
