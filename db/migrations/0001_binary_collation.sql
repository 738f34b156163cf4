-- Ids, topics and partition keys compare byte for byte: "A" and "a" are two partitions,
-- whatever the database's default collation is.
ALTER TABLE `queue_partitions` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `queue_messages` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `queue_groups` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `queue_group_partitions` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `queue_deliveries` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `queue_subscribers` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
