import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openUtcPool } from "@/db/client";
import { parseRunId } from "@/server/buildrunner/github/ids";
import { MysqlLock } from "@/server/buildrunner/github/lock";
import { RUN_CONCLUSIONS, RUN_STATUSES } from "@/server/buildrunner/github/status";
import { type BuildStatus, IDEMPOTENCY_KEY, UnknownBuildError } from "@/server/buildrunner/types";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { until } from "@/tests/helpers/wait";
import { FakeGitHub } from "./fake-github";
import { addWorkflow, FILE, githubRunner, OWNER, REPO, runIdOf, TOKEN } from "./github-helpers";

const base = [{ uris: ["github://acme/app/pull/1/aaa111"] }];
const head = [{ uris: ["github://acme/app/pull/2/bbb222"] }];
const DISPATCH = `/repos/${OWNER}/${REPO}/actions/workflows/${FILE}/dispatches`;
const LIST = `/repos/${OWNER}/${REPO}/actions/workflows/${FILE}/runs`;

let fake: FakeGitHub;
let db: TestDatabase;

beforeAll(async () => {
  fake = await FakeGitHub.start({ token: TOKEN });
  addWorkflow(fake);
  db = await freshDatabase("ghrun");
});
afterAll(async () => {
  await fake.close();
  await db.drop();
});
beforeEach(() => fake.reset({ runDetails: "supported", listLagMs: 0, cancelTakesEffect: true }));

const dispatches = () => fake.requests.filter((r) => r.path === DISPATCH);

