//! The delivery worker: sends queued deliveries to their channels in the
//! background, so ingest never waits for a webhook, and loses none.
//!
//! One lane (task) per channel sends its deliveries in order, one request
//! at a time. Outcomes:
//! - 2xx: delivered.
//! - 429: wait `retry_after` (body or `Retry-After`, capped), then again.
//! - 5xx, timeouts, network errors: again after an exponential back-off with
//!   jitter, until the delivery is older than `give_up_after`.
//! - 401 or 404: the channel is marked broken and nothing more is sent to
//!   it (its deliveries stay pending until it is fixed or re-enabled).
//! - other 4xx: failed, no retry.
//!
//! When a lane has `digest_at` or more deliveries due at once (a storm),
//! it sends them as one digest message. Every attempt is recorded in the
//! store (the delivery log); pending deliveries are reloaded at start.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use super::discord;

mod send;

use self::send::{send, Outcome};
use crate::core::{Attempt, Core, Delivery, DeliveryState};
use crate::storage::Store;

/// Most deliveries folded into one digest message.
const MAX_DIGEST: usize = 50;

/// How the worker sends.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOptions {
    /// Per-request timeout.
    pub timeout: Duration,
    /// First retry delay; doubles per attempt (with jitter).
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Longest `retry_after` honoured (Discord has sent absurd ones).
    pub max_retry_after: Duration,
    /// A delivery still failing after this long is given up.
    pub give_up_after: Duration,
    /// Deliveries due at once from which a digest is sent instead.
    pub digest_at: usize,
    /// At most this many messages per channel per `burst_window` (Discord
    /// allows about 5 per 2 s per webhook); what piles up meanwhile goes
    /// out as a digest.
    pub burst: usize,
    pub burst_window: Duration,
    /// How Discord messages are signed.
    pub discord: discord::Style,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            timeout: Duration::from_secs(10),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(60),
            give_up_after: Duration::from_secs(24 * 3600),
            digest_at: 5,
            burst: 5,
            burst_window: Duration::from_secs(2),
            discord: discord::Style::default(),
        }
    }
}

struct Context {
    core: Core,
    store: Arc<dyn Store>,
    client: reqwest::Client,
    options: DeliveryOptions,
    /// Until when a global rate limit (Discord's `"global": true`) holds
    /// every lane.
    global_pause: std::sync::Mutex<Option<Instant>>,
}

impl Context {
    fn global_wait(&self) -> Option<Duration> {
        let until = (*self.global_pause.lock().unwrap_or_else(|p| p.into_inner()))?;
        until.checked_duration_since(Instant::now())
    }

    fn pause_all(&self, wait: Duration) {
        *self.global_pause.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + wait);
    }
}

