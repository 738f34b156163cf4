// builds.*: the build list and detail, a build's log, triggering and cancelling builds.
import { router } from "../../init";
import { batch } from "./batch";
import { cancel } from "./cancel";
import { get } from "./get";
import { list } from "./list";
import { log } from "./log";
import { queues } from "./queues";
import { trigger } from "./trigger";

export const buildsRouter = router({ list, get, log, batch, trigger, cancel, queues });
