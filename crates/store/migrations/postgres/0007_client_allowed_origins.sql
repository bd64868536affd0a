-- Origins (scheme://host[:port]) allowed to call SessionToken?apiKey= with a key. A key with
-- none accepts any origin (what existing storefronts expect).
CREATE TABLE client_allowed_origins (
    api_key TEXT NOT NULL REFERENCES api_clients(api_key),
    origin  TEXT NOT NULL,
    PRIMARY KEY (api_key, origin)
);
