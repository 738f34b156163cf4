CREATE TABLE `signin_throttle` (
	`key` varchar(96) NOT NULL,
	`failures` int unsigned NOT NULL,
	`last_at` bigint unsigned NOT NULL,
	CONSTRAINT `signin_throttle_key` PRIMARY KEY(`key`)
);
--> statement-breakpoint
DROP TABLE `signin_failures`;