CREATE TABLE `audit_log` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`at` bigint unsigned NOT NULL,
	`actor` varchar(128) NOT NULL,
	`action` varchar(64) NOT NULL,
	`target` text NOT NULL,
	`count` int unsigned NOT NULL,
	`address` varchar(64) NOT NULL,
	CONSTRAINT `audit_log_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `sessions` (
	`token_hash` varchar(64) NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`address` varchar(64) NOT NULL,
	`created_at` bigint unsigned NOT NULL,
	`expires_at` bigint unsigned NOT NULL,
	CONSTRAINT `sessions_token_hash` PRIMARY KEY(`token_hash`)
);
--> statement-breakpoint
CREATE TABLE `signin_failures` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`username` varchar(64) NOT NULL,
	`address` varchar(64) NOT NULL,
	`at` bigint unsigned NOT NULL,
	CONSTRAINT `signin_failures_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `users` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`username` varchar(64) NOT NULL,
	`role` varchar(16) NOT NULL,
	`password_hash` varchar(255) NOT NULL,
	`created_at` bigint unsigned NOT NULL,
	`updated_at` bigint unsigned NOT NULL,
	CONSTRAINT `users_id` PRIMARY KEY(`id`),
	CONSTRAINT `users_username` UNIQUE(`username`)
);
--> statement-breakpoint
CREATE INDEX `audit_log_actor` ON `audit_log` (`actor`);--> statement-breakpoint
CREATE INDEX `audit_log_action` ON `audit_log` (`action`);--> statement-breakpoint
CREATE INDEX `sessions_user` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE INDEX `sessions_expires` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE INDEX `signin_failures_user` ON `signin_failures` (`username`,`at`);--> statement-breakpoint
CREATE INDEX `signin_failures_address` ON `signin_failures` (`address`,`at`);