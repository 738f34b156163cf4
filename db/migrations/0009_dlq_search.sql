DROP INDEX `queue_messages_topic_failure_group` ON `queue_messages`;--> statement-breakpoint
ALTER TABLE `queue_jobs` ADD `audit_id` bigint unsigned;--> statement-breakpoint
ALTER TABLE `queue_messages` ADD `dlq_reason` varchar(191) GENERATED ALWAYS AS (if(failure_group is null or char_length(failure_reason) > 191, null, failure_reason)) STORED;--> statement-breakpoint
ALTER TABLE `queue_messages` ADD `dlq_message_id` varchar(255) GENERATED ALWAYS AS (if(failure_group is null, null, message_id)) STORED;--> statement-breakpoint
CREATE INDEX `queue_messages_topic_dlq_id` ON `queue_messages` (`topic`,`dlq_message_id`);--> statement-breakpoint
CREATE INDEX `queue_messages_topic_original_group` ON `queue_messages` (`topic`,`original_group`,`failure_group`,`dlq_reason`);--> statement-breakpoint
CREATE INDEX `queue_messages_topic_failure_group` ON `queue_messages` (`topic`,`failure_group`,`dlq_reason`);