#!/usr/bin/env python3
"""Extracts the documented request/response examples of the Global Commerce docs into the
cases file that tests/api/docs_examples.rs runs (docs/docs-examples.md explains it).

    python3 tests/docs_examples/extract.py            # rewrite cases.json and the doc page's list
    python3 tests/docs_examples/extract.py --check    # exit 1 if either differs from the output
    python3 tests/docs_examples/extract.py --stdout   # print it instead
    python3 tests/docs_examples/extract.py --docs-found  # exit 1 if the docs are not here

Stdlib only. Deterministic: pages in sorted order, JSON with sorted keys.

A documented request is a code block (fenced, or GitBook's <pre><code>) starting with `curl`
or with an HTTP request line (`POST /path`); its response is the first later block of the
same page (before the next request) whose tab title names a response or a status. Requests
keep their method, path, query and body; ids and other values the test must own are replaced
by markers (`{{name}}` in text, `{{name:number}}` for a JSON number), which the test fills from
its own fixtures. The response contributes its status (if the tab shows one) and its key paths
(`a.b[].c`). Requests to routes Shopkeeper does not provide, and examples that cannot be
derived, are listed under `skipped` with the reason.
"""
import html
import json
import os
import re
import sys
from urllib.parse import parse_qsl, unquote, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DOCS_CANDIDATES = [
    os.environ.get("SHOPKEEPER_GLOBAL_COMMERCE_DOCS", ""),
    os.path.join(REPO, "..", "shared", "reference", "global-commerce-docs"),
    "/work/shared/reference/global-commerce-docs",
]
DOC_DIRS = ["shopper-apis", "payments/sources", "common-shopper-and-admin-apis/subscriptions",
            "admin-apis"]
ACCESS_TABLE = os.path.join(REPO, "crates", "domain", "src", "access_policy.rs")
ADMIN_TABLE = os.path.join(REPO, "crates", "domain", "src", "admin_policy.rs")
CASES = os.path.join(HERE, "cases.json")

# Routes served outside the access table (crates/http/src/lib.rs).
EXTRA_ROUTES = [
    ("POST", "/payments/sources", "payments"),
    ("POST", "/oauth20/token", "oauth"),
    ("GET", "/oauth20/access-tokens", "oauth"),
    ("DELETE", "/oauth20/access-tokens", "oauth"),
    ("GET", "/oauth20/authorize", "oauth"),
]

# The docs' own path errata: (pattern, replacement, why). Applied in order to the path as
# written (host removed), before matching the route table.
PATH_ERRATA = [
    (r"^/\{host\}>?/+", "/", "the docs write the host as `{host}` (`/{host}/v1/…`)"),
    (r"^//+", "/", "the docs double the leading slash"),
    (r"\}>/", "}/", "a stray `>` after a path parameter"),
    (r"^/shoppers/v1/shoppers/", "/v1/shoppers/", "the docs double the prefix (`/shoppers/v1/shoppers/`)"),
    (r"^/shoppers/", "/v1/shoppers/", "the docs leave out the `/v1` prefix"),
    (r"^/v1/oauth20/", "/oauth20/", "the docs put the token service under `/v1`"),
    (r"^/sources$", "/payments/sources", "the Payments API's `/sources` is served at `/payments/sources`"),
    (r"^/oauth20/access-token$", "/oauth20/access-tokens", "the docs write `access-token` for `access-tokens`"),
    (r"/inventorystatus$", "/inventory-status", "the docs write `inventorystatus` for `inventory-status`"),
    (r"^/v1/shoppers/addresses", "/v1/shoppers/me/addresses", "the docs leave out `/me` (`/v1/shoppers/addresses`)"),
    (r"^/v1/shoppers/me/product/", "/v1/shoppers/me/products/", "the docs write `product/` for `products/`"),
]

# What each route parameter names, so the test can fill it from its fixtures.
PARAM_MARKERS = {
    "/v1/subscriptions/{id}": {"id": "subscriptionId"},
    "/v1/shoppers/me/carts/active/applied-offers/{offerId}": {"offerId": "offerId"},
    "/v1/shoppers/me/addresses/{id}": {"id": "addressId"},
    "/v1/shoppers/me/carts/active/line-items/{id}": {"id": "cartLineItemId"},
    "/v1/shoppers/me/carts/active/shipping-options/{id}": {"id": "shippingOptionId"},
    "/v1/shoppers/me/categories/{id}": {"id": "categoryId"},
    "/v1/shoppers/me/offers/{id}": {"id": "offerId"},
    "/v1/shoppers/me/offers/{id}/product-offers/{productId}": {"id": "offerId", "productId": "productId"},
    "/v1/shoppers/me/orders/{id}": {"id": "orderId"},
    "/v1/shoppers/me/orders/{id}/line-items/{lineItemId}": {"id": "orderId", "lineItemId": "orderLineItemId"},
    "/v1/shoppers/me/payment-options/{id}": {"id": "paymentOptionId"},
    "/v1/shoppers/me/products/{id}": {"id": "productId"},
    "/v1/shoppers/me/products/{id}/variations": {"id": "baseProductId"},
}
# Prefix rules for the rest (`/orders/{id}/...`, `/products/{id}/...`, ...).
PARAM_PREFIX = [
    ("/v1/subscriptions/{id}/", {"id": "subscriptionId"}),
    ("/v1/shoppers/me/orders/{id}/", {"id": "orderId"}),
    ("/v1/shoppers/me/products/{id}/", {"id": "productId"}),
    ("/v1/shoppers/me/categories/{id}/", {"id": "categoryId"}),
    ("/v1/shoppers/me/offers/{id}/", {"id": "offerId"}),
]

