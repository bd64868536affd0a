// The benchmark's Vendure peer: one VendureConfig shared by seed.js, server.js and worker.js.
// Installed and started by the benchmark into a scratch folder; not part of Shopkeeper.
//
// Production settings, each with the Vendure docs page that recommends it (pages under
// https://docs.vendure.io/current/core/; "scaffold" = @vendure/create's vendure-config template):
//
//  * NODE_ENV=production (set by server.js / worker.js when unset); logger DefaultLogger at
//    LogLevel.Warn (warnings and errors only); dbConnectionOptions.logging false.
//      - deployment/production-configuration (APP_ENV / production mode); scaffold (logging false)
//  * dbConnectionOptions.synchronize: false for server and worker; the schema is created once by
//    seed.js with synchronize in that process only, on the empty database.
//      - developer-guide/migrations (synchronize "should not be used in production");
//        deployment/getting-data-into-production (synchronize on the first run of an empty
//        database is the documented simpler alternative to an initial migration); scaffold
//  * Database session time zone UTC (extra.options '-c timezone=UTC').
//      - deployment/production-configuration, "Database Timezone"
//  * HardenPlugin (@vendure/harden-plugin) with apiMode 'prod' (introspection and field
//    suggestions off) and maxQueryComplexity 500.
//      - deployment/production-configuration, "API hardening"; developer-guide/security
//  * No GraphQL playground / debug: apiOptions.shopApiPlayground/adminApiPlayground false,
//    shopApiDebug/adminApiDebug false; no GraphiqlPlugin, no Dashboard, no AssetServer/Email
//    plugins (the bench needs none of them).
//      - developer-guide/security; reference ApiOptions
//  * Superadmin credentials not the default superadmin:superadmin (SUPERADMIN_USERNAME /
//    SUPERADMIN_PASSWORD env, with non-default fallbacks).
//      - deployment/production-configuration, "Superadmin credentials"
//  * CORS not reflecting any origin: cors.origin = CORS_ORIGINS list or none (the bench is not a
//    browser and sends no Origin).
//      - deployment/production-configuration (apiOptions.cors); scaffold
//  * DefaultJobQueuePlugin({ useDatabaseForBuffer: true }): jobs stored in PostgreSQL and run by
//    a separate worker process (worker.js, bootstrapWorker + startJobQueue); server.js does not
//    process jobs.
//      - developer-guide/worker-job-queue; deployment/horizontal-scaling; scaffold
//  * DefaultSchedulerPlugin: scheduled tasks (e.g. session cleanup) run in the worker.
//      - scaffold (DefaultSchedulerPlugin.init())
//  * DefaultSearchPlugin({ bufferUpdates: false, indexStockStatus: true }): the Shop API `search`
//    query storefronts use, backed by the search_index_item table.
//      - scaffold (these exact options); reference DefaultSearchPlugin
//  * DefaultCachePlugin({ cacheSize: 10000 }): CacheService on an SQL cache table instead of the
//    in-memory default ("not recommended for production"); from v3.1 the session cache goes
//    through it too.
//      - developer-guide/cache; deployment/horizontal-scaling
//  * Entity caches left at Vendure's defaults: entityOptions.channelCacheTtl, zoneCacheTtl,
//    taxRateCacheTtl = 30 s (process-local L1 over the CacheStrategy); authOptions.sessionCacheTTL
//    = 300 s.
//      - deployment/horizontal-scaling (L1 caches); reference EntityOptions, AuthOptions
//  * authOptions.tokenMethod 'bearer': the session token comes back in the `vendure-auth-token`
//    response header and is sent back as `Authorization: Bearer <token>`.
//      - storefront/connect-api ("Managing Sessions"); the scaffold enables ['bearer', 'cookie'],
//        the bench only needs bearer
//  * cookieOptions.secret fixed (COOKIE_SECRET env) so several instances would agree.
//      - deployment/horizontal-scaling
//  * paymentMethodHandlers [dummyPaymentHandler]; the seeded payment method sets
//    automaticSettle=true so addPaymentToOrder settles at once.
//      - scaffold; reference DummyPaymentHandler
//  * Connection pool: dbConnectionOptions.extra.max = POOL_SIZE (default 20).
//
// Deliberately not taken: UuidIdStrategy (docs: "consider" it so ids do not leak counts; the
// bench keeps integer ids so that seed.js can clone rows by SQL); trustProxy (no proxy in front);
// BullMQJobQueuePlugin and RedisCachePlugin (deployment/horizontal-scaling calls BullMQ "much
// more efficient" and recommended for production, and Redis caching faster; both need a Redis
// server, which the bench does not have; DefaultJobQueuePlugin and DefaultCachePlugin are the
// documented no-extra-infrastructure choices).
//
// Environment: DB_HOST (127.0.0.1), DB_PORT (5432), DB_NAME (vendure), DB_USER (postgres), no
// password (trust auth; DB_PASSWORD is passed through if set), PORT (3000), HOST (127.0.0.1),
// POOL_SIZE (20).
'use strict';

const {
    DefaultCachePlugin,
    DefaultJobQueuePlugin,
    DefaultLogger,
    DefaultSchedulerPlugin,
    DefaultSearchPlugin,
    LogLevel,
    dummyPaymentHandler,
} = require('@vendure/core');
const { HardenPlugin } = require('@vendure/harden-plugin');

const env = process.env;

/** The config; `synchronize` is true only for seed.js, which creates the schema. */
function makeConfig({ synchronize = false } = {}) {
    return {
        apiOptions: {
            hostname: env.HOST || '127.0.0.1',
            port: Number(env.PORT || 3000),
            shopApiPath: 'shop-api',
            adminApiPath: 'admin-api',
            shopApiPlayground: false,
            adminApiPlayground: false,
            shopApiDebug: false,
            adminApiDebug: false,
            cors: {
                origin: (env.CORS_ORIGINS || '').split(',').map(o => o.trim()).filter(Boolean),
                credentials: true,
            },
        },
        authOptions: {
            tokenMethod: 'bearer',
            superadminCredentials: {
                identifier: env.SUPERADMIN_USERNAME || 'bench-admin',
                password: env.SUPERADMIN_PASSWORD || 'bench-admin-password-not-default',
            },
            cookieOptions: {
                secret: env.COOKIE_SECRET || 'shopkeeper-bench-vendure-cookie-secret',
            },
        },
        dbConnectionOptions: {
            type: 'postgres',
            host: env.DB_HOST || '127.0.0.1',
            port: Number(env.DB_PORT || 5432),
            database: env.DB_NAME || 'vendure',
            username: env.DB_USER || 'postgres',
            password: env.DB_PASSWORD || undefined,
            synchronize,
            migrations: [],
            logging: false,
            extra: {
                max: Number(env.POOL_SIZE || 20),
                options: '-c timezone=UTC',
            },
        },
        paymentOptions: {
            paymentMethodHandlers: [dummyPaymentHandler],
        },
        logger: new DefaultLogger({ level: LogLevel.Warn }),
        customFields: {},
        plugins: [
            DefaultSchedulerPlugin.init(),
            DefaultJobQueuePlugin.init({ useDatabaseForBuffer: true }),
            DefaultSearchPlugin.init({ bufferUpdates: false, indexStockStatus: true }),
            DefaultCachePlugin.init({ cacheSize: 10000 }),
            HardenPlugin.init({ maxQueryComplexity: 500, apiMode: 'prod' }),
        ],
    };
}

module.exports = { makeConfig, config: makeConfig() };
