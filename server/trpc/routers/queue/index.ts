// queue.*: the overview, a topic's partitions and messages, a message's attempts, pausing a group, traffic over time.
import { router } from "@/server/trpc/init";
import { attempts } from "./attempts";
import { message } from "./message";
import { messages } from "./messages";
import { overview } from "./overview";
import { partitions } from "./partitions";
import { pause } from "./pause";
import { resume } from "./resume";
import { sparklines } from "./sparklines";
import { topic } from "./topic";
import { traffic } from "./traffic";

export const queueRouter = router({
  overview,
  topic,
  partitions,
  messages,
  message,
  attempts,
  pause,
  resume,
  traffic,
  sparklines,
});