# Query parameters and body keys whose documented values name the docs' own records: the test
# fills them with its fixtures'. Anything else is sent as documented.
VALUE_MARKERS = {
    "productId": "productId",
    "productIds": "productId",
    "shippingOptionId": "shippingOptionId",
    "sourceId": "sourceId",
    "lineItemId": "cartLineItemId",
    "orderId": "orderId",
    "categoryId": "categoryId",
    "paymentOptionId": "paymentOptionId",
    "addressId": "addressId",
    "externalReferenceId": "uniqueExternalReferenceId",
    "username": "uniqueUsername",
    "userName": "uniqueUsername",
    # The fixture's coupon code and its promotional-URL offer (the cart cases trigger it).
    "promoCode": "couponCode",
    "offerId": "offerId",
    # The fixture's private store (its target market; its id through `ID_PARENTS`).
    "targetMarketId": "targetMarketId",
}
# The slots of a body's applied offers (`api-trigger-offer.md`) → the fixture offer of that
# level and type.
OFFER_SLOTS = {
    ("appliedProductOffers", "offer"): "itemOffer",
    ("appliedProductOffers", "shippingOffer"): "shippingOffer",
    ("appliedOrderOffers", "offer"): "orderOffer",
    ("appliedOrderOffers", "shippingOffer"): "shippingOffer",
}
# Form fields (order look-up) whose documented values are placeholders for the order's own.
FORM_MARKERS = {
    "orderId": "orderId",
    "password": "orderPassword",
    "creditCardLastDigits": "orderCardLastDigits",
    "creditCardLastFourDigits": "orderCardLastDigits",
    "emailAddress": "orderEmail",
}
# Body objects whose `id` names a fixture: (parent key → marker).
ID_PARENTS = {
    "product": "productId",
    "lineItem": "cartLineItemId",
    "address": "addressId",
    "shippingOption": "shippingOptionId",
    "paymentOption": "paymentOptionId",
    "order": "orderId",
    "orderLookup": None,
    "purchasePlanAuthorize": "purchasePlanId",
}


# Responses the docs show under the wrong request: (page, heading of the request) → (what to
# use instead: the response source of another request on the page by heading, or None to drop
# the sample; why).
RESPONSE_ERRATA = {
    ("shopper-apis/shoppers/shoppers.md", "Creating a current shopper"):
        (None, "the docs show a cart as the answer to creating a shopper: its keys are not counted"),
    ("shopper-apis/cart/managing-shipping-options/getting-shipping-options.md",
     "Getting a shipping option by identifier"):
        ("Getting all shipping options",
         "the two shipping-options samples are swapped: the list is shown under the single option"),
    ("shopper-apis/cart/managing-shipping-options/getting-shipping-options.md",
     "Getting all shipping options"):
        ("Getting a shipping option by identifier",
         "the two shipping-options samples are swapped: the single option is shown under the list"),
}


# Statuses the prose names before the request rather than after it (page, heading) → (status,
# why).
STATUS_ERRATA = {
    ("shopper-apis/cart/managing-web-checkout.md", "Getting web checkout"):
        (302, "the prose before the request names the answer: `302 Found`"),
    ("shopper-apis/cart/managing-web-checkout.md", "Creating the cart and transferring the shopper"):
        (302, "the prose before the request names the answer: `302 Found`"),
}

# Requests whose method the example writes wrongly (page, heading) → (method, why).
METHOD_ERRATA = {
    ("shopper-apis/cart/managing-web-checkout.md", "Creating the cart and transferring the shopper"):
        ("POST", "the example's curl says `--request GET` for the section's `POST /web-checkout` "
         "with a body: sent as POST"),
}


# Blocks written as a request that are another example's answer (page, heading) → why: skipped
# as requests, with the reason listed.
NOT_A_REQUEST = {
    ("payments/sources/retrieving-sources.md", "Step 3: Get the shopper's payment options"):
        "the block under \"Response body\" is the answer of `GET /v1/shoppers/me/payment-options` "
        "(the step's own text) dressed as a `POST` of that answer: not a request",
}


