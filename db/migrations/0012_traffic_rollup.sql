CREATE TABLE `queue_traffic` (
	`topic` varchar(191) NOT NULL,
	`minute` bigint unsigned NOT NULL,
	`consumer_group` varchar(191) NOT NULL,
	`shard` tinyint unsigned NOT NULL,
	`published` int unsigned NOT NULL DEFAULT 0,
	`acked` int unsigned NOT NULL DEFAULT 0,
	`nacked` int unsigned NOT NULL DEFAULT 0,
	`dead_lettered` int unsigned NOT NULL DEFAULT 0,
	`lag` bigint unsigned,
	`oldest_pending_ms` bigint unsigned,
	CONSTRAINT `queue_traffic_pk` PRIMARY KEY(`topic`,`minute`,`consumer_group`,`shard`)
);
--> statement-breakpoint
CREATE INDEX `queue_traffic_minute` ON `queue_traffic` (`minute`);