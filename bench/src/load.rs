//! A closed-loop HTTP/1.1 load generator: each worker owns one keep-alive connection and sends
//! its next request as soon as the previous answer is read, until the deadline (or, for
//! [`run_count`], until a number of requests have succeeded).

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Per-worker state a scenario may keep (e.g. the refresh token of its own chain, or where a
/// multi-step scenario is in its sequence).
#[derive(Default)]
pub struct Worker {
    pub id: usize,
    pub token: Option<String>,
    /// The position in a multi-step scenario's sequence, or a count of requests made.
    pub step: usize,
    /// How many sequences (visits, rotations) this worker has completed.
    pub round: u64,
    /// A value one step hands to the next (a payment source id, an order id).
    pub carry: Option<String>,
    /// Whether a step of the current sequence (visit) has failed.
    pub spoiled: bool,
}

pub trait Scenario: Send + Sync + 'static {
    /// Sets up a worker before its first request (e.g. gives it its own token).
    fn start(&self, worker: &mut Worker) {
        let _ = worker;
    }
    fn request(&self, worker: &mut Worker) -> Request<Full<Bytes>>;
    /// Names of the steps a multi-step scenario reports latencies for (empty: none).
    fn step_names(&self) -> &'static [&'static str] {
        &[]
    }
    /// Which of [`Scenario::step_names`] the worker's next request belongs to.
    fn step_of(&self, worker: &Worker) -> usize {
        let _ = worker;
        0
    }
    /// Sees an answer's headers before [`Scenario::observe`] sees it (e.g. a session token a
    /// peer sends in a header).
    fn headers(&self, worker: &mut Worker, headers: &hyper::HeaderMap) {
        let _ = (worker, headers);
    }
    /// Sees every answer; returns whether it counts as a success.
    fn observe(&self, worker: &mut Worker, status: u16, body: &[u8]) -> bool {
        let _ = (worker, body);
        (200..300).contains(&status)
    }
}

pub struct Report {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub histogram: Histogram<u64>,
    /// Per step of a multi-step scenario ([`Scenario::step_names`]): its successes' latencies
    /// and its errors.
    pub steps: Vec<(Histogram<u64>, u64)>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// A latency quantile in milliseconds.
pub fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

impl Report {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
    pub fn p50_ms(&self) -> f64 {
        self.histogram.value_at_quantile(0.50) as f64 / 1000.0
    }
    pub fn p99_ms(&self) -> f64 {
        self.histogram.value_at_quantile(0.99) as f64 / 1000.0
    }
    pub fn max_ms(&self) -> f64 {
        self.histogram.max() as f64 / 1000.0
    }
}

/// When a worker stops.
#[derive(Clone)]
enum Until {
    Deadline(Instant),
    /// Until `total` requests succeeded (counted in `done`); a failed request frees its slot
    /// for a retry.
    Count {
        claimed: Arc<AtomicU64>,
        done: Arc<AtomicU64>,
        total: u64,
    },
    /// Until the flag is set (by whatever the load runs beside).
    Flag(Arc<AtomicBool>),
}

/// A worker in [`Until::Count`] mode gives up after this many failures of its own, so a
/// server that refuses everything ends the run instead of spinning.
const MAX_WORKER_ERRORS: u64 = 1_000;

/// How long a request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Until {
    /// Whether there is (possibly) more to do.
    fn open(&self) -> bool {
        match self {
            Until::Deadline(d) => Instant::now() < *d,
            Until::Count { claimed, total, .. } => claimed.load(Ordering::Relaxed) < *total,
            Until::Flag(stop) => !stop.load(Ordering::Relaxed),
        }
    }
    /// Takes the right to send one more request.
    fn claim(&self) -> bool {
        match self {
            Until::Deadline(d) => Instant::now() < *d,
            Until::Count { claimed, total, .. } => claimed
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                    (c < *total).then_some(c + 1)
                })
                .is_ok(),
            Until::Flag(stop) => !stop.load(Ordering::Relaxed),
        }
    }
    fn succeeded(&self) {
        if let Until::Count { done, .. } = self {
            done.fetch_add(1, Ordering::Relaxed);
        }
    }
    /// A claimed request failed: frees its slot (in count mode). Returns whether the worker
    /// goes on.
    fn failed(&self, worker_errors: u64) -> bool {
        match self {
            Until::Deadline(_) | Until::Flag(_) => true,
            Until::Count { claimed, .. } => {
                claimed.fetch_sub(1, Ordering::Relaxed);
                worker_errors < MAX_WORKER_ERRORS
            }
        }
    }
}

/// Runs `scenario` on `connections` workers for `duration`.
pub async fn run(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    scenario: Arc<dyn Scenario>,
    init: impl FnMut(usize) -> Worker,
) -> Report {
    run_spread(&[addr], connections, duration, scenario, init).await
}

