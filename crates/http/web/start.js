// Shopkeeper's start page: a small storefront for the demo site, on the public API, from the
// browser. Every step below says which documented endpoint it calls (README.md, "The API it
// serves"; the rendered reference at ./api-reference). The one call that is not part of the
// API is GET start/config.json, which hands this page the demo site's public values: a real
// storefront has its public API key and payments public key in its own configuration.
//
// Paths are relative to the page ("v1/shoppers/...", not "/v1/shoppers/..."), so the page
// works wherever Shopkeeper is served, behind a proxy on its --public-url too.
"use strict";

// What this tab knows. Tokens are kept in sessionStorage (this tab only, gone when it
// closes) so that a reload, and the return from the hosted sign-in page, find them again.
const TOKENS = "shopkeeper-start-tokens";
const PENDING_SIGN_IN = "shopkeeper-start-sign-in";
const page = {
  config: null, // GET start/config.json
  access: null, // the current access token (limited for a guest, full once signed in)
  refresh: null,
  signedIn: false,
  products: new Map(), // product id -> product, variations included (for the cart's view)
  cart: null,
};

// --- Small helpers -------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

// Builds an element; strings become text (never HTML), so nothing from the API is parsed.
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function say(text, isError = false) {
  const box = $("message");
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.hidden = !text;
}

// An answer that was not 2xx, with the message of whichever documented error shape it has.
class ApiError extends Error {
  constructor(status, body) {
    super(
      body?.error_description || // OAuth endpoints: {error, error_description}
        body?.errors?.error?.[0]?.description || // Shopper API: {errors: {error: [...]}}
        body?.errors?.[0]?.message || // payments: {type, errors: [{code, message}]}
        `HTTP ${status}`,
    );
    this.status = status;
    this.body = body;
  }
}

// One call to the API. `token` goes in `Authorization: Bearer`, `json` is sent as a JSON body,
// `form` as an application/x-www-form-urlencoded body (the token endpoint's).
async function call(method, path, { token, json, form } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = new URLSearchParams(form); // fetch sets the form content type
  }
  const response = await fetch(path, { method, headers, body });
  logCall(method, path, response.status);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error_description: text };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function logCall(method, path, status) {
  const ok = status < 400;
  $("call-log").append(
    el("li", { class: ok ? "ok" : "failed" }, `${method} /${path} → ${status}`),
  );
}

// The API's money objects come with a formatted twin: show that, compute nothing here.
const priceOf = (pricing) => pricing?.formattedSalePriceWithQuantity ?? "";

// --- Configuration --------------------------------------------------------------------------

async function loadConfig() {
  // Not part of the documented API: this server's demo site, public key and payments key.
  page.config = await call("GET", "start/config.json");
  if (!page.config.apiKey || page.config.setup.length > 0) {
    $("setup").hidden = false;
    $("setup-why").textContent = !page.config.apiKey
      ? `The store needs a site "${page.config.siteId}" with a public API key.`
      : "Signing in from this page needs a public key with this page registered as its redirect URI.";
    $("setup-commands").textContent = page.config.setup.join("\n");
  }
  return Boolean(page.config.apiKey);
}

// --- Tokens and the shopper session ---------------------------------------------------------

function keepTokens(pair) {
  page.access = pair.access_token;
  page.refresh = pair.refresh_token ?? null;
  sessionStorage.setItem(
    TOKENS,
    JSON.stringify({ access: page.access, refresh: page.refresh }),
  );
}

