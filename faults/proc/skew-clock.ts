// Preload (`--import`) that shifts this process's wall clock by SKEW_MS:
// Date.now(), new Date() and performance.now(). The queue must not care: every
// time it compares is the database's (db/clock.ts); its own monotonic timers
// only ever take differences, which a constant shift leaves alone.
const skew = Number(process.env.SKEW_MS ?? 0);

if (skew !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class SkewedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(realNow() + skew);
      else super(...(args as [number]));
    }
    static override now() {
      return realNow() + skew;
    }
  }
  globalThis.Date = SkewedDate as DateConstructor;
  const realPerformanceNow = performance.now.bind(performance);
  performance.now = () => realPerformanceNow() + skew;
}
