// The links a CI build's page offers to its log, from the runner's metadata.
import { describe, expect, it } from "vitest";
import { logLinks } from "@/components/builds/log-links";

describe("logLinks", () => {
  it("links a Buildkite build's page", () => {
    expect(
      logLinks({ runner: "buildkite", buildUrl: "https://buildkite.com/acme/mobile/builds/7", number: "7" }),
    ).toEqual([{ label: "The build's log", href: "https://buildkite.com/acme/mobile/builds/7" }]);
  });

  it("links a GitHub run and each of its jobs, in name order", () => {
    expect(
      logLinks({
        runner: "github",
        buildUrl: "https://github.com/acme/web/actions/runs/30433642",
        "job: test": "https://github.com/acme/web/actions/runs/30433642/job/2",
        "job: build": "https://github.com/acme/web/actions/runs/30433642/job/1",
      }),
    ).toEqual([
      { label: "The build's log", href: "https://github.com/acme/web/actions/runs/30433642" },
      { label: "Log of job: build", href: "https://github.com/acme/web/actions/runs/30433642/job/1" },
      { label: "Log of job: test", href: "https://github.com/acme/web/actions/runs/30433642/job/2" },
    ]);
  });

  it("makes no link of anything but an http(s) URL", () => {
    expect(
      logLinks({ buildUrl: "javascript:alert(1)", "job: x": "file:///etc/passwd", other: "https://x.example" }),
    ).toEqual([]);
  });
});
