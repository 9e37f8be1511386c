//! Closed loop (a fixed number of clients, each sending its next request when the last one
//! answers) and open loop (requests started at a fixed rate whatever the answers do, each
//! timed from when it was due, so a slow server cannot hide its queue: no coordinated
//! omission).

use hdrhistogram::Histogram;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Outcome {
    pub done: u64,
    pub failed: u64,
    pub seconds: f64,
    pub histogram: Histogram<u64>,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.done as f64 / self.seconds
    }
    /// A latency quantile in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1000.0
    }
}

fn histogram() -> Histogram<u64> {
    // Microseconds, up to a minute, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

/// `clients` loops of `op` for `duration`. `op(n)` returns whether the operation succeeded.
pub async fn closed<F, Fut>(clients: usize, duration: Duration, op: F) -> Outcome
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut h = histogram();
            let (mut done, mut failed, mut n) = (0u64, 0u64, client as u64 * 1_000_000_000);
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = op(n).await;
                n += 1;
                if ok {
                    done += 1;
                    let _ = h.record(t.elapsed().as_micros().max(1) as u64);
                } else {
                    failed += 1;
                }
            }
            (h, done, failed)
        }));
    }
    let mut total = histogram();
    let (mut done, mut failed) = (0, 0);
    for t in tasks {
        if let Ok((h, d, f)) = t.await {
            let _ = total.add(&h);
            done += d;
            failed += f;
        }
    }
    Outcome {
        done,
        failed,
        seconds: started.elapsed().as_secs_f64(),
        histogram: total,
    }
}

/// `rate` operations a second for `duration`, each timed from the moment it was due.
pub async fn open<F, Fut>(rate: f64, duration: Duration, op: F) -> Outcome
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let op = Arc::new(op);
    let shared = Arc::new(Mutex::new((histogram(), 0u64, 0u64)));
    let started = tokio::time::Instant::now();
    let total = (rate * duration.as_secs_f64()) as u64;
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = started + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(due).await;
        let (op, shared) = (op.clone(), shared.clone());
        tasks.push(tokio::spawn(async move {
            let ok = op(n).await;
            let elapsed = due.elapsed().as_micros().max(1) as u64;
            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
            if ok {
                let _ = s.0.record(elapsed);
                s.1 += 1;
            } else {
                s.2 += 1;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let s = shared.lock().unwrap_or_else(|e| e.into_inner());
    Outcome {
        done: s.1,
        failed: s.2,
        seconds,
        histogram: s.0.clone(),
    }
}
