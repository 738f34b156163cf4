CREATE TABLE `queue_dlq_counts` (
	`topic` varchar(191) NOT NULL,
	`original_group` varchar(191) NOT NULL,
	`failure_group` varchar(191) NOT NULL,
	`dead_letters` bigint NOT NULL,
	`newest_log_id` bigint unsigned,
	CONSTRAINT `queue_dlq_counts_pk` PRIMARY KEY(`topic`,`original_group`,`failure_group`)
);
