-- jwt-bearer replay protection: each assertion's (issuer, jti) is accepted once while the assertion could still
-- be valid. Kept in the database so the rule holds across every node; rows past expires_at are deleted lazily.
CREATE TABLE oauth_assertion_jtis (
  issuer      text NOT NULL,
  jti         text NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (issuer, jti)
);
CREATE INDEX oauth_assertion_jtis_expires_idx ON oauth_assertion_jtis (expires_at);
