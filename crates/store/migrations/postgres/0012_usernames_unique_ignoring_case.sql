-- Usernames were unique case-sensitively (UNIQUE (site_id, username)) while the brute-force
-- throttle and shoppers treat them without regard to case: `TARGET` could be registered next
-- to `target`. From here on a username is unique per site whatever its case, by the
-- database's own lower() (the same expression the sign-in lookup uses, so at most one
-- account matches a typed name). The server checks for existing clashes before applying this
-- (store::migrate) and names them, so this statement does not fail on a clash.
CREATE UNIQUE INDEX shoppers_username_folded ON shoppers (site_id, lower(username));
