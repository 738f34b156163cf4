CREATE INDEX `queue_group_partitions_unmarked` ON `queue_group_partitions` (`consumer_group`,`topic`,`idle_head`);--> statement-breakpoint
CREATE INDEX `queue_group_partitions_due` ON `queue_group_partitions` (`consumer_group`,`topic`,`idle_until`);--> statement-breakpoint
CREATE INDEX `queue_partitions_published` ON `queue_partitions` (`topic`,`last_published_at`);