# Response samples of another shape than the answer they stand for (page, heading of the
# request) → (what is done with the sample's keys, why). The request is still sent and must be
# accepted; only the sample's keys are mapped or left uncounted:
# - "bare-line-items": the sample's `lineItems` list is the `lineItems.lineItem[]` of the
#   answer (the shape every other line-items sample and the API reference show);
# - "cart-line-items": the sample is a whole cart; only its `lineItems` (the line-items list
#   the request answers with) is kept;
# - "xml-attributes": the sample was converted from XML: `_uri`, `_currency` and `__text` are
#   `uri`, `currency` and `value`;
# - None: the keys are not counted (no right shape can be read from the sample).
RESPONSE_KEY_ERRATA = {
    ("shopper-apis/product-discovery/private-stores/managing-private-stores.md",
     "Searching for a private store"):
        (None, "the docs show money objects (`purchasePlan[].currency`, `.value`) as the search's "
         "answer: its keys are not counted; the plans are served in the workflow page's shape"),
    ("shopper-apis/shopper-basics/common-use-cases/private-store-workflow.md",
     "Step 1. Search for a private store"):
        (None, "the response sample was converted from XML with its keys lowercased "
         "(`purchaseplans.purchaseplan`): served in the API's camelCase, its keys are not counted"),
    ("shopper-apis/cart/managing-line-items.md", "Getting all line items from a cart"):
        ("bare-line-items",
         "the docs show the line items as a bare list (`lineItems: [...]`): "
         "mapped to `lineItems.lineItem[]`"),
    ("shopper-apis/cart/managing-line-items.md", "Adding line items to a cart"):
        ("bare-line-items",
         "the docs show the line items as a bare list (`lineItems: [...]`): "
         "mapped to `lineItems.lineItem[]`"),
    ("shopper-apis/cart/managing-offers-in-a-cart/applying-an-offer.md",
     "Triggering an offer by cart"):
        ("bare-line-items",
         "the docs show the line-items list, its line items as a bare list, as the answer to "
         "updating the cart: mapped to the cart's `lineItems.lineItem[]`"),
    ("shopper-apis/cart/managing-offers-in-a-cart/applying-an-offer.md",
     "Trigging an offer by line items"):
        ("cart-line-items",
         "the docs show a whole cart as the answer to adding line items: only its `lineItems` "
         "(the line-items list the request answers with) is counted"),
    ("shopper-apis/cart/submitting-a-cart/initiating-a-charge.md", "Initiating a charge"):
        (None, "the docs show an order as the answer to updating the cart: its keys are not counted"),
    ("shopper-apis/cart/creating-or-updating-a-cart/adding-a-product-to-a-cart.md",
     "Adding a product to a cart"):
        ("xml-attributes",
         "the response sample was converted from XML: `_uri`, `_currency` and `__text` are "
         "read as `uri`, `currency` and `value`"),
    ("shopper-apis/cart/managing-offers-in-a-cart/applying-a-coupon-code.md",
     "Applying a coupon or promo code"):
        (None, "the response sample was converted from XML with its keys lowercased (`lineitems`, "
               "`_uri`, `__text`) and the shipping address nested in the billing address: its "
               "keys are not counted"),
}

# Requests whose query the docs elide (`...`) while their sample answers one: (page, heading)
# -> (query pairs added, why).
QUERY_ERRATA = {
    ("shopper-apis/product-discovery/inventory-status.md",
     "Getting the inventory status for one or more products"):
        ([["productIds", "{{productId}}"]],
         "the request elides its ids (`...`) but its sample shows one product's status (without "
         "ids the page promises an empty collection): the case names the lamp (`productIds`)"),
}

XML_ATTRIBUTES = {"_uri": "uri", "_currency": "currency", "__text": "value"}


