-- The hosted sign-in page and the password grant take an e-mail address where a username is
-- asked for, so an address must name one account: from here on a shopper's e-mail is unique
-- per site whatever its case, by the database's own lower() (the expression the sign-in
-- lookup uses). Shoppers without an e-mail are not in the index. The server checks for
-- existing clashes before applying this (store::migrate) and names them, so this statement
-- does not fail on a clash; `shopkeeper shopper set-email` resolves them.
CREATE UNIQUE INDEX shoppers_email_folded ON shoppers (site_id, lower(email))
    WHERE email IS NOT NULL;
