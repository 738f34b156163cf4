// audit.*: what operators did, read-only.
import { router } from "@/server/trpc/init";
import { actors } from "./actors";
import { list } from "./list";

export const auditRouter = router({ list, actors });