def xml_attributes(value):
    if isinstance(value, dict):
        return {XML_ATTRIBUTES.get(k, k): xml_attributes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [xml_attributes(v) for v in value]
    return value


def map_response_keys(kind, body):
    """The sample `body` in the shape of the answer it stands for (see RESPONSE_KEY_ERRATA)."""
    if kind is None or not isinstance(body, dict):
        return None
    if kind == "bare-line-items":
        if isinstance(body.get("lineItems"), list):
            body = dict(body, lineItems={"lineItem": body["lineItems"]})
        return body
    if kind == "cart-line-items":
        cart = body.get("cart", body)
        return {"lineItems": cart["lineItems"]} if "lineItems" in cart else None
    if kind == "xml-attributes":
        return xml_attributes(body)
    raise ValueError(kind)

def docs_root():
    for c in DOCS_CANDIDATES:
        if c and os.path.isdir(c):
            return os.path.normpath(c)
    sys.exit("extract.py: the Global Commerce docs are not found; set SHOPKEEPER_GLOBAL_COMMERCE_DOCS")


def routes():
    text = open(ACCESS_TABLE, encoding="utf-8").read()
    out = []
    for m in re.finditer(r'row\("([A-Z]+)", "([^"]+)", (\w+), (Yes|No)\)', text):
        method, path, level, provided = m.groups()
        out.append({"method": method, "path": path, "level": level, "provided": provided == "Yes"})
    if not out:
        sys.exit("extract.py: no rows found in " + ACCESS_TABLE)
    # The Admin API's rows: `admin-key` (the confidential Admin key) or `admin-staff` (a staff
    # token from /auth). A path in both tables is the Shopper API's row for these examples.
    admin = open(ADMIN_TABLE, encoding="utf-8").read()
    for m in re.finditer(r'admin_row\(\s*"([A-Z]+)",\s*"([^"]+)",\s*(Key|Staff\([^)]*\)),\s*\w+,\s*(Yes|No)\s*,?\s*\)', admin):
        method, path, access, provided = m.groups()
        if any(r["method"] == method and r["path"] == path for r in out):
            continue
        level = "admin-key" if access == "Key" else "admin-staff"
        out.append({"method": method, "path": path, "level": level, "provided": provided == "Yes"})
    for method, path, kind in EXTRA_ROUTES:
        out.append({"method": method, "path": path, "level": kind, "provided": True})
    return out


# --- Reading pages into blocks ------------------------------------------------------------

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
TAB = re.compile(r'\{%\s*tab\s+title="([^"]*)"\s*%\}')


def clean_heading(h):
    h = re.sub(r"<[^>]+>", "", h)
    h = h.replace("\\", "").replace("**", "").replace("`", "")
    return html.unescape(h).strip()


def blocks(page_text):
    """Code blocks of a page: dicts with heading, tab, group, text, line."""
    lines = page_text.split("\n")
    out = []
    heading = ""
    tab = None
    group = None
    groups = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        m = HEADING.match(line)
        if m:
            heading = clean_heading(m.group(2))
        if "{% tabs %}" in line:
            groups += 1
            group = groups
        m = TAB.search(line)
        if m:
            tab = m.group(1).strip()
        if "{% endtabs %}" in line:
            group = None
            tab = None
        stripped = line.strip()
        if stripped.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            out.append(dict(heading=heading, tab=tab, group=group, line=i + 1, end=j + 1,
                            text="\n".join(lines[i + 1:j])))
            i = j + 1
            continue
        if "<pre" in line and "<code" in line:
            j = i
            while j < len(lines) and "</code></pre>" not in lines[j]:
                j += 1
            raw = "\n".join(lines[i:j + 1])
            raw = re.sub(r"^.*?<code[^>]*>", "", raw, flags=re.S)
            raw = raw.split("</code></pre>")[0]
            raw = re.sub(r"<[^>]+>", "", raw)
            out.append(dict(heading=heading, tab=tab, group=group, line=i + 1, end=j + 1,
                            text=html.unescape(raw)))
            i = j + 1
            continue
        i += 1
    return out


REQUEST_LINE = re.compile(r"^(GET|POST|PUT|DELETE|PATCH)\s+(/\S*)")


def is_request(block):
    t = block["text"].lstrip()
    return t.lower().startswith("curl") or bool(REQUEST_LINE.match(t))


RESPONSE_TAB = re.compile(r"respon|\b[1-5]\d\d\b|\bOK\b|Created|No Content", re.I)


def is_response(block):
    return block["tab"] is not None and bool(RESPONSE_TAB.search(block["tab"])) \
        and not re.search(r"request", block["tab"], re.I) or \
        bool(re.match(r"\s*HTTP/1\.1 [1-5]\d\d", block["text"]))


# --- Requests --------------------------------------------------------------------------------

def curl_parts(text):
    """(method, url, headers, body, body_kind) from a curl command as the docs write it."""
    # Continuations and the docs' `\--header` run-ons.
    flat = re.sub(r"\\\s*\n", " ", text)
    flat = flat.replace("\\--", " --")
    method = None
    m = re.search(r"(?:--request|-X)\s*'?\s*([A-Z]+)", flat)
    if m:
        method = m.group(1)
    url = None
    m = re.search(r"""['"]?\s*((?:https?://|<<host>>|api\.digitalriver|dispatch-api)[^'"\s]*)""", flat)
    if m:
        url = m.group(1)
    else:
        m = re.search(r"'\s*(/[^'\s]*)\s*'", flat)
        if m:
            url = m.group(1)
    headers = re.findall(r"--header\s+'([^'\n]*)", flat)
    body = None
    kind = None
    m = re.search(r"--data-raw\s+'|--data\s+'|-d\s+'|--data-binary\s+'", text)
    if m:
        rest = text[m.end():]
        end = rest.rfind("'")
        body = rest[:end] if end >= 0 else rest
        kind = "raw"
    forms = re.findall(r"--data-urlencode\s+'([^']*)'", text)
    if forms and body is None:
        body = forms
        kind = "form"
    if method is None:
        method = "POST" if body is not None else "GET"
    return method, url, headers, body, kind


def request_line_parts(text):
    m = REQUEST_LINE.match(text.lstrip())
    return m.group(1), m.group(2), [], None, None


def strip_host(url):
    url = url.strip().strip("'\"").strip()
    url = re.sub(r"^https?://", "", url)
    url = re.sub(r"^(<<host>>|\{\{host\}\}|[A-Za-z0-9.-]*digitalriver\.com\.?)", "", url)
    if not url.startswith("/"):
        url = "/" + url
    return url


def match_route(method, path, table):
    segs = path.strip("/").split("/")
    found = None
    for r in table:
        rsegs = r["path"].strip("/").split("/")
        if len(rsegs) != len(segs):
            continue
        ok = True
        for a, b in zip(rsegs, segs):
            if a.startswith("{"):
                continue
            if a != b:
                ok = False
                break
        if ok:
            literal = sum(1 for a in rsegs if not a.startswith("{"))
            if found is None or literal > found[1] or (literal == found[1] and r["method"] == method):
                if r["method"] == method or found is None or found[0]["method"] != method:
                    found = (r, literal)
    if found is None:
        return None, None
    exact = [r for r in table if r["path"] == found[0]["path"] and r["method"] == method]
    return found[0], (exact[0] if exact else None)


def template_path(route, path):
    """The request path with the route's parameters replaced by markers."""
    names = PARAM_MARKERS.get(route["path"])
    if names is None:
        names = {}
        for prefix, n in PARAM_PREFIX:
            if route["path"].startswith(prefix):
                names = n
    rsegs = route["path"].strip("/").split("/")
    segs = path.strip("/").split("/")
    out = []
    for a, b in zip(rsegs, segs):
        if a.startswith("{"):
            out.append("{{%s}}" % names.get(a.strip("{}"), a.strip("{}")))
        else:
            out.append(b)
    return "/" + "/".join(out)


def mark_value(key, value, path_keys):
    marker = VALUE_MARKERS.get(key)
    if key == "id" and path_keys:
        parent = path_keys[-1]
        marker = ID_PARENTS.get(parent)
    # A return names a line of the order it returns from.
    if key == "id" and path_keys[-1:] == ("lineItem",) and "returnLineItems" in path_keys:
        marker = "orderLineItemId"
    # A refund names a line of the order it refunds, an amount in its currency.
    if key == "lineItemId" and path_keys[-1:] == ("lineItems",):
        marker = "orderLineItemId"
    if "refundAmount" in path_keys[-1:] and key == "currency":
        marker = "orderCurrency"
    if "refundAmount" in path_keys[-1:] and key == "value":
        marker = "refundAmountValue"
    if key == "externalReferenceId" and "shopper" not in path_keys:
        marker = None  # a product's reference, sent as documented
    # An applied offer names a fixture offer of its slot's level and type (the docs' ids are
    # their own); an override's product reference is the fixture product's sku.
    slot = OFFER_SLOTS.get(tuple(path_keys[-2:]))
    if key in ("offerId", "externalReferenceId") and slot:
        marker = slot + ("Id" if key == "offerId" else "Reference")
    if key == "externalReferenceId" and "overrideDiscount" in path_keys:
        marker = "productReference"
    if key in ("emailAddress", "email") and "orderLookup" not in path_keys:
        marker = "uniqueEmail"
    if key == "email" and "orderLookup" in path_keys:
        marker = "shopperEmail"
    if marker is None:
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return value
    if isinstance(value, (int, float)):
        return "{{%s:number}}" % marker
    return "{{%s}}" % marker


def mark_body(value, path_keys=()):
    if isinstance(value, dict):
        return {k: (mark_body(v, path_keys + (k,)) if isinstance(v, (dict, list))
                    else mark_value(k, v, path_keys))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mark_body(v, path_keys) for v in value]
    return value


def repair_json(text):
    """The docs' JSON with their slips mended, driven by where the parser stops: (value,
    [what was mended]) or None. Mends: curly quotes, `...` elisions, missing or trailing
    commas, unquoted words, a second sample after the first."""
    notes = set()
    t = text.strip()
    if re.search("[\u201c\u201d]", t):
        t = re.sub("[\u201c\u201d]", '"', t)
        notes.add("curly quotes straightened")
    seen = set()
    while t not in seen:
        seen.add(t)
        try:
            return json.loads(t), sorted(notes)
        except json.JSONDecodeError as e:
            pos, msg = e.pos, e.msg
        before = t[:pos].rstrip()
        rest = t[pos:]
        if msg.startswith("Extra data"):
            t = t[:pos]
            notes.add("a second sample after the first left out")
        elif not rest.strip():
            # A sample cut short: close what is open.
            t = before.rstrip(",")
            stack = []
            in_string = False
            escaped = False
            for ch in t:
                if in_string:
                    if ch == '"' and not escaped:
                        in_string = False
                    escaped = not escaped and ch == "\\"
                    continue
                if ch == '"':
                    in_string = True
                elif ch in "{[":
                    stack.append("}" if ch == "{" else "]")
                elif ch in "}]" and stack:
                    stack.pop()
            if not stack:
                return None
            t += "".join(reversed(stack))
            notes.add("unclosed brackets closed")
        elif rest.startswith(":") and before.endswith(","):
            t = before[:-1] + t[len(before):]
            notes.add("a stray comma removed")
        elif rest.startswith("..."):
            t = before + rest[3:].lstrip(" \t").lstrip(",")
            notes.add("`...` elisions left out")
        elif msg.startswith("Expecting ',' delimiter"):
            t = before + "," + t[len(before):]
            notes.add("a missing comma added")
        elif before.endswith(",") and rest[:1] in ("}", "]"):
            t = before[:-1] + t[len(before):]
            notes.add("a trailing comma removed")
        elif msg.startswith(("Expecting value", "Expecting property name")):
            if msg.startswith("Expecting value"):
                m = re.match(r"[A-Za-z_@][^,\n}\]]*", rest)  # a bare value: up to , or end of line
            else:
                m = re.match(r"[A-Za-z_@][\w-]*", rest)  # a bare key
            if not m:
                return None
            t = t[:pos] + json.dumps(m.group(0).rstrip()) + rest[len(m.group(0).rstrip()):]
            notes.add("an unquoted word quoted")
        else:
            return None
    return None


def key_paths(value, prefix=""):
    out = set()
    if isinstance(value, dict):
        for k, v in value.items():
            p = k if not prefix else prefix + "." + k
            out.add(p)
            out |= key_paths(v, p)
    elif isinstance(value, list):
        for v in value:
            out |= key_paths(v, prefix + "[]")
    return out


def parse_response(block):
    """(status shown or None, parsed JSON body or None, why the body is not counted or None)."""
    t = block["text"].strip()
    status = None
    m = re.match(r"HTTP/1\.1 ([1-5]\d\d)", t)
    if m:
        status = int(m.group(1))
    m = re.search(r"\b([1-5]\d\d)\b", block["tab"] or "")
    if m:
        status = int(m.group(1))
    if t.startswith("..."):
        return status, None, "the response sample is a fragment (it starts with `...`): its keys are not counted"
    body_text = re.sub(r"^(JSON|J)(?=\s*[{\[])", "", t)
    if not body_text.startswith(("{", "[")):
        return status, None, None
    parsed = repair_json(body_text)
    if parsed is None:
        return status, None, "the response sample is not JSON, even mended: its keys are not counted"
    return status, parsed[0], None


PROSE_STATUS = re.compile(
    r"`([1-5]\d\d)[^`]*`\s+(?:\w+\s+)?response|HTTP Status ([1-5]\d\d)", re.I)


def prose_status(lines, bl, i):
    """A status the prose after the request bl[i] names (`You will get a `200 OK` response`):
    the prose up to the first code block outside the request's tabs."""
    b = bl[i]
    stop = len(lines)
    for later in bl[i + 1:]:
        if later["group"] is None or later["group"] != b["group"]:
            stop = later["line"] - 1
            break
    in_code = set()
    for other in bl:
        in_code.update(range(other["line"] - 1, other["end"]))
    for n in range(b["end"], stop):
        if n in in_code:
            continue
        m = PROSE_STATUS.search(lines[n])
        if m:
            return int(m.group(1) or m.group(2))
    return None


def request_method(block):
    t = block["text"].strip()
    return (curl_parts(t) if t.lower().startswith("curl") else request_line_parts(t))[0]


def pair(bl, i):
    """The payload tab and the response block of the request bl[i] (each None if absent), and
    the titles of further response tabs of the same example."""
    b = bl[i]
    method = request_method(b)
    payload = response = None
    others = []
    for later in bl[i + 1:]:
        if is_request(later):
            break
        same_group = later["group"] is not None and later["group"] == b["group"]
        if not same_group and later["heading"] != b["heading"]:
            break
        payload_tab = bool(later["tab"] and re.search(r"payload|request body", later["tab"], re.I))
        if payload_tab and same_group and payload is None and method not in ("GET", "DELETE"):
            payload = later
            continue
        if response is None and (is_response(later) or (payload_tab and method in ("GET", "DELETE"))):
            response = later
            continue
        if response is not None:
            if same_group and is_response(later):
                others.append(later["tab"])
                continue
            break
    return payload, response, others


def extract():
    root = docs_root()
    table = routes()
    cases = []
    skipped = []
    pages = []
    for d in DOC_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, d)):
            for f in filenames:
                if f.endswith(".md"):
                    pages.append(os.path.join(dirpath, f))
    pages.sort()
    for page in pages:
        rel = os.path.relpath(page, root)
        text = open(page, encoding="utf-8").read()
        lines = text.split("\n")
        bl = blocks(text)
        requests = [i for i, b in enumerate(bl) if is_request(b)]
        paired = {i: pair(bl, i) for i in requests}
        response_by_heading = {}
        for i in requests:
            response_by_heading.setdefault(bl[i]["heading"], paired[i][1])
        for i in requests:
            b = bl[i]
            payload, response, others = paired[i]
            notes = []
            if others:
                notes.append("further response samples of the example not checked: "
                             + ", ".join(sorted(set(others))))
            errata = RESPONSE_ERRATA.get((rel, b["heading"]))
            if errata:
                other, why = errata
                response = response_by_heading.get(other) if other else None
                notes.append(why)
            source = {"page": rel, "heading": b["heading"], "line": b["line"]}
            if b["tab"]:
                source["tab"] = b["tab"]
            status_in_prose = prose_status(lines, bl, i)
            entry = {"source": source}
            skip = classify(b, response, payload, table, entry, notes, status_in_prose)
            skip = NOT_A_REQUEST.get((rel, b["heading"])) or skip
            if skip:
                entry["reason"] = skip
                skipped.append(entry)
            else:
                cases.append(entry)
    for c in cases:
        c["id"] = "%s:%d" % (c["source"]["page"], c["source"]["line"])
    # An erratum no case meets any more (the docs changed, or a heading did) must go.
    met = {(c["source"]["page"], c["source"]["heading"]) for c in cases}
    stale = sorted((set(RESPONSE_KEY_ERRATA) | set(QUERY_ERRATA)) - met)
    if stale:
        raise SystemExit("RESPONSE_KEY_ERRATA or QUERY_ERRATA names no case: %s" % stale)
    return {
        "about": "Generated by tests/docs_examples/extract.py from the Global Commerce docs "
                 "(reference copy); do not edit: rerun the script. docs/docs-examples.md explains it.",
        "cases": cases,
        "skipped": skipped,
        "totals": {
            "requestExamples": len(cases) + len(skipped),
            "cases": len(cases),
            "skipped": len(skipped),
            "documentedKeys": sum(len(c["responseKeys"]) for c in cases),
        },
    }


