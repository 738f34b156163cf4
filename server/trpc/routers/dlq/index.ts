// dlq.*: the dead-letter queues: read, search, requeue and purge.
import { router } from "@/server/trpc/init";
import { cancelJob } from "./cancel-job";
import { count } from "./count";
import { detail } from "./detail";
import { failureGroups } from "./failure-groups";
import { job } from "./job";
import { jobs } from "./jobs";
import { list } from "./list";
import { purge } from "./purge";
import { requeueMatching } from "./requeue-matching";
import { requeueOne } from "./requeue-one";
import { requeueSelected } from "./requeue-selected";
import { topics } from "./topics";

export const dlqRouter = router({
  topics,
  list,
  failureGroups,
  detail,
  count,
  requeueOne,
  requeueSelected,
  requeueMatching,
  purge,
  job,
  cancelJob,
  jobs,
});
