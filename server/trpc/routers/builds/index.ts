// builds.*: the build list and detail, a build's log, batches waiting for a slot, triggering and cancelling builds.
import { router } from "@/server/trpc/init";
import { batch } from "./batch";
import { cancel } from "./cancel";
import { get } from "./get";
import { list } from "./list";
import { log } from "./log";
import { queues } from "./queues";
import { trigger } from "./trigger";
import { waiting } from "./waiting";

export const buildsRouter = router({ list, get, log, batch, waiting, trigger, cancel, queues });
