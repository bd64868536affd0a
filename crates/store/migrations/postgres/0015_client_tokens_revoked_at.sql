-- Review finding 7: disabling a key ends its tokens' access. Tokens issued at or before this
-- time (seconds) are refused on every check, whatever a node's token cache holds, so enabling
-- the key again never revives them.
ALTER TABLE api_clients ADD COLUMN tokens_revoked_at BIGINT;
