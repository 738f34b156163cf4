CREATE TABLE `queue_deliveries` (
	`consumer_group` varchar(191) NOT NULL,
	`topic` varchar(191) NOT NULL,
	`partition_key` varchar(255) NOT NULL,
	`seq` bigint unsigned NOT NULL,
	`state` tinyint unsigned NOT NULL,
	`attempts` int unsigned NOT NULL,
	`visible_at` bigint unsigned NOT NULL,
	`owner` varchar(64),
	`last_error` text,
	`first_delivered_at` bigint unsigned NOT NULL,
	`updated_at` bigint unsigned NOT NULL,
	CONSTRAINT `queue_deliveries_consumer_group_topic_partition_key_seq_pk` PRIMARY KEY(`consumer_group`,`topic`,`partition_key`,`seq`)
);
--> statement-breakpoint
CREATE TABLE `queue_group_partitions` (
	`consumer_group` varchar(191) NOT NULL,
	`topic` varchar(191) NOT NULL,
	`partition_key` varchar(255) NOT NULL,
	`watermark` bigint unsigned NOT NULL DEFAULT 0,
	`lease_owner` varchar(64),
	`lease_expires_at` bigint unsigned,
	`updated_at` bigint unsigned NOT NULL,
	CONSTRAINT `queue_group_partitions_consumer_group_topic_partition_key_pk` PRIMARY KEY(`consumer_group`,`topic`,`partition_key`)
);
--> statement-breakpoint
CREATE TABLE `queue_groups` (
	`consumer_group` varchar(191) NOT NULL,
	`topic` varchar(191) NOT NULL,
	`created_at` bigint unsigned NOT NULL,
	CONSTRAINT `queue_groups_consumer_group_topic_pk` PRIMARY KEY(`consumer_group`,`topic`)
);
--> statement-breakpoint
CREATE TABLE `queue_messages` (
	`log_id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`topic` varchar(191) NOT NULL,
	`partition_key` varchar(255) NOT NULL,
	`seq` bigint unsigned NOT NULL,
	`message_id` varchar(255) NOT NULL,
	`dedup_key` binary(32) NOT NULL,
	`payload` mediumblob NOT NULL,
	`metadata` text,
	`published_at` bigint unsigned NOT NULL,
	`visible_after` bigint unsigned NOT NULL DEFAULT 0,
	`target_group` varchar(191),
	`failure_reason` text,
	`failure_count` int unsigned,
	`failed_at` bigint unsigned,
	`original_topic` varchar(191),
	`original_group` varchar(191),
	`original_seq` bigint unsigned,
	CONSTRAINT `queue_messages_log_id` PRIMARY KEY(`log_id`),
	CONSTRAINT `queue_messages_dedup` UNIQUE(`dedup_key`),
	CONSTRAINT `queue_messages_partition_seq` UNIQUE(`topic`,`partition_key`,`seq`)
);
--> statement-breakpoint
CREATE TABLE `queue_partitions` (
	`topic` varchar(191) NOT NULL,
	`partition_key` varchar(255) NOT NULL,
	`head_seq` bigint unsigned NOT NULL DEFAULT 0,
	`created_at` bigint unsigned NOT NULL,
	`last_published_at` bigint unsigned NOT NULL,
	CONSTRAINT `queue_partitions_topic_partition_key_pk` PRIMARY KEY(`topic`,`partition_key`)
);
--> statement-breakpoint
CREATE TABLE `queue_subscribers` (
	`instance_id` varchar(64) NOT NULL,
	`subscriber_name` varchar(191) NOT NULL,
	`consumer_group` varchar(191) NOT NULL,
	`topic` varchar(191) NOT NULL,
	`host` varchar(255) NOT NULL,
	`pid` int unsigned NOT NULL,
	`started_at` bigint unsigned NOT NULL,
	`heartbeat_at` bigint unsigned NOT NULL,
	CONSTRAINT `queue_subscribers_instance_id` PRIMARY KEY(`instance_id`)
);
--> statement-breakpoint
CREATE INDEX `queue_group_partitions_owner` ON `queue_group_partitions` (`lease_owner`);--> statement-breakpoint
CREATE INDEX `queue_groups_topic` ON `queue_groups` (`topic`);--> statement-breakpoint
CREATE INDEX `queue_messages_topic_visible` ON `queue_messages` (`topic`,`visible_after`);--> statement-breakpoint
CREATE INDEX `queue_subscribers_group` ON `queue_subscribers` (`consumer_group`,`topic`,`heartbeat_at`);