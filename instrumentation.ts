// Next.js calls register() once when the server starts. With
// SLUICE_IN_PROCESS_WORKER=true the web server also runs the pipeline worker
// (single-node install); otherwise `npm run worker` processes do.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getEnv } = await import("./server/env");
  if (!getEnv().SLUICE_IN_PROCESS_WORKER) return;
  const { startEmbeddedWorker } = await import("./server/pipeline/embedded");
  startEmbeddedWorker();
}
