ALTER TABLE `queue_group_partitions` ADD `idle_until` bigint unsigned;--> statement-breakpoint
ALTER TABLE `queue_group_partitions` ADD `idle_head` bigint unsigned;