async function startSession() {
  const saved = JSON.parse(sessionStorage.getItem(TOKENS) || "null");
  if (saved?.access) {
    try {
      // GET /oauth20/access-tokens: is the token still good, and is the shopper signed in?
      const info = await call("GET", "oauth20/access-tokens", { token: saved.access });
      page.access = saved.access;
      page.refresh = saved.refresh;
      page.signedIn = info.authenticated === "true";
      return;
    } catch (e) {
      if (e.status !== 401) throw e;
    }
    if (saved.refresh) {
      try {
        // POST /oauth20/token grant_type=refresh_token: a new pair in the same session (the
        // old refresh token is consumed). A public key names itself with client_id.
        keepTokens(
          await call("POST", "oauth20/token", {
            form: {
              grant_type: "refresh_token",
              refresh_token: saved.refresh,
              client_id: page.config.apiKey,
            },
          }),
        );
        const info = await call("GET", "oauth20/access-tokens", { token: page.access });
        page.signedIn = info.authenticated === "true";
        return;
      } catch (e) {
        if (e.status !== 400 && e.status !== 401) throw e;
      }
    }
  }
  // GET /store/{siteId}/SessionToken?apiKey=KEY&format=json: a limited (guest) token in this
  // browser's shopper session. An HttpOnly cookie ties the browser to that session, so the
  // cart survives reloads, and the hosted sign-in page later continues in the same session,
  // cart included, without any token in a URL.
  const site = encodeURIComponent(page.config.siteId);
  const key = encodeURIComponent(page.config.apiKey);
  keepTokens(await call("GET", `store/${site}/SessionToken?apiKey=${key}&format=json`));
  page.signedIn = false;
}

async function showAccount() {
  $("sign-in").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in-elsewhere").hidden = true;
  if (page.signedIn) {
    // GET /v1/shoppers/me: the signed-in shopper.
    const me = await call("GET", "v1/shoppers/me", { token: page.access });
    $("account-status").textContent = `Signed in as ${me.shopper.username ?? me.shopper.id}`;
    $("sign-out").hidden = false;
    return;
  }
  $("account-status").textContent = "Shopping as a guest";
  const redirect = page.config.redirectUri;
  if (!redirect) return; // no key can sign in here: the set-up box says why
  if (location.origin + location.pathname === redirect) {
    $("sign-in").hidden = false;
  } else {
    // The hosted page sends the shopper back to the registered URI only: sign in there.
    const there = $("sign-in-elsewhere");
    there.href = redirect;
    there.hidden = false;
  }
}

// --- Signing in through the hosted page: authorization code with PKCE -----------------------

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function signIn() {
  if (!crypto.subtle) {
    // WebCrypto exists only in secure contexts: https, or http on localhost / 127.0.0.1.
    throw new Error("Signing in from this page needs https (or localhost): open it there.");
  }
  // PKCE (RFC 7636): a random verifier that stays in this tab; its SHA-256 goes out as the
  // challenge. `state` ties the answer to this request.
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const challenge = base64url(new Uint8Array(digest));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(PENDING_SIGN_IN, JSON.stringify({ verifier, state }));
  // GET /oauth20/authorize?response_type=code: the hosted sign-in page; after the shopper
  // signs in, the browser comes back to this page with ?code=…&state=…&iss=….
  const url = new URL("oauth20/authorize", document.baseURI);
  url.search = new URLSearchParams({
    client_id: page.config.apiKey,
    response_type: "code",
    redirect_uri: page.config.redirectUri,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(url);
}

// Back from the hosted page: redeem the code for a full token of the same session.
async function finishSignIn(params) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING_SIGN_IN) || "null");
  sessionStorage.removeItem(PENDING_SIGN_IN);
  // The code is single-use: take it off the address bar (and out of the history).
  history.replaceState(null, "", location.pathname);
  if (params.has("error")) {
    throw new Error(`Sign-in failed: ${params.get("error_description") || params.get("error")}`);
  }
  if (!pending || params.get("state") !== pending.state) {
    throw new Error("This sign-in answer was not asked for by this tab; sign in again.");
  }
  // GET /.well-known/oauth-authorization-server: the issuer, which the answer's `iss` must
  // name (RFC 9207: the code came from the server this page asked).
  const metadata = await call("GET", ".well-known/oauth-authorization-server");
  if (params.get("iss") !== metadata.issuer) {
    throw new Error("The sign-in answer came from another server; sign in again.");
  }
  // POST /oauth20/token grant_type=authorization_code: the code and the PKCE verifier give
  // a full token pair in the session the shopper signed in on (the guest's cart included).
  keepTokens(
    await call("POST", "oauth20/token", {
      form: {
        grant_type: "authorization_code",
        code: params.get("code"),
        redirect_uri: page.config.redirectUri,
        code_verifier: pending.verifier,
        client_id: page.config.apiKey,
      },
    }),
  );
  page.signedIn = true;
}

