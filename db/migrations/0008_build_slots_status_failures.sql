CREATE TABLE `build_queue_slots` (
	`queue` varchar(191) NOT NULL,
	CONSTRAINT `build_queue_slots_queue` PRIMARY KEY(`queue`)
);
--> statement-breakpoint
ALTER TABLE `builds` ADD `status_failures` int unsigned DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `batches_queue_state` ON `batches` (`queue`,`state`,`created_at`);