describe("trigger", () => {
  it("dispatches with ref, the mapped inputs and return_run_details, and takes the run id from the answer", async () => {
    const { id } = await githubRunner(fake).trigger("main", base, head, { requester: "ada" });

    expect(fake.runs).toHaveLength(1);
    const run = fake.runs[0];
    expect(id).toBe(`github:${OWNER}/${REPO}/${run?.id}`);
    const [req] = dispatches();
    expect(req?.method).toBe("POST");
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req?.headers["x-github-api-version"]).toBe("2022-11-28");
    const body = req?.body as { ref: string; inputs: Record<string, string>; return_run_details: boolean };
    expect(body.ref).toBe("main");
    expect(body.return_run_details).toBe(true);
    expect(body.inputs).toEqual({
      queue: "main",
      head: JSON.stringify(head),
      base: JSON.stringify(base),
      sluice_id: expect.stringMatching(/^sluice-[0-9a-f]{32}$/),
    });
    expect(run?.display_title).toBe(`Sluice ${body.inputs.sluice_id}`);
    // No idempotency key, no search: one request to dispatch, one to check the run name.
    expect(fake.requests.filter((r) => r.path === LIST)).toHaveLength(0);
  });

  it("is idempotent: the same key finds the run it started instead of dispatching again", async () => {
    const r = githubRunner(fake);
    const first = await r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: "batch:1" });
    const again = await githubRunner(fake).trigger("main", base, head, { [IDEMPOTENCY_KEY]: "batch:1" });
    const other = await r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: "batch:2" });

    expect(again.id).toBe(first.id);
    expect(other.id).not.toBe(first.id);
    expect(dispatches()).toHaveLength(2);
    const search = fake.requests.find((q) => q.path === LIST);
    expect(search?.query.get("event")).toBe("workflow_dispatch");
    expect(search?.query.get("created")).toMatch(/^>=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("starts one run when concurrent triggers of one batch race in different workers (database lock)", async () => {
    const pools = [openUtcPool(db.url, { connectionLimit: 2 }), openUtcPool(db.url, { connectionLimit: 2 })];
    try {
      // Two workers, each with its own runner and connections, the run listed only after a lag.
      fake.reset({ runDetails: "ignored", listLagMs: 300 });
      const runners = pools.map((pool) => githubRunner(fake, { lock: new MysqlLock(pool) }));
      const meta = { [IDEMPOTENCY_KEY]: "batch:race" };
      const ids = await Promise.all([0, 1, 0, 1].map((i) => runners[i]?.trigger("main", base, head, meta)));

      expect(new Set(ids.map((x) => x?.id)).size).toBe(1);
      expect(fake.runs).toHaveLength(1);
      expect(dispatches()).toHaveLength(1);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it("falls back to the run name when the server refuses return_run_details, and remembers", async () => {
    fake.reset({ runDetails: "rejected", listLagMs: 150 });
    const r = githubRunner(fake);
    const { id } = await r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: "batch:old-ghes" });
    expect(runIdOf(id)).toBe(fake.runs[0]?.id);
    expect(fake.runs).toHaveLength(1);
    const sent = dispatches().map((q) => "return_run_details" in (q.body as object));
    expect(sent).toEqual([true, false]);

    await r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: "batch:old-ghes-2" });
    expect(dispatches().map((q) => "return_run_details" in (q.body as object))).toEqual([true, false, false]);
  });

  it("finds the run among foreign ones across pages when the answer carries no details (204)", async () => {
    fake.reset({ runDetails: "ignored" });
    for (let i = 0; i < 120; i++) fake.addForeignRun(`${OWNER}/${REPO}`, FILE, `nightly ${i}`);
    const r = githubRunner(fake);
    const { id } = await r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: "batch:paged" });
    expect(runIdOf(id)).toBe(fake.runs.at(-1)?.id);
    // An older run of the same batch, pushed to page 2 by newer foreign runs, is found by a retry.
    for (let i = 0; i < 150; i++) fake.addForeignRun(`${OWNER}/${REPO}`, FILE, `nightly b${i}`);
    const again = await r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: "batch:paged" });
    expect(again.id).toBe(id);
    expect(fake.requests.some((q) => q.path === LIST && q.query.get("page") === "2")).toBe(true);
    expect(dispatches()).toHaveLength(1);
  });

  it("says what is missing when the workflow's run name does not show the id", async () => {
    fake.reset({ runDetails: "ignored" });
    addWorkflow(fake, "Merge queue");
    try {
      await expect(
        githubRunner(fake, { findTimeoutMs: 200 }).trigger("main", base, head, { [IDEMPOTENCY_KEY]: "batch:x" }),
      ).rejects.toThrow(/no run with "sluice-[0-9a-f]+" in its run name appeared .*inputs\.sluice_id/);
    } finally {
      addWorkflow(fake);
    }
  });

  it("after a 502 to the dispatch, finds the run it started rather than dispatching again", async () => {
    fake.reset({ runDetails: "ignored" });
    // The proxy lost the answer, but GitHub started the run.
    const r = githubRunner(fake, {
      client: (await import("./github-helpers")).client(fake, {
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          return String(input).endsWith("/dispatches") ? new Response("bad gateway", { status: 502 }) : res;
        },
      }),
    });
    const { id } = await r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: "batch:502" });
    expect(runIdOf(id)).toBe(fake.runs[0]?.id);
    expect(dispatches()).toHaveLength(1);
  });

  it.each([
    ["404 for an unknown workflow", { workflow: "nope.yml" }, /HTTP 404 \(no such repository or workflow/],
    ["422 for a ref that does not exist", { ref: "missing" }, /HTTP 422.*No ref found for: missing/],
  ])("reports %s", async (_what, patch, message) => {
    const r = githubRunner(fake, {
      workflows: { main: { owner: OWNER, repo: REPO, workflow: FILE, ref: "main", ...patch } },
    });
    await expect(r.trigger("main", base, head)).rejects.toThrow(message);
    expect(fake.runs).toHaveLength(0);
  });

  it("reports inputs the workflow does not declare (422)", async () => {
    const r = githubRunner(fake, {
      workflows: { main: { owner: OWNER, repo: REPO, workflow: FILE, ref: "main", inputs: { extra: "requester" } } },
    });
    await expect(r.trigger("main", base, head)).rejects.toThrow(/HTTP 422.*Unexpected inputs provided/);
  });
});

