// queue.*: the overview and a topic's partitions and messages.
import { router } from "../../init";
import { message } from "./message";
import { messages } from "./messages";
import { overview } from "./overview";
import { partitions } from "./partitions";
import { topic } from "./topic";

export const queueRouter = router({ overview, topic, partitions, messages, message });
