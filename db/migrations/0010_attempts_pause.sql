CREATE TABLE `queue_attempts` (
	`topic` varchar(191) NOT NULL,
	`partition_key` varchar(255) NOT NULL,
	`seq` bigint unsigned NOT NULL,
	`consumer_group` varchar(191) NOT NULL,
	`fetch_no` int unsigned NOT NULL,
	`attempt` int unsigned NOT NULL,
	`owner` varchar(64) NOT NULL,
	`subscriber_name` varchar(191) NOT NULL,
	`fetched_at` bigint unsigned NOT NULL,
	`settled_at` bigint unsigned,
	`outcome` tinyint unsigned,
	`reason` text,
	CONSTRAINT `queue_attempts_pk` PRIMARY KEY(`topic`,`partition_key`,`seq`,`consumer_group`,`fetch_no`)
);
--> statement-breakpoint
ALTER TABLE `queue_deliveries` ADD `fetches` int unsigned DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `queue_groups` ADD `paused_at` bigint unsigned;--> statement-breakpoint
ALTER TABLE `queue_groups` ADD `paused_by` varchar(191);