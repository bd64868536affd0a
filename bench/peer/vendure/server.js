// The benchmark's Vendure peer: the API server (Shop API at /shop-api, Admin API at /admin-api,
// readiness at GET /health). Jobs are run by worker.js, not here.
'use strict';
process.env.NODE_ENV = process.env.NODE_ENV || 'production';
const { bootstrap } = require('@vendure/core');
const { config } = require('./vendure-config');

bootstrap(config)
    .then(() => console.log(`ready http://${config.apiOptions.hostname}:${config.apiOptions.port}/shop-api`))
    .catch(err => {
        console.error(err);
        process.exit(1);
    });