/// Runs `scenario` on `connections` workers until `total` requests have succeeded; `done`
/// counts them as they do (for progress reports).
pub async fn run_count(
    addr: SocketAddr,
    connections: usize,
    total: u64,
    done: Arc<AtomicU64>,
    scenario: Arc<dyn Scenario>,
    init: impl FnMut(usize) -> Worker,
) -> Report {
    let until = Until::Count {
        claimed: Arc::new(AtomicU64::new(0)),
        done,
        total,
    };
    run_until(&[addr], connections, until, scenario, init).await
}

/// Runs `scenario` on `connections` workers until `stop` is set.
pub async fn run_until_stopped(
    addr: SocketAddr,
    connections: usize,
    stop: Arc<AtomicBool>,
    scenario: Arc<dyn Scenario>,
    init: impl FnMut(usize) -> Worker,
) -> Report {
    run_until(&[addr], connections, Until::Flag(stop), scenario, init).await
}

/// [`run`] on several servers: connection `i` goes to `addrs[i % addrs.len()]` and stays there
/// (a sticky balancer's placement).
pub async fn run_spread(
    addrs: &[SocketAddr],
    connections: usize,
    duration: Duration,
    scenario: Arc<dyn Scenario>,
    init: impl FnMut(usize) -> Worker,
) -> Report {
    let until = Until::Deadline(Instant::now() + duration);
    run_until(addrs, connections, until, scenario, init).await
}

async fn run_until(
    addrs: &[SocketAddr],
    connections: usize,
    until: Until,
    scenario: Arc<dyn Scenario>,
    mut init: impl FnMut(usize) -> Worker,
) -> Report {
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|i| {
            let scenario = scenario.clone();
            let mut worker = init(i);
            scenario.start(&mut worker);
            let addr = addrs[i % addrs.len()];
            tokio::spawn(worker_loop(addr, until.clone(), scenario, worker))
        })
        .collect();
    let mut report = Report {
        requests: 0,
        errors: 0,
        seconds: 0.0,
        histogram: histogram(),
        steps: (0..scenario.step_names().len())
            .map(|_| (histogram(), 0))
            .collect(),
    };
    for t in tasks {
        let (ok, errors, hist, steps) = t.await.unwrap();
        report.requests += ok;
        report.errors += errors;
        report.histogram.add(hist).unwrap();
        for (total, (h, e)) in report.steps.iter_mut().zip(steps) {
            total.0.add(h).unwrap();
            total.1 += e;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

async fn worker_loop(
    addr: SocketAddr,
    until: Until,
    scenario: Arc<dyn Scenario>,
    mut worker: Worker,
) -> (u64, u64, Histogram<u64>, Vec<(Histogram<u64>, u64)>) {
    let mut hist = histogram();
    let mut steps: Vec<(Histogram<u64>, u64)> = (0..scenario.step_names().len())
        .map(|_| (histogram(), 0))
        .collect();
    let (mut ok, mut errors) = (0u64, 0u64);
    'connect: while until.open() {
        let Ok(stream) = TcpStream::connect(addr).await else {
            errors += 1;
            if errors >= MAX_WORKER_ERRORS && matches!(until, Until::Count { .. }) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
        else {
            errors += 1;
            continue;
        };
        tokio::spawn(conn);
        while until.claim() {
            let step = scenario.step_of(&worker);
            let request = scenario.request(&mut worker);
            let t0 = Instant::now();
            // A server that never answers (a deadlocked pool, say) costs an error and a new
            // connection, not a hung run.
            let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
                let response = sender.send_request(request).await.ok()?;
                let status = response.status().as_u16();
                scenario.headers(&mut worker, response.headers());
                let body = response.into_body().collect().await.ok()?.to_bytes();
                Some((status, body))
            })
            .await;
            let Ok(Some((status, body))) = answer else {
                errors += 1;
                if let Some((_, e)) = steps.get_mut(step) {
                    *e += 1;
                }
                if !until.failed(errors) {
                    break 'connect;
                }
                continue 'connect;
            };
            let micros = t0.elapsed().as_micros() as u64;
            if scenario.observe(&mut worker, status, &body) {
                ok += 1;
                until.succeeded();
                let _ = hist.record(micros.max(1));
                if let Some((h, _)) = steps.get_mut(step) {
                    let _ = h.record(micros.max(1));
                }
            } else {
                errors += 1;
                if let Some((_, e)) = steps.get_mut(step) {
                    *e += 1;
                }
                if !until.failed(errors) {
                    break 'connect;
                }
            }
        }
    }
    (ok, errors, hist, steps)
}
