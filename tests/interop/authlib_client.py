"""Interop check with a client library nobody here wrote: Authlib (PyPI).

Discovers Shopkeeper from its RFC 8414 metadata, then does client credentials, refresh,
introspection and revocation with a confidential key, and the password grant with a public
key. Usage: authlib_client.py BASE_URL DEMO_JSON_FILE (the first stdout line of `serve`).
Exits non-zero on the first failed expectation.
"""

import json
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session


def expect(condition, message):
    if not condition:
        print(f"FAIL: {message}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {message}")


def main():
    base, demo_file = sys.argv[1], sys.argv[2]
    with open(demo_file) as f:
        demo = json.load(f)["demo"]
    conf = demo["confidential_client"]
    public = demo["public_client"]
    shopper = demo["shopper"]

    meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    expect(meta["issuer"] == base, "issuer is the server's base URL")
    token_url = meta["token_endpoint"]

    client = OAuth2Session(
        client_id=conf["api_key"],
        client_secret=conf["secret"],
        token_endpoint_auth_method="client_secret_basic",
    )
    token = client.fetch_token(token_url, grant_type="client_credentials")
    expect(token["token_type"].lower() == "bearer" and token["access_token"], "client credentials")

    info = client.introspect_token(meta["introspection_endpoint"], token=token["access_token"])
    body = info.json()
    expect(info.status_code == 200 and body["active"] is True, "introspection: active")
    expect(body["client_id"] == conf["api_key"], "introspection: client_id")

    refreshed = client.refresh_token(token_url, refresh_token=token["refresh_token"])
    expect(refreshed["access_token"] != token["access_token"], "refresh gives a new access token")
    old = client.introspect_token(meta["introspection_endpoint"], token=token["refresh_token"])
    expect(old.json()["active"] is False, "the consumed refresh token is inactive")

    revoked = client.revoke_token(
        meta["revocation_endpoint"],
        token=refreshed["refresh_token"],
        token_type_hint="refresh_token",
    )
    expect(revoked.status_code == 200, "revocation answers 200")
    after = client.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"])
    expect(after.json()["active"] is False, "revoking the refresh token ended its access token")

    shopper_client = OAuth2Session(client_id=public["api_key"], token_endpoint_auth_method="none")
    signed_in = shopper_client.fetch_token(
        token_url, username=shopper["username"], password=shopper["password"]
    )
    full = client.introspect_token(meta["introspection_endpoint"], token=signed_in["access_token"])
    expect(full.json()["access_level"] == "full", "password grant with a public key: full token")
    expect(full.json()["sub"] == str(shopper["id"]), "sub is the shopper id")
    print("authlib interop: all checks passed")


if __name__ == "__main__":
    main()
