-- The conversation a queued webhook is about (NULL for none), so that deleting a conversation deletes its webhook
-- deliveries with everything else stored under it: a delivery still pending would otherwise send the deleted
-- conversation's content afterwards, and a delivered one would keep it in the delivery log.
ALTER TABLE webhook_deliveries ADD COLUMN conversation_id text;
UPDATE webhook_deliveries
   SET conversation_id = COALESCE((body::jsonb) -> 'data' ->> 'conversation_id', (body::jsonb) -> 'data' -> 'conversation' ->> 'id');
CREATE INDEX webhook_deliveries_conversation_idx ON webhook_deliveries (conversation_id) WHERE conversation_id IS NOT NULL;
