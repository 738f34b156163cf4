CREATE TABLE `batches` (
	`id` varchar(64) NOT NULL,
	`queue` varchar(191) NOT NULL,
	`base` text NOT NULL,
	`head` text NOT NULL,
	`metadata` text NOT NULL,
	`requester` varchar(191) NOT NULL,
	`state` varchar(16) NOT NULL,
	`verdict` varchar(16),
	`created_at` bigint unsigned NOT NULL,
	`updated_at` bigint unsigned NOT NULL,
	CONSTRAINT `batches_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `build_status_history` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`build_id` varchar(191) NOT NULL,
	`status` varchar(16) NOT NULL,
	`metadata` text NOT NULL,
	`at` bigint unsigned NOT NULL,
	CONSTRAINT `build_status_history_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `builds` (
	`id` varchar(191) NOT NULL,
	`batch_id` varchar(64) NOT NULL,
	`runner` varchar(32) NOT NULL,
	`queue` varchar(191) NOT NULL,
	`status` varchar(16) NOT NULL,
	`metadata` text NOT NULL,
	`poll_generation` int unsigned NOT NULL DEFAULT 0,
	`status_calls` int unsigned NOT NULL DEFAULT 0,
	`created_at` bigint unsigned NOT NULL,
	`updated_at` bigint unsigned NOT NULL,
	`finished_at` bigint unsigned,
	CONSTRAINT `builds_id` PRIMARY KEY(`id`),
	CONSTRAINT `builds_batch` UNIQUE(`batch_id`)
);
--> statement-breakpoint
CREATE TABLE `command_builds` (
	`id` varchar(64) NOT NULL,
	`idempotency_key` varchar(255),
	`queue` varchar(191) NOT NULL,
	`command` text NOT NULL,
	`spec` text NOT NULL,
	`status` varchar(16) NOT NULL,
	`host` varchar(255) NOT NULL,
	`work_dir` varchar(1024) NOT NULL,
	`launcher` varchar(64),
	`checked_at` bigint unsigned,
	`pid` int unsigned,
	`proc_start` varchar(32),
	`exit_code` int,
	`output_tail` text,
	`reason` text,
	`cancel_requested` tinyint unsigned NOT NULL DEFAULT 0,
	`created_at` bigint unsigned NOT NULL,
	`started_at` bigint unsigned,
	`finished_at` bigint unsigned,
	CONSTRAINT `command_builds_id` PRIMARY KEY(`id`),
	CONSTRAINT `command_builds_key` UNIQUE(`idempotency_key`)
);
--> statement-breakpoint
CREATE INDEX `batches_state` ON `batches` (`state`,`created_at`);--> statement-breakpoint
CREATE INDEX `build_status_history_build` ON `build_status_history` (`build_id`,`id`);--> statement-breakpoint
CREATE INDEX `builds_status` ON `builds` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `command_builds_host` ON `command_builds` (`host`,`status`);