CREATE TABLE `queue_jobs` (
	`id` varchar(64) NOT NULL,
	`kind` varchar(16) NOT NULL,
	`topic` varchar(191) NOT NULL,
	`filter` text NOT NULL,
	`max_log_id` bigint unsigned NOT NULL,
	`rate_per_second` int unsigned NOT NULL,
	`state` varchar(16) NOT NULL,
	`total` int unsigned NOT NULL,
	`processed` int unsigned NOT NULL DEFAULT 0,
	`cursor` bigint unsigned,
	`cancel_requested` tinyint unsigned NOT NULL DEFAULT 0,
	`runner` varchar(64),
	`heartbeat_at` bigint unsigned,
	`error` text,
	`created_by` varchar(191) NOT NULL,
	`created_at` bigint unsigned NOT NULL,
	`finished_at` bigint unsigned,
	CONSTRAINT `queue_jobs_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `queue_messages` ADD `failure_group` varchar(191);--> statement-breakpoint
CREATE INDEX `queue_jobs_state` ON `queue_jobs` (`state`,`created_at`);--> statement-breakpoint
CREATE INDEX `queue_messages_topic_log` ON `queue_messages` (`topic`,`log_id`);--> statement-breakpoint
CREATE INDEX `queue_messages_topic_failure_group` ON `queue_messages` (`topic`,`failure_group`);