// builds.*: the build list and detail, triggering and cancelling builds.
import { router } from "../../init";
import { batch } from "./batch";
import { cancel } from "./cancel";
import { get } from "./get";
import { list } from "./list";
import { queues } from "./queues";
import { trigger } from "./trigger";

export const buildsRouter = router({ list, get, batch, trigger, cancel, queues });