async function signOut() {
  // DELETE /oauth20/access-tokens: ends the session; every token of it stops working.
  await call("DELETE", "oauth20/access-tokens", { token: page.access });
  sessionStorage.removeItem(TOKENS);
  $("order").hidden = true;
  await startSession();
  await showAccount();
  await loadCart();
  say("Signed out.");
}

// --- Catalog --------------------------------------------------------------------------------

async function loadProducts() {
  // GET /v1/shoppers/me/products?expand=all: products with pricing and inventory status.
  const list = await call("GET", "v1/shoppers/me/products?expand=all&pageSize=50", {
    token: page.access,
  });
  const products = list.products.product ?? [];
  for (const product of products) {
    page.products.set(product.id, product);
    if (product.variations?.product?.length) {
      // GET /v1/shoppers/me/products/{id}/variations?expand=all: the purchasable variants.
      const variations = await call(
        "GET",
        `v1/shoppers/me/products/${product.id}/variations?expand=all`,
        { token: page.access },
      );
      product.variants = variations.variations.product ?? [];
      for (const v of product.variants) page.products.set(v.id, v);
    }
  }
  const ul = $("product-list");
  ul.replaceChildren(...products.map(productCard));
  $("products").hidden = false;
}

function inStock(product) {
  return product.inventoryStatus?.productIsInStock !== false;
}

function productCard(product) {
  const choices = product.variants ?? [product];
  const firstAvailable = choices.find(inStock) ?? choices[0];
  const quantity = el("input", { type: "number", min: "1", value: "1", "aria-label": "Quantity" });
  let picker = null;
  if (product.variants) {
    picker = el(
      "select",
      { "aria-label": `Variant of ${product.displayName}` },
      product.variants.map((v) =>
        el(
          "option",
          { value: v.id, disabled: !inStock(v), selected: v === firstAvailable },
          `${v.displayName} — ${priceOf(v.pricing)}${inStock(v) ? "" : " (out of stock)"}`,
        ),
      ),
    );
  }
  const pricing = firstAvailable.pricing ?? {};
  const tiers = (pricing.volumePricing?.pricePoint ?? [])
    .map((p) => `${p.minQuantity}+ at ${p.formattedUnitPrice}`)
    .join(", ");
  const button = el(
    "button",
    {
      type: "button",
      disabled: !inStock(firstAvailable),
      onclick: () =>
        run(() => addToCart(picker ? Number(picker.value) : product.id, Number(quantity.value))),
    },
    "Add to cart",
  );
  return el(
    "li",
    { class: "product", id: `product-${product.id}`, "data-product-id": product.id },
    el("h3", {}, product.displayName),
    product.shortDescription ? el("p", { class: "meta" }, product.shortDescription) : null,
    el(
      "p",
      { class: "price" },
      priceOf(pricing),
      pricing.formattedListPrice && pricing.formattedListPrice !== priceOf(pricing)
        ? el("span", { class: "was" }, pricing.formattedListPrice)
        : null,
    ),
    tiers ? el("p", { class: "meta" }, `Volume prices: ${tiers}`) : null,
    el(
      "p",
      { class: "meta" },
      product.productType === "DIGITAL" ? "Download" : "Shipped",
      inStock(firstAvailable) ? "" : " · out of stock",
    ),
    el(
      "div",
      { class: "buy" },
      picker ? el("label", {}, "Variant", picker) : null,
      el("label", {}, "Quantity", quantity),
      button,
    ),
  );
}

// --- Cart -----------------------------------------------------------------------------------

