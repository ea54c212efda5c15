-- Webhook endpoints registered through the admin API (`/admin/v1/webhooks`), shared by every node. Their
-- deliveries name them by id in webhook_deliveries.endpoint (configured endpoints are named by URL there).
-- During a secret rotation the previous secret keeps signing too (a second `v1,` signature) until
-- `previous_secret_until`, so receivers can switch without losing a delivery.
CREATE TABLE webhook_endpoints (
  id                     text PRIMARY KEY,
  url                    text NOT NULL UNIQUE,
  secret                 text NOT NULL,
  previous_secret        text,
  previous_secret_until  timestamptz,
  events                 text[] NOT NULL,
  description            text,
  created_by             text NOT NULL,
  created_at             timestamptz NOT NULL,
  updated_at             timestamptz NOT NULL
);
-- Pruning finished deliveries by age.
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (created_at) WHERE status <> 'PENDING';
