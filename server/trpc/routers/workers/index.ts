// workers.*: the processes consuming the queue.
import { router } from "@/server/trpc/init";
import { list } from "./list";

export const workersRouter = router({ list });