def classify(b, response, payload, table, entry, notes, status_in_prose):
    """Fills `entry` with the case; returns why it is skipped, or None."""
    text = b["text"].strip()
    if text.lower().startswith("curl"):
        method, url, _headers, body, kind = curl_parts(text)
    else:
        method, url, _headers, body, kind = request_line_parts(text)
    method_errata = METHOD_ERRATA.get((entry["source"]["page"], entry["source"]["heading"]))
    if method_errata:
        method = method_errata[0]
        notes.append(method_errata[1])
    entry["method"] = method
    if not url:
        return "the request names no URL"
    path_raw = strip_host(url)
    split = urlsplit(path_raw)
    path = unquote(split.path).strip()
    entry["documentedPath"] = path_raw
    if path.endswith("/") and len(path) > 1:
        path = path.rstrip("/")
    json_suffix = path.endswith(".json")
    if json_suffix:
        path = path[: -len(".json")]
    for pattern, repl, why in PATH_ERRATA:
        new = re.sub(pattern, repl, path)
        if new != path:
            notes.append(why)
            path = new
    route, exact = match_route(method, path, table)
    if route is None:
        return "no route of the access table has this path"
    if exact is None:
        return "%s is not a route of the access table (the path has %s)" % (
            method, ", ".join(sorted(r["method"] for r in table if r["path"] == route["path"])))
    if not exact["provided"]:
        return "not provided yet (access table: %s %s, No)" % (method, exact["path"])
    if exact["level"] == "oauth":
        return ("token service (/oauth20, conformant): covered by tests/api/token.rs, "
                "authorize.rs and the quick-start collection (.ci/conformance)")
    entry["route"] = exact["path"]
    entry["path"] = template_path(exact, path) + (".json" if json_suffix else "")
    query = []
    for k, v in parse_qsl(split.query, keep_blank_values=True):
        if k in ("token", "apiKey", "session_token"):
            continue  # credentials are the test's own
        if re.match(r"^[{<\[].*[}>\]]$", v):
            v = "{{%s}}" % VALUE_MARKERS.get(k, k)
        else:
            v = mark_value(k, v, ())
            if isinstance(v, str) and v.endswith(":number}}"):
                v = v.replace(":number", "")
        query.append([k, v])
    query_errata = QUERY_ERRATA.get((entry["source"]["page"], entry["source"]["heading"]))
    if query_errata:
        query += query_errata[0]
        notes.append(query_errata[1])
    entry["query"] = query
    if payload is not None and body is None:
        body, kind = payload["text"], "raw"
        notes.append("the body is the example's payload tab")
    if method in ("GET", "DELETE") and body is not None and kind == "raw":
        # The docs' GET with --data-raw: what follows is the answer, not a body.
        if response is None:
            response = {"heading": b["heading"], "line": b["line"], "tab": None, "text": body}
            notes.append("the docs show the answer as the GET's --data-raw: it is the response sample")
        body = None
    if kind == "form":
        entry["form"] = [[k, "{{%s}}" % FORM_MARKERS[k] if k in FORM_MARKERS else v]
                         for k, _, v in (item.partition("=") for item in body)]
    elif body is not None and body.strip() not in ("", "..."):
        parsed = repair_json(body)
        if parsed is None:
            return "the request body is not JSON, even mended"
        notes += ["request body: " + n for n in parsed[1]]
        entry["body"] = mark_body(parsed[0])
    if exact["path"] == "/v1/shoppers" and method == "POST" and "body" not in entry \
            and re.search(r"^\s*\.\.\.\s*$", text, re.M):
        return "the example elides its body (`...`): a shopper to create is not shown"
    # Store credit is created by the merchant's backend with its confidential key (the docs'
    # "Creating secondary sources"); other sources with the browser's payments public key.
    credit = isinstance(entry.get("body"), dict) and entry["body"].get("type") == "customerCredit"
    entry["auth"] = ("anonymous" if exact["path"] == "/v1/shoppers" and method == "POST"
                     else exact["level"] if exact["level"] in ("admin-key", "admin-staff")
                     else "confidential-key" if exact["level"] == "payments" and credit
                     else "payments-key" if exact["level"] == "payments" else "shopper")
    status_errata = STATUS_ERRATA.get((entry["source"]["page"], entry["source"]["heading"]))
    if status_errata and not status_in_prose:
        status_in_prose = status_errata[0]
        notes.append(status_errata[1])
    status, resp_body = None, None
    if response is not None:
        status, resp_body, problem = parse_response(response)
        entry["responseSource"] = {"heading": response["heading"], "line": response["line"]}
        if response["tab"]:
            entry["responseSource"]["tab"] = response["tab"]
        if problem:
            notes.append(problem)
        key_errata = RESPONSE_KEY_ERRATA.get((entry["source"]["page"], entry["source"]["heading"]))
        if key_errata and resp_body is not None:
            kind, why = key_errata
            resp_body = map_response_keys(kind, resp_body)
            notes.append(why)
        if status is None and status_in_prose:
            status = status_in_prose
    elif status_in_prose:
        status = status_in_prose
        notes.append("no response sample: the status is the one the prose names")
    else:
        notes.append("no response sample or status: any 2xx is accepted")
    if status == 204 and resp_body:
        notes.append("the docs show 204 with a body: any 2xx is accepted, the keys are checked")
        status = None
    entry["status"] = status
    entry["responseKeys"] = sorted(key_paths(resp_body)) if resp_body is not None else []
    entry["notes"] = notes
    return None


