// What the builds procedures return, as the components see it (types only: nothing of the server is bundled).
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/trpc/router";

type Outputs = inferRouterOutputs<AppRouter>["builds"];

export type BuildListItem = Outputs["list"]["items"][number];
export type BuildDetail = Outputs["get"];
export type BatchView = Outputs["batch"]["batch"];
export type Change = BatchView["head"][number];