async function addToCart(productId, quantity) {
  // POST /v1/shoppers/me/carts/active/line-items?productId=ID&quantity=N: adds a line.
  await call(
    "POST",
    `v1/shoppers/me/carts/active/line-items?productId=${productId}&quantity=${quantity}`,
    { token: page.access },
  );
  $("order").hidden = true;
  await loadCart();
  say(`Added ${page.products.get(productId)?.displayName ?? "the product"} to the cart.`);
}

async function removeLine(lineId) {
  // DELETE /v1/shoppers/me/carts/active/line-items/{id}: removes one line.
  await call("DELETE", `v1/shoppers/me/carts/active/line-items/${lineId}`, { token: page.access });
  await loadCart();
}

function totals(dl, pricing) {
  const rows = [
    ["Subtotal", pricing.formattedSubtotal],
    ["Discount", pricing.formattedDiscount],
    ["Shipping", pricing.formattedShippingAndHandling],
    ["Tax", pricing.formattedTax],
  ];
  dl.replaceChildren(
    ...rows.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]),
    el("dt", { class: "total" }, "Total"),
    el("dd", { class: "total", "data-total": "" }, pricing.formattedOrderTotal),
  );
}

async function loadCart() {
  // GET /v1/shoppers/me/carts/active: lines, addresses, payment method and totals.
  const { cart } = await call("GET", "v1/shoppers/me/carts/active", { token: page.access });
  page.cart = cart;
  const lines = cart.lineItems.lineItem ?? [];
  $("cart").hidden = false;
  $("cart-empty").hidden = lines.length > 0;
  $("cart-table").hidden = lines.length === 0;
  $("cart-totals").hidden = lines.length === 0;
  $("checkout").hidden = lines.length === 0;
  $("cart-lines").replaceChildren(
    ...lines.map((line) =>
      el(
        "tr",
        { "data-line-id": line.id, "data-product-id": line.product.id },
        el("td", {}, line.product.displayName),
        el("td", {}, line.quantity),
        el("td", { class: "money" }, priceOf(line.pricing)),
        el(
          "td",
          {},
          el(
            "button",
            {
              type: "button",
              class: "secondary",
              "aria-label": `Remove ${line.product.displayName}`,
              onclick: () => run(() => removeLine(line.id)),
            },
            "Remove",
          ),
        ),
      ),
    ),
  );
  totals($("cart-totals"), cart.pricing);
  if (lines.length > 0) await loadShippingOptions();
}

async function loadShippingOptions() {
  // GET /v1/shoppers/me/carts/active/shipping-options: offered only when something ships.
  const { shippingOptions } = await call("GET", "v1/shoppers/me/carts/active/shipping-options", {
    token: page.access,
  });
  const options = shippingOptions.shippingOption ?? [];
  $("shipping-fieldset").hidden = options.length === 0;
  const chosen = page.cart.shippingMethod?.code;
  $("shipping-options").replaceChildren(
    ...options.map((o) =>
      el(
        "label",
        {},
        el("input", {
          type: "radio",
          name: "shippingOption",
          value: o.id,
          checked: o.id === chosen,
        }),
        ` ${o.description} — ${o.formattedCost}`,
      ),
    ),
  );
}

// --- Checkout -------------------------------------------------------------------------------

function addressFromForm() {
  const value = (id) => $(id).value.trim() || undefined;
  return {
    firstName: value("first-name"),
    lastName: value("last-name"),
    emailAddress: value("email"),
    line1: value("line1"),
    city: value("city"),
    countrySubdivision: value("subdivision"),
    postalCode: value("postal-code"),
    country: value("country")?.toUpperCase(),
  };
}

