-- Retention and deletion (DELETE /conversations/{id}, `retention.days`, `parley user export|delete`, event-log
-- compaction). The purge picks idle conversations by `updated_at`; compaction picks finished responses whose
-- snapshot deltas are still in their event log; a person's deletion finds their feedback by user.
CREATE INDEX conversations_updated_idx ON conversations (updated_at);
ALTER TABLE responses ADD COLUMN events_compacted boolean NOT NULL DEFAULT false;
CREATE INDEX responses_compaction_idx ON responses (completed_at) WHERE NOT events_compacted;
CREATE INDEX feedback_user_idx ON feedback (user_id);
