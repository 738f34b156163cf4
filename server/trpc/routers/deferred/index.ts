// deferred.*: messages published with a delay that no subscriber sees yet.
import { router } from "@/server/trpc/init";
import { deliverNow } from "./deliver-now";
import { list } from "./list";

export const deferredRouter = router({ list, deliverNow });