DOC = os.path.join(REPO, "docs", "docs-examples.md")
BEGIN = "<!-- docs-examples:skipped:begin -->"
END = "<!-- docs-examples:skipped:end -->"


def skipped_markdown(data):
    """The list of skipped examples and of the docs' errata the cases mend, for the doc page."""
    t = data["totals"]
    out = ["%d request examples in the pages read: %d run as cases, %d left out." % (
        t["requestExamples"], t["cases"], t["skipped"]), "",
        "| page (line) | request | why skipped |", "| --- | --- | --- |"]
    for s in data["skipped"]:
        src = s["source"]
        out.append("| %s (%d) | %s `%s` | %s |" % (
            src["page"], src["line"], s["method"],
            s.get("documentedPath", "?").replace("|", "%7C"), s["reason"]))
    out += ["", "Errata the cases mend or leave out (the case runs; see its notes):", ""]
    seen = {}
    for c in data["cases"]:
        for n in c["notes"]:
            seen.setdefault(n, []).append("%s:%d" % (c["source"]["page"], c["source"]["line"]))
    for n in sorted(seen):
        out.append("- %s (%d: %s)" % (n, len(seen[n]), ", ".join(seen[n])))
    return "\n".join(out) + "\n"


def main(argv):
    if "--docs-found" in argv:
        return 0 if any(c and os.path.isdir(c) for c in DOCS_CANDIDATES) else 1
    data = extract()
    out = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    listing = BEGIN + "\n" + skipped_markdown(data) + END
    if "--skipped-markdown" in argv:
        sys.stdout.write(listing + "\n")
        return 0
    if "--stdout" in argv:
        sys.stdout.write(out)
        return 0
    if "--check" in argv:
        current = open(CASES, encoding="utf-8").read() if os.path.exists(CASES) else ""
        status = 0
        if current != out:
            sys.stderr.write("tests/docs_examples/cases.json is not the script's output: "
                             "run python3 tests/docs_examples/extract.py\n")
            status = 1
        page = open(DOC, encoding="utf-8").read() if os.path.exists(DOC) else ""
        if listing not in page:
            sys.stderr.write("docs/docs-examples.md does not list the skipped examples as the "
                             "script does: run python3 tests/docs_examples/extract.py\n")
            status = 1
        return status
    with open(CASES, "w", encoding="utf-8") as f:
        f.write(out)
    # The doc page's list, between its markers.
    if os.path.exists(DOC):
        page = open(DOC, encoding="utf-8").read()
        if BEGIN in page and END in page:
            head, rest = page.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            with open(DOC, "w", encoding="utf-8") as f:
                f.write(head + listing + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
