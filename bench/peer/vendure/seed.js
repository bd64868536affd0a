// The benchmark's Vendure peer: creates the schema and the data on an empty PostgreSQL database.
//
//   node seed.js --products N --orders M        (env: DB_HOST DB_PORT DB_NAME DB_USER PORT)
//
// 1. Boots Vendure once with synchronize:true (schema), populates the initial data (channel USD,
//    zone Americas with country US, tax rate 0 %, shipping method "Standard" at $5.00, payment
//    method "Standard Payment" on dummyPaymentHandler with automaticSettle, the superadmin), the
//    collections software > games and hardware (facet-value filters on facet "category"), and
//    three template products through Vendure's own Importer; runs the job queue in-process until
//    the search index and collection jobs are done; then places one template order as a guest
//    through the Shop API on PORT (an ordinary HTTP request to itself).
// 2. Shuts Vendure down and clones, by SQL (generate_series), the template products into products
//    4..N and the template order into M orders (state PaymentSettled), then ANALYZEs.
// Prints two JSON lines on stdout: what was seeded with timings, then the ids the visit needs.
'use strict';

const { Client } = require('pg');

function arg(name, dflt) {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const N = arg('products', 1000);
const M = arg('orders', 0);
if (!(N >= 3) || !(M >= 0)) {
    console.error('usage: node seed.js --products N(>=3) --orders M');
    process.exit(2);
}
process.env.NODE_ENV = process.env.NODE_ENV || 'production';
const env = process.env;
const port = Number(env.PORT || 3000);
const t0 = Date.now();
const since = t => (Date.now() - t) / 1000;
const log = msg => console.error(`[seed ${since(t0).toFixed(1)}s] ${msg}`);

const CATEGORIES = [
    // i % 3 → collection
    { slug: 'software', name: 'Software', parent: null },
    { slug: 'games', name: 'Games', parent: 'Software' },
    { slug: 'hardware', name: 'Hardware', parent: null },
];

const initialData = {
    defaultLanguage: 'en',
    defaultZone: 'Americas',
    countries: [{ name: 'United States', code: 'US', zone: 'Americas' }],
    taxRates: [{ name: 'Standard', percentage: 0 }],
    shippingMethods: [{ name: 'Standard', price: 500 }],
    paymentMethods: [
        {
            name: 'Standard Payment',
            handler: { code: 'dummy-payment-handler', arguments: [{ name: 'automaticSettle', value: 'true' }] },
        },
    ],
    collections: CATEGORIES.map(c => ({
        name: c.name,
        slug: c.slug,
        parentName: c.parent || undefined,
        inheritFilters: false,
        filters: [{ code: 'facet-value-filter', args: { facetValueNames: [c.slug], containsAny: false } }],
    })),
};

const price = i => 1000 + (i % 9000); // cents
// Template products 1, 2, 3 (collections games, hardware, software); product i > 3 is cloned from
// template ((i - 1) % 3) + 1, which has the same i % 3.
function templateCsv() {
    const head = 'name,slug,description,assets,facets,optionGroups,optionValues,sku,price,taxCategory,stockOnHand,trackInventory,variantAssets,variantFacets';
    const rows = [1, 2, 3].map(i =>
        [
            `Bench product ${i}`,
            `bench-product-${i}`,
            'A product of the load benchmark.',
            '',
            `category:${CATEGORIES[i % 3].slug}`,
            '',
            '',
            `BENCH-${i}`,
            (price(i) / 100).toFixed(2),
            'Standard',
            '1000000000',
            'true',
            '',
            '',
        ].join(','),
    );
    return [head, ...rows].join('\n') + '\n';
}

async function gql(token, query, variables) {
    const res = await fetch(`http://127.0.0.1:${port}/shop-api`, {
        method: 'POST',
        headers: Object.assign(
            { 'content-type': 'application/json' },
            token ? { authorization: `Bearer ${token}` } : {},
        ),
        body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
    return { token: res.headers.get('vendure-auth-token') || token, data: body.data };
}

async function expectType(step, r, field, typename) {
    const v = r.data[field];
    if (!v || v.__typename !== typename) throw new Error(`${step}: ${JSON.stringify(v)}`);
    return v;
}

/** Places the template order through the Shop API, as a guest; returns its code. */
async function placeTemplateOrder(variantIds, shippingMethodId) {
    const add = `mutation($id: ID!) { addItemToOrder(productVariantId: $id, quantity: 1) { __typename ... on Order { id code } ... on ErrorResult { errorCode message } } }`;
    let r = await gql(null, add, { id: variantIds[0] });
    await expectType('add 1', r, 'addItemToOrder', 'Order');
    let token = r.token;
    r = await gql(token, add, { id: variantIds[1] });
    await expectType('add 2', r, 'addItemToOrder', 'Order');
    r = await gql(
        token,
        `mutation($c: CreateCustomerInput!, $a: CreateAddressInput!) {
           setCustomerForOrder(input: $c) { __typename ... on ErrorResult { errorCode message } }
           setOrderShippingAddress(input: $a) { __typename ... on ErrorResult { errorCode message } } }`,
        {
            c: { emailAddress: 'template@bench.example', firstName: 'Bench', lastName: 'Template' },
            a: { fullName: 'Bench Template', streetLine1: '1 Main St', city: 'Springfield', province: 'IL', postalCode: '62701', countryCode: 'US' },
        },
    );
    await expectType('customer', r, 'setCustomerForOrder', 'Order');
    await expectType('address', r, 'setOrderShippingAddress', 'Order');
    r = await gql(token, `mutation($id: [ID!]!) { setOrderShippingMethod(shippingMethodId: $id) { __typename ... on ErrorResult { errorCode message } } }`, { id: [shippingMethodId] });
    await expectType('shipping', r, 'setOrderShippingMethod', 'Order');
    r = await gql(token, `mutation { transitionOrderToState(state: "ArrangingPayment") { __typename ... on ErrorResult { errorCode message } } }`);
    await expectType('transition', r, 'transitionOrderToState', 'Order');
    r = await gql(token, `mutation($i: PaymentInput!) { addPaymentToOrder(input: $i) { __typename ... on Order { code state } ... on ErrorResult { errorCode message } } }`, { i: { method: 'standard-payment', metadata: {} } });
    const o = await expectType('payment', r, 'addPaymentToOrder', 'Order');
    if (o.state !== 'PaymentSettled') throw new Error(`template order state ${o.state}`);
    return o.code;
}

async function phaseVendure() {
    const core = require('@vendure/core');
    const { populate } = require('@vendure/core/cli');
    const { makeConfig } = require('./vendure-config');
    const config = makeConfig({ synchronize: true });
    config.apiOptions.port = port;
    const app = await populate(() => core.bootstrap(config), initialData);
    const ctx = await app.get(core.RequestContextService).create({ apiType: 'admin', languageCode: 'en' });
    const progress = await new Promise((resolve, reject) => {
        let last;
        app.get(core.Importer)
            .parseAndImport(templateCsv(), ctx, false)
            .subscribe({ next: p => (last = p), error: reject, complete: () => resolve(last) });
    });
    if (progress.errors && progress.errors.length) throw new Error(`import: ${progress.errors.join('; ')}`);
    await app.get(core.Populator).populateCollections(initialData);
    // Run the jobs (search index, collection filters) in this process and wait for them.
    const jobQueueService = app.get(core.JobQueueService);
    await jobQueueService.start();
    const conn = app.get(core.TransactionalConnection);
    const pending = async () =>
        Number((await conn.rawConnection.query(`SELECT count(*) AS n FROM job_record WHERE "isSettled" = false`))[0].n);
    for (let i = 0; ; i++) {
        const n = await pending();
        if (n === 0) break;
        if (i > 600) throw new Error(`${n} jobs still unsettled`);
        await new Promise(r => setTimeout(r, 200));
    }
    const variants = await conn.rawConnection.query(`SELECT id FROM product_variant ORDER BY id`);
    const sm = await conn.rawConnection.query(`SELECT id FROM shipping_method ORDER BY id LIMIT 1`);
    const code = await placeTemplateOrder(variants.map(v => String(v.id)), String(sm[0].id));
    await app.close();
    return { templateOrderCode: code, shippingMethodId: String(sm[0].id) };
}

module.exports = { phaseVendure };

async function main() {
    const tv = Date.now();
    const vendure = await phaseVendure();
    const tVendure = since(tv);
    log(`vendure phase done in ${tVendure}s, template order ${vendure.templateOrderCode}`);
    const db = new Client({
        host: env.DB_HOST || '127.0.0.1',
        port: Number(env.DB_PORT || 5432),
        database: env.DB_NAME || 'vendure',
        user: env.DB_USER || 'postgres',
        password: env.DB_PASSWORD || undefined,
    });
    await db.connect();
    const tp = Date.now();
    if (N > 3) await cloneProducts(db, N);
    const tProducts = since(tp);
    const to = Date.now();
    if (M > 0) await cloneOrders(db, vendure.templateOrderCode, M);
    const tOrders = since(to);
    const ta = Date.now();
    await db.query('ANALYZE');
    const tAnalyze = since(ta);
    await db.end();
    console.log(JSON.stringify({
        seeded: { products: N, orders: M + 1, templateOrder: vendure.templateOrderCode },
        seconds: { total: since(t0), vendure: tVendure, products: tProducts, orders: tOrders, analyze: tAnalyze },
    }));
    console.log(JSON.stringify({
        shippingMethodId: vendure.shippingMethodId,
        paymentMethod: 'standard-payment',
        collections: CATEGORIES.map(c => c.slug),
        products: N,
        productSlug: 'bench-product-{i}',
        variantId: '{i}',
        orders: M + 1,
    }));
}

// Product i (4..N) is a copy of template t = ((i - 1) % 3) + 1 with its own name, slug, SKU and
// price; every row a product touches gets id i (the templates hold ids 1..3 in these tables).
async function cloneProducts(db, n) {
    const tables = ['product', 'product_translation', 'product_variant', 'product_variant_translation', 'product_variant_price', 'stock_level'];
    for (const t of tables) {
        const max = Number((await db.query(`SELECT coalesce(max(id), 0) AS m FROM "${t}"`)).rows[0].m);
        if (max !== 3) throw new Error(`expected ids 1..3 in ${t}, max is ${max}`);
    }
    const g = `generate_series(4, ${n}) AS g`;
    const t = `((g - 1) % 3) + 1`;
    const steps = [
        `INSERT INTO product ("createdAt", "updatedAt", "deletedAt", enabled, id, "featuredAssetId")
         SELECT p."createdAt", p."updatedAt", NULL, p.enabled, g, p."featuredAssetId" FROM ${g} JOIN product p ON p.id = ${t}`,
        `INSERT INTO product_translation ("createdAt", "updatedAt", "languageCode", name, slug, description, id, "baseId")
         SELECT x."createdAt", x."updatedAt", x."languageCode", 'Bench product ' || g, 'bench-product-' || g, x.description, g, g
         FROM ${g} JOIN product_translation x ON x."baseId" = ${t}`,
        `INSERT INTO product_channels_channel ("productId", "channelId")
         SELECT g, x."channelId" FROM ${g} JOIN product_channels_channel x ON x."productId" = ${t}`,
        `INSERT INTO product_facet_values_facet_value ("productId", "facetValueId")
         SELECT g, x."facetValueId" FROM ${g} JOIN product_facet_values_facet_value x ON x."productId" = ${t}`,
        `INSERT INTO product_variant ("createdAt", "updatedAt", "deletedAt", enabled, sku, "outOfStockThreshold", "useGlobalOutOfStockThreshold", "trackInventory", id, "featuredAssetId", "taxCategoryId", "productId")
         SELECT v."createdAt", v."updatedAt", NULL, v.enabled, 'BENCH-' || g, v."outOfStockThreshold", v."useGlobalOutOfStockThreshold", v."trackInventory", g, v."featuredAssetId", v."taxCategoryId", g
         FROM ${g} JOIN product_variant v ON v.id = ${t}`,
        `INSERT INTO product_variant_translation ("createdAt", "updatedAt", "languageCode", name, id, "baseId")
         SELECT x."createdAt", x."updatedAt", x."languageCode", 'Bench product ' || g, g, g
         FROM ${g} JOIN product_variant_translation x ON x."baseId" = ${t}`,
        `INSERT INTO product_variant_price ("createdAt", "updatedAt", "currencyCode", id, "channelId", price, "variantId")
         SELECT x."createdAt", x."updatedAt", x."currencyCode", g, x."channelId", 1000 + g % 9000, g
         FROM ${g} JOIN product_variant_price x ON x."variantId" = ${t}`,
        `INSERT INTO product_variant_channels_channel ("productVariantId", "channelId")
         SELECT g, x."channelId" FROM ${g} JOIN product_variant_channels_channel x ON x."productVariantId" = ${t}`,
        `INSERT INTO stock_level ("createdAt", "updatedAt", "stockOnHand", "stockAllocated", id, "productVariantId", "stockLocationId")
         SELECT x."createdAt", x."updatedAt", 1000000000, 0, g, g, x."stockLocationId"
         FROM ${g} JOIN stock_level x ON x."productVariantId" = ${t}`,
        `INSERT INTO collection_product_variants_product_variant ("collectionId", "productVariantId")
         SELECT x."collectionId", g FROM ${g} JOIN collection_product_variants_product_variant x ON x."productVariantId" = ${t}`,
        `INSERT INTO search_index_item ("languageCode", enabled, "productName", "productVariantName", description, slug, sku,
             "facetIds", "facetValueIds", "collectionIds", "collectionSlugs", "channelIds", "productPreview", "productPreviewFocalPoint",
             "productVariantPreview", "productVariantPreviewFocalPoint", "inStock", "productInStock", "productVariantId", "channelId",
             "productId", "productAssetId", "productVariantAssetId", price, "priceWithTax")
         SELECT x."languageCode", x.enabled, 'Bench product ' || g, 'Bench product ' || g, x.description, 'bench-product-' || g, 'BENCH-' || g,
             x."facetIds", x."facetValueIds", x."collectionIds", x."collectionSlugs", x."channelIds", x."productPreview", x."productPreviewFocalPoint",
             x."productVariantPreview", x."productVariantPreviewFocalPoint", x."inStock", x."productInStock", g, x."channelId",
             g, x."productAssetId", x."productVariantAssetId", 1000 + g % 9000, round((1000 + g % 9000) * x."priceWithTax"::numeric / x.price)::int
         FROM ${g} JOIN search_index_item x ON x."productVariantId" = ${t}`,
    ];
    await db.query('BEGIN');
    for (const sql of steps) await db.query(sql);
    for (const tab of tables) await db.query(`SELECT setval(pg_get_serial_sequence('"${tab}"', 'id'), (SELECT max(id) FROM "${tab}"))`);
    await db.query('COMMIT');
}

// Order k (1..M) is a copy of the template order (state PaymentSettled) with code
// 'B' + 15 hex digits of k, its lines (pointing at the same variants), shipping line, payment and
// channel row; the same guest customer. History entries and stock movements are not copied.
async function cloneOrders(db, templateCode, m) {
    const q = async (sql, params) => (await db.query(sql, params)).rows;
    const [o] = await q(`SELECT id FROM "order" WHERE code = $1`, [templateCode]);
    const lines = await q(`SELECT id FROM order_line WHERE "orderId" = $1 ORDER BY id`, [o.id]);
    const ships = await q(`SELECT id FROM shipping_line WHERE "orderId" = $1`, [o.id]);
    const pays = await q(`SELECT id FROM payment WHERE "orderId" = $1`, [o.id]);
    if (ships.length !== 1 || pays.length !== 1) throw new Error('template order must have one shipping line and one payment');
    const maxId = async t => Number((await q(`SELECT coalesce(max(id), 0) AS m FROM "${t}"`))[0].m);
    const O = await maxId('order'), L = await maxId('order_line'), S = await maxId('shipping_line'), P = await maxId('payment');
    const nl = lines.length;
    await db.query('SET synchronous_commit = off');
    const chunk = 250000;
    for (let a = 1; a <= m; a += chunk) {
        const b = Math.min(m, a + chunk - 1);
        const g = `generate_series(${a}, ${b}) AS g`;
        await db.query('BEGIN');
        await db.query(
            `INSERT INTO "order" ("createdAt", "updatedAt", type, code, state, active, "orderPlacedAt", "couponCodes", "shippingAddress",
                 "billingAddress", "currencyCode", id, "aggregateOrderId", "customerId", "taxZoneId", "subTotal", "subTotalWithTax", shipping, "shippingWithTax")
             SELECT x."createdAt" - g * interval '1 second', x."updatedAt" - g * interval '1 second', x.type,
                 'B' || lpad(upper(to_hex(g)), 15, '0'), x.state, x.active, x."orderPlacedAt" - g * interval '1 second', x."couponCodes",
                 x."shippingAddress", x."billingAddress", x."currencyCode", ${O} + g, NULL, x."customerId", x."taxZoneId",
                 x."subTotal", x."subTotalWithTax", x.shipping, x."shippingWithTax"
             FROM ${g} CROSS JOIN "order" x WHERE x.id = ${o.id}`,
        );
        await db.query(
            `INSERT INTO order_channels_channel ("orderId", "channelId")
             SELECT ${O} + g, x."channelId" FROM ${g} CROSS JOIN order_channels_channel x WHERE x."orderId" = ${o.id}`,
        );
        await db.query(
            `INSERT INTO shipping_line ("createdAt", "updatedAt", "listPriceIncludesTax", adjustments, "taxLines", id, "shippingMethodId", "listPrice", "orderId")
             SELECT x."createdAt", x."updatedAt", x."listPriceIncludesTax", x.adjustments, x."taxLines", ${S} + g, x."shippingMethodId", x."listPrice", ${O} + g
             FROM ${g} CROSS JOIN shipping_line x WHERE x."orderId" = ${o.id}`,
        );
        await db.query(
            `INSERT INTO order_line ("createdAt", "updatedAt", quantity, "orderPlacedQuantity", "listPriceIncludesTax", adjustments, "taxLines", id,
                 "sellerChannelId", "shippingLineId", "productVariantId", "taxCategoryId", "initialListPrice", "listPrice", "featuredAssetId", "orderId")
             SELECT x."createdAt", x."updatedAt", x.quantity, x."orderPlacedQuantity", x."listPriceIncludesTax", x.adjustments, x."taxLines",
                 ${L} + (g - 1) * ${nl} + x.k, x."sellerChannelId", CASE WHEN x."shippingLineId" IS NULL THEN NULL ELSE ${S} + g END,
                 x."productVariantId", x."taxCategoryId", x."initialListPrice", x."listPrice", x."featuredAssetId", ${O} + g
             FROM ${g} CROSS JOIN (SELECT *, row_number() OVER (ORDER BY id) AS k FROM order_line WHERE "orderId" = ${o.id}) x`,
        );
        await db.query(
            `INSERT INTO payment ("createdAt", "updatedAt", method, state, "errorMessage", "transactionId", metadata, id, amount, "orderId")
             SELECT x."createdAt", x."updatedAt", x.method, x.state, x."errorMessage", x."transactionId" || '-' || g, x.metadata, ${P} + g, x.amount, ${O} + g
             FROM ${g} CROSS JOIN payment x WHERE x."orderId" = ${o.id}`,
        );
        await db.query('COMMIT');
        log(`orders ${b}/${m}`);
    }
    for (const tab of ['order', 'order_line', 'shipping_line', 'payment'])
        await db.query(`SELECT setval(pg_get_serial_sequence('"${tab}"', 'id'), (SELECT max(id) FROM "${tab}"))`);
}

if (require.main === module) {
    main().then(
        () => process.exit(0),
        err => {
            console.error(err);
            process.exit(1);
        },
    );
}