describe("status", () => {
  const expected: Array<[string, string | null, BuildStatus]> = [
    ["requested", null, "accepted"],
    ["queued", null, "accepted"],
    ["pending", null, "accepted"],
    ["waiting", null, "accepted"],
    ["in_progress", null, "running"],
    ["completed", "success", "succeeded"],
    ["completed", "neutral", "succeeded"],
    ["completed", "failure", "failed"],
    ["completed", "timed_out", "failed"],
    ["completed", "startup_failure", "failed"],
    ["completed", "action_required", "failed"],
    ["completed", "stale", "failed"],
    ["completed", "skipped", "failed"],
    ["completed", "cancelled", "cancelled"],
  ];

  it("has a row for every documented status and conclusion", () => {
    expect(new Set(expected.map(([s]) => s))).toEqual(new Set(RUN_STATUSES));
    expect(new Set(expected.flatMap(([, c]) => (c ? [c] : [])))).toEqual(new Set(RUN_CONCLUSIONS));
  });

  it.each(expected)(
    "maps %s/%s to %s, keeping GitHub's values, the URL and the jobs",
    async (status, conclusion, want) => {
      const r = githubRunner(fake);
      const { id } = await r.trigger("main", base, head);
      fake.setRun(runIdOf(id), { status, conclusion });

      const got = await r.status({ id });
      expect(got.status).toBe(want);
      expect(got.metadata).toMatchObject({
        runner: "github",
        githubStatus: status,
        buildUrl: `https://github.com/${OWNER}/${REPO}/actions/runs/${runIdOf(id)}`,
        "job: build": expect.stringMatching(/\/job\/\d+$/),
        "job: test": expect.stringMatching(/\/job\/\d+$/),
      });
      expect(got.metadata.githubConclusion).toBe(conclusion ?? undefined);
      expect(got.metadata.waiting).toBe(status === "waiting" ? "true" : undefined);
      if (want === "failed" || want === "cancelled") expect(got.metadata.reason).toContain(String(conclusion));
    },
  );

  it.each([
    ["an unknown status", "teleporting", null, /unknown GitHub workflow run status "teleporting"/],
    [
      "an unknown conclusion",
      "completed",
      "partial_success",
      /unknown GitHub workflow run conclusion "partial_success"/,
    ],
    ["a completed run without a conclusion", "completed", null, /completed but has no conclusion/],
  ])("reports %s instead of guessing", async (_what, status, conclusion, message) => {
    const r = githubRunner(fake);
    const { id } = await r.trigger("main", base, head);
    fake.setRun(runIdOf(id), { status, conclusion });
    await expect(r.status({ id })).rejects.toThrow(message);
  });

  it("throws UnknownBuildError for a run GitHub does not have (404)", async () => {
    await expect(githubRunner(fake).status({ id: `github:${OWNER}/${REPO}/42` })).rejects.toBeInstanceOf(
      UnknownBuildError,
    );
  });

  it.each([
    "noop-1",
    "github:acme/app",
    "github:acme/app/0",
    "github:-acme/app/1",
    "github:acme/../1",
    "github:a/b/1/2",
  ])("rejects the malformed id %s without a request", async (id) => {
    await expect(githubRunner(fake).status({ id })).rejects.toThrow(/malformed GitHub build id/);
    expect(fake.requests).toHaveLength(0);
  });
});

describe("cancel", () => {
  it("cancels a running run and arms no force-cancel it does not need", async () => {
    const r = githubRunner(fake);
    const { id } = await r.trigger("main", base, head);
    fake.setRun(runIdOf(id), { status: "in_progress" });
    await r.cancel({ id });
    expect((await r.status({ id })).status).toBe("cancelled");
    await r.settled();
    expect(fake.requests.filter((q) => q.path.endsWith("/force-cancel"))).toHaveLength(0);
    expect(fake.requests.some((q) => q.method === "POST" && q.path.endsWith(`/runs/${runIdOf(id)}/cancel`))).toBe(true);
  });

  it("force-cancels a run still going after the grace period", async () => {
    fake.reset({ cancelTakesEffect: false });
    const r = githubRunner(fake, { cancelGraceMs: 300 });
    const { id } = await r.trigger("main", base, head);
    fake.setRun(runIdOf(id), { status: "in_progress" });
    const asked = Date.now();
    await r.cancel({ id });
    expect((await r.status({ id })).status).toBe("running");

    await until(() => fake.requests.find((q) => q.path.endsWith("/force-cancel")), "a force-cancel", 5_000);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(300);
    expect((await r.status({ id })).status).toBe("cancelled");
  });

  it.each(["success", "failure", "cancelled"])("is a no-op on a run completed with %s", async (conclusion) => {
    const r = githubRunner(fake);
    const { id } = await r.trigger("main", base, head);
    fake.setRun(runIdOf(id), { status: "completed", conclusion });
    await expect(r.cancel({ id })).resolves.toBeUndefined();
    await r.settled();
    expect(fake.runs[0]?.conclusion).toBe(conclusion);
    expect(fake.requests.filter((q) => q.path.endsWith("/force-cancel"))).toHaveLength(0);
  });

  it("throws UnknownBuildError for a run GitHub does not have", async () => {
    await expect(githubRunner(fake).cancel({ id: `github:${OWNER}/${REPO}/42` })).rejects.toBeInstanceOf(
      UnknownBuildError,
    );
  });

  it("parses the ids it makes", async () => {
    const { id } = await githubRunner(fake).trigger("main", base, head);
    expect(parseRunId(id)).toEqual({ owner: OWNER, repo: REPO, runId: String(fake.runs[0]?.id) });
  });
});
