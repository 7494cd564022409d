-- Data keys for encryption at rest: one per scope ("verbund" for citizen data,
-- "authority:<id>" for what an authority sends or receives), stored only wrapped
-- (AES-256-GCM) with the master key from the configuration.
CREATE TABLE data_keys (
    scope TEXT PRIMARY KEY NOT NULL,
    wrapped TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
