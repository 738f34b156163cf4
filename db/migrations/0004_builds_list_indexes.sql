CREATE INDEX `builds_created` ON `builds` (`created_at`);--> statement-breakpoint
CREATE INDEX `builds_queue` ON `builds` (`queue`,`created_at`);