async function placeOrder() {
  const token = page.access;
  const address = addressFromForm();
  const cartPath = "v1/shoppers/me/carts/active";

  // POST .../apply-billing-address and .../apply-shipping-address {"address": {...}}.
  await call("POST", `${cartPath}/apply-billing-address`, { token, json: { address } });
  const ships = !$("shipping-fieldset").hidden;
  if (ships) {
    await call("POST", `${cartPath}/apply-shipping-address`, { token, json: { address } });
    const option = document.querySelector("input[name=shippingOption]:checked");
    if (option) {
      // POST .../apply-shipping-option?shippingOptionId=N
      await call("POST", `${cartPath}/apply-shipping-option?shippingOptionId=${option.value}`, {
        token,
      });
    }
  }

  // GET the cart again: its total (with shipping and tax for this address) is what the
  // payment source is for (informational in test mode: the submit charges the cart total).
  const { cart } = await call("GET", cartPath, { token });

  // POST /payments/sources with the payments public key (not an access token): the card
  // goes to the payments service, the cart only ever sees the source id.
  const source = await call("POST", "payments/sources", {
    token: page.config.paymentsPublicKey,
    json: {
      type: "creditCard",
      currency: cart.pricing.orderTotal.currency,
      amount: cart.pricing.orderTotal.value,
      reusable: false,
      owner: {
        firstName: address.firstName,
        lastName: address.lastName,
        email: address.emailAddress,
        address: {
          line1: address.line1,
          city: address.city,
          state: address.countrySubdivision,
          postalCode: address.postalCode,
          country: address.country,
        },
      },
      creditCard: {
        number: $("card-number").value.replace(/\s+/g, ""),
        expirationMonth: Number($("card-month").value),
        expirationYear: Number($("card-year").value),
        cvv: $("card-cvv").value.trim(),
      },
    },
  });

  // POST .../apply-payment-method {"paymentMethod": {"sourceId"}}
  await call("POST", `${cartPath}/apply-payment-method`, {
    token,
    json: { paymentMethod: { sourceId: source.id } },
  });

  // POST .../submit-cart: the order (one transaction: charge, stock, order, empty cart).
  const submitted = await call("POST", `${cartPath}/submit-cart`, { token });
  await showOrder(submitted.submitCart.order.id);
  await loadCart();
  await loadProducts(); // stock changed
}

async function showOrder(orderId) {
  // GET /v1/shoppers/me/orders/{id}: the order as the API keeps it.
  const { order } = await call("GET", `v1/shoppers/me/orders/${orderId}`, { token: page.access });
  const card = order.paymentMethod?.creditCard;
  $("order").hidden = false;
  $("order").dataset.orderId = order.id;
  $("order-summary").textContent =
    `Order ${order.id} (${order.orderState}), placed ${new Date(order.submissionDate).toLocaleString()}` +
    (card ? `, paid with ${card.brand} ending ${card.lastFourDigits}` : "") +
    (order.emailAddress ? `; confirmation to ${order.emailAddress}.` : ".");
  $("order-lines").replaceChildren(
    ...(order.lineItems.lineItem ?? []).map((line) =>
      el(
        "tr",
        {},
        el("td", {}, line.product.displayName),
        el("td", {}, line.quantity),
        el("td", { class: "money" }, priceOf(line.pricing)),
      ),
    ),
  );
  totals($("order-totals"), order.pricing);
  say(`Thank you! Order ${order.id} is placed.`);
  $("order").scrollIntoView({ block: "start" });
}

// --- Wiring ---------------------------------------------------------------------------------

let busy = false;

// Runs one user action at a time and shows its failure, in the API's own words.
async function run(action) {
  if (busy) return;
  busy = true;
  document.body.setAttribute("aria-busy", "true");
  try {
    say("");
    await action();
  } catch (e) {
    say(e.message, true);
  } finally {
    busy = false;
    document.body.removeAttribute("aria-busy");
  }
}

async function main() {
  if (!(await loadConfig())) {
    $("account-status").textContent = "The store is not set up";
    return;
  }
  const params = new URLSearchParams(location.search);
  if (params.has("code") || params.has("error")) {
    try {
      await finishSignIn(params);
    } catch (e) {
      say(e.message, true);
    }
  }
  await startSession();
  await showAccount();
  await loadProducts();
  await loadCart();
  document.body.dataset.ready = "true"; // for tests and for the curious: all loaded
}

$("sign-in").addEventListener("click", () => run(signIn));
$("sign-out").addEventListener("click", () => run(signOut));
$("checkout-form").addEventListener("submit", (event) => {
  event.preventDefault();
  run(placeOrder);
});
run(main);