/// Starts the worker; it stops when `stop` turns true.
pub fn spawn(
    core: Core,
    store: Arc<dyn Store>,
    options: DeliveryOptions,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let client = reqwest::Client::builder()
        .timeout(options.timeout)
        .user_agent(concat!("laneswap/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default();
    let context = Arc::new(Context {
        core,
        store,
        client,
        options,
        global_pause: std::sync::Mutex::new(None),
    });
    tokio::spawn(run(context, stop))
}

async fn run(context: Arc<Context>, mut stop: watch::Receiver<bool>) {
    // Subscribe before loading, so nothing queued in between is missed.
    let mut queued = context.core.subscribe_deliveries();
    let mut lanes: HashMap<String, mpsc::UnboundedSender<Delivery>> = HashMap::new();
    // Lanes get their own receiver of the stop signal.
    let lane_stop = stop.clone();
    reload(&context, &mut lanes, &lane_stop).await;
    // On a shared database, deliveries of a node that died are taken over:
    // pending ones are offered again now and then (the lease decides).
    let mut takeover = tokio::time::interval(TAKEOVER_EVERY);
    takeover.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    takeover.tick().await;
    let shared = context.store.shared();
    loop {
        tokio::select! {
            _ = takeover.tick(), if shared => {
                reload(&context, &mut lanes, &lane_stop).await;
            }
            delivery = queued.recv() => match delivery {
                Ok(delivery) => dispatch(&context, &mut lanes, delivery, &lane_stop),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "delivery worker fell behind; reloading pending deliveries");
                    reload(&context, &mut lanes, &lane_stop).await;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = stopped(&mut stop) => break,
        }
    }
}

async fn reload(
    context: &Arc<Context>,
    lanes: &mut HashMap<String, mpsc::UnboundedSender<Delivery>>,
    stop: &watch::Receiver<bool>,
) {
    match context.store.pending_deliveries().await {
        Ok(pending) => {
            for delivery in pending {
                dispatch(context, lanes, delivery, stop);
            }
        }
        Err(error) => tracing::error!(%error, "cannot load pending deliveries"),
    }
}

fn dispatch(
    context: &Arc<Context>,
    lanes: &mut HashMap<String, mpsc::UnboundedSender<Delivery>>,
    delivery: Delivery,
    stop: &watch::Receiver<bool>,
) {
    let lane = lanes.entry(delivery.channel_id.clone()).or_insert_with(|| {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(lane(
            Arc::clone(context),
            delivery.channel_id.clone(),
            receiver,
            stop.clone(),
        ));
        sender
    });
    let _ = lane.send(delivery);
}

async fn lane(
    context: Arc<Context>,
    channel_id: String,
    mut incoming: mpsc::UnboundedReceiver<Delivery>,
    mut stop: watch::Receiver<bool>,
) {
    let mut queue: VecDeque<Delivery> = VecDeque::new();
    let mut recent_sends: VecDeque<Instant> = VecDeque::new();
    // Deliveries this lane holds or finished lately: a reload after the
    // worker fell behind may offer them again.
    let mut seen = Seen::default();
    loop {
        if *stop.borrow() {
            return;
        }
        if queue.is_empty() {
            tokio::select! {
                next = incoming.recv() => match next {
                    Some(delivery) => {
                        if seen.admit(&delivery.id) {
                            queue.push_back(delivery);
                        }
                    }
                    None => return,
                },
                _ = stopped(&mut stop) => return,
            }
        }
        while let Ok(delivery) = incoming.try_recv() {
            if seen.admit(&delivery.id) {
                queue.push_back(delivery);
            }
        }
        let Some(channel) = context.core.channel(&channel_id) else {
            // The channel is gone: its deliveries cannot go anywhere.
            for mut delivery in queue.drain(..) {
                finish(&mut delivery, DeliveryState::Failed);
                delivery.record(attempt(None, Some("the channel was deleted".into()), 0));
                persist(&context, &delivery).await;
            }
            continue;
        };
        if !channel.enabled || channel.broken.is_some() {
            // Kept pending: they go out once the channel is fixed.
            pause(&mut stop, Duration::from_secs(2)).await;
            continue;
        }
        let now = Utc::now();
        let due = queue.front().map(|d| d.next_attempt_at).unwrap_or(now);
        if due > now {
            let wait = (due - now).to_std().unwrap_or(Duration::ZERO);
            pause(&mut stop, wait.min(Duration::from_secs(1))).await;
            continue;
        }
        if let Some(wait) = context.global_wait() {
            pause(&mut stop, wait).await;
            continue;
        }
        // Keep to the burst limit: wait, and let a storm pile up into a digest.
        let window = context.options.burst_window;
        while recent_sends
            .front()
            .is_some_and(|sent| sent.elapsed() >= window)
        {
            recent_sends.pop_front();
        }
        if recent_sends.len() >= context.options.burst.max(1) {
            if let Some(oldest) = recent_sends.front() {
                pause(&mut stop, window.saturating_sub(oldest.elapsed())).await;
            }
            continue;
        }
        let due_now = queue
            .iter()
            .take_while(|d| d.next_attempt_at <= now)
            .count();
        let take = if due_now >= context.options.digest_at {
            due_now.min(MAX_DIGEST)
        } else {
            1
        };
        let taken: Vec<Delivery> = queue.drain(..take).collect();
        // On a shared database another node may hold some of them (it
        // queued them, or took them over): those are its to send.
        let mut batch = Vec::with_capacity(taken.len());
        for delivery in taken {
            if context.store.claim_delivery(&delivery.id).await {
                batch.push(delivery);
            } else {
                seen.forget(&delivery.id);
            }
        }
        if batch.is_empty() {
            continue;
        }
        let started = Instant::now();
        recent_sends.push_back(started);
        let outcome = send(&context, &channel, &batch).await;
        let latency = started.elapsed().as_millis() as u64;
        match outcome {
            Outcome::Delivered(status, message_id) => {
                let digest_id = (batch.len() > 1).then(|| batch[0].id.clone());
                for delivery in &mut batch {
                    delivery.record(attempt(Some(status), None, latency));
                    delivery.digest_id = digest_id.clone();
                    delivery.message_id = message_id.clone();
                    finish(delivery, DeliveryState::Delivered);
                    persist(&context, delivery).await;
                }
            }
            Outcome::RateLimited(status, wait, global) => {
                let wait = wait.min(context.options.max_retry_after);
                if global {
                    context.pause_all(wait);
                }
                requeue(
                    &context,
                    &mut queue,
                    batch,
                    status,
                    format!("rate limited for {wait:?}"),
                    latency,
                    wait,
                )
                .await;
            }
            Outcome::Retry(status, error) => {
                let attempts = batch.first().map(|d| d.attempts.len()).unwrap_or(0);
                let wait = backoff(&context.options, attempts);
                let give_up = batch.first().is_some_and(|d| {
                    (Utc::now() - d.created_at)
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        > context.options.give_up_after
                });
                if give_up {
                    for delivery in &mut batch {
                        delivery.record(attempt(
                            status,
                            Some(format!("{error}; giving up")),
                            latency,
                        ));
                        finish(delivery, DeliveryState::Failed);
                        persist(&context, delivery).await;
                    }
                } else {
                    requeue(
                        &context,
                        &mut queue,
                        batch,
                        status.unwrap_or(0),
                        error,
                        latency,
                        wait,
                    )
                    .await;
                }
            }
            Outcome::Broken(status, reason) => {
                tracing::warn!(channel = %channel_id, status, %reason, "channel marked broken");
                if let Err(error) = context
                    .core
                    .mark_channel_broken(&channel_id, reason.clone())
                    .await
                {
                    tracing::error!(%error, "cannot mark the channel broken");
                }
                requeue(
                    &context,
                    &mut queue,
                    batch,
                    status,
                    reason,
                    latency,
                    Duration::ZERO,
                )
                .await;
            }
            Outcome::Refused(status, reason) => {
                for delivery in &mut batch {
                    delivery.record(attempt(Some(status), Some(reason.clone()), latency));
                    finish(delivery, DeliveryState::Failed);
                    persist(&context, delivery).await;
                }
            }
        }
    }
}

/// Ids a lane has taken, bounded: the newest [`SEEN_KEPT`].
#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

/// How often a node on a shared database looks for deliveries to take
/// over.
const TAKEOVER_EVERY: Duration = Duration::from_secs(10);

/// How many delivery ids a lane remembers.
const SEEN_KEPT: usize = 20_000;

impl Seen {
    /// Forgets `id`, so that a later reload can offer it again.
    fn forget(&mut self, id: &str) {
        if self.ids.remove(id) {
            self.order.retain(|kept| kept != id);
        }
    }

    /// Whether `id` is new (and remembers it).
    fn admit(&mut self, id: &str) -> bool {
        if !self.ids.insert(id.to_string()) {
            return false;
        }
        self.order.push_back(id.to_string());
        while self.order.len() > SEEN_KEPT {
            if let Some(oldest) = self.order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
        true
    }
}

/// Puts a batch back at the front of the queue, due after `wait`.
async fn requeue(
    context: &Context,
    queue: &mut VecDeque<Delivery>,
    batch: Vec<Delivery>,
    status: u16,
    error: String,
    latency: u64,
    wait: Duration,
) {
    let due =
        Utc::now() + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::zero());
    for mut delivery in batch.into_iter().rev() {
        delivery.record(attempt(
            (status != 0).then_some(status),
            Some(error.clone()),
            latency,
        ));
        delivery.next_attempt_at = due;
        persist(context, &delivery).await;
        queue.push_front(delivery);
    }
}

/// Resolves once the stop signal is set (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn pause(stop: &mut watch::Receiver<bool>, wait: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = stopped(stop) => {}
    }
}

fn attempt(status: Option<u16>, error: Option<String>, latency_ms: u64) -> Attempt {
    Attempt {
        at: Utc::now(),
        status,
        error,
        latency_ms,
    }
}

fn finish(delivery: &mut Delivery, state: DeliveryState) {
    delivery.state = state;
    delivery.finished_at = Some(Utc::now());
}

async fn persist(context: &Context, delivery: &Delivery) {
    let commit = context
        .store
        .submit(vec![crate::core::Change::PutDelivery(Box::new(
            delivery.clone(),
        ))]);
    if let Err(error) = commit.wait().await {
        tracing::error!(%error, delivery = %delivery.id, "cannot record a delivery");
    }
}

/// Exponential back-off with ±25 % jitter.
fn backoff(options: &DeliveryOptions, attempts: usize) -> Duration {
    let exponent = attempts.min(20) as u32;
    let base = options
        .backoff_base
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(options.backoff_max);
    let jitter = 0.75 + fastrand::f64() * 0.5;
    base.mul_f64(jitter)
}
