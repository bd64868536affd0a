// The benchmark's Vendure peer: the worker (job queue and scheduled tasks), a separate process as
// the Vendure docs recommend. WORKER_HEALTH_PORT (default 3020) serves GET /health.
'use strict';
process.env.NODE_ENV = process.env.NODE_ENV || 'production';
const { bootstrapWorker } = require('@vendure/core');
const { config } = require('./vendure-config');

const healthPort = Number(process.env.WORKER_HEALTH_PORT || 3020);
bootstrapWorker(config)
    .then(worker => worker.startJobQueue())
    .then(worker => worker.startHealthCheckServer({ port: healthPort, hostname: '127.0.0.1' }))
    .then(() => console.log(`worker ready http://127.0.0.1:${healthPort}/health`))
    .catch(err => {
        console.error(err);
        process.exit(1);
    });
