-- One-time sign-in links (`parley token --link`): the link carries a signed code; redeeming it records the
-- code's id here, so a second use finds the row and is refused. Rows are dropped once the code has expired.
CREATE TABLE signin_link_uses (
  jti         text PRIMARY KEY,
  used_at     timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX signin_link_uses_expires_idx ON signin_link_uses (expires_at);
