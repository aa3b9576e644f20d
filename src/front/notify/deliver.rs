//! The deliveries: one thread with its own small runtime, one task per target. The alerts
//! task keeps the alerts firing and sends them all again every [`RESEND`] with an `endsAt`
//! four resends ahead (as Prometheus does, so Alertmanager never resolves a firing alert by
//! its resolve timeout), sends a resolved alert once with its `endsAt`, and retries a failed
//! post with back-off. The webhook task sends its messages in order, each retried with
//! back-off a few times before it is dropped. Neither ever answers the rooms: what they fail to
//! deliver is said once on standard error.
//!
//! The outboxes are plain state driven by the time they are given, so their rules are tested
//! without a clock or a network.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::{AlertKey, AlertNews, Endpoint, Notifier, Posted, Targets, wall_ms};

/// How often firing alerts are sent again (Prometheus's `resend_delay`).
const RESEND_MS: i64 = 60_000;
/// The longest wait between retries.
const MAX_BACKOFF_MS: i64 = 60_000;
/// How long one post may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a finished run waits for its last deliveries.
const FINISH_MS: i64 = 3_000;
/// A webhook message is dropped after this many failed posts.
const WEBHOOK_ATTEMPTS: u32 = 6;
/// The most webhook messages waiting; older ones are dropped first.
const WEBHOOK_QUEUE: usize = 500;

/// The delivery thread; [`Running::finish`] waits for its last deliveries.
pub struct Running {
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Waits (a few seconds at most, once every [`Notifier`] is dropped) for what is queued.
    pub fn finish(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub(super) fn start(targets: &Targets) -> Result<(Notifier, Running), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the notifier's runtime: {e}"))?;
    let (alerts, alerts_rx) = match &targets.alertmanager {
        Some(_) => {
            let (tx, rx) = unbounded_channel();
            (Some(tx), Some(rx))
        }
        None => (None, None),
    };
    let (texts, texts_rx) = match &targets.webhook {
        Some(_) => {
            let (tx, rx) = unbounded_channel();
            (Some(tx), Some(rx))
        }
        None => (None, None),
    };
    let targets = targets.clone();
    let thread = std::thread::Builder::new()
        .name("notify".into())
        .spawn(move || {
            runtime.block_on(async move {
                let am = async {
                    if let (Some(endpoint), Some(rx)) = (&targets.alertmanager, alerts_rx) {
                        alerts_task(endpoint, rx).await;
                    }
                };
                let hook = async {
                    if let (Some(endpoint), Some(rx)) = (&targets.webhook, texts_rx) {
                        webhook_task(endpoint, rx).await;
                    }
                };
                tokio::join!(am, hook);
            });
        })
        .map_err(|e| format!("cannot start the notifier: {e}"))?;
    Ok((
        Notifier { alerts, texts },
        Running {
            thread: Some(thread),
        },
    ))
}

fn backoff_ms(failures: u32) -> i64 {
    (1000_i64 << failures.saturating_sub(1).min(10)).min(MAX_BACKOFF_MS)
}

/// The alerts Alertmanager is to hold, and when to post them next.
#[derive(Debug, Default)]
struct AlertOutbox {
    /// Each alert with its resolution time once resolved (sent once, then dropped).
    alerts: BTreeMap<AlertKey, (Posted, Option<i64>)>,
    /// Something changed since the last post that went through.
    dirty: bool,
    failures: u32,
    next_at: Option<i64>,
}

impl AlertOutbox {
    fn apply(&mut self, news: AlertNews, now: i64) {
        match news {
            AlertNews::Fire { key, alert } => {
                self.alerts.insert(key, (alert, None));
            }
            AlertNews::Resolve { key, at_ms } => match self.alerts.get_mut(&key) {
                Some((_, ends)) if ends.is_none() => *ends = Some(at_ms),
                _ => return,
            },
            AlertNews::ResolveAll { scope, at_ms } => {
                let mut any = false;
                for ((s, _), (_, ends)) in &mut self.alerts {
                    if *s == scope && ends.is_none() {
                        *ends = Some(at_ms);
                        any = true;
                    }
                }
                if !any {
                    return;
                }
            }
        }
        self.dirty = true;
        if self.failures == 0 {
            self.next_at = Some(self.next_at.map_or(now, |at| at.min(now)));
        }
    }

    /// The body of the next post: every alert held, the firing ones ending four resends on.
    fn body(&self, now: i64) -> String {
        let alerts: Vec<serde_json::Value> = self
            .alerts
            .values()
            .map(|(alert, ends)| {
                let mut v = serde_json::to_value(alert).expect("an alert serialises");
                let ends = ends.unwrap_or(now + 4 * RESEND_MS);
                v["endsAt"] = crate::export::time::format_rfc3339_ms(ends).into();
                v
            })
            .collect();
        serde_json::to_string(&alerts).expect("alerts serialise")
    }

    /// The post of `body(now)` went through: resolved alerts are done with.
    fn sent(&mut self, now: i64) {
        self.alerts.retain(|_, (_, ends)| ends.is_none());
        self.dirty = false;
        self.failures = 0;
        self.next_at = (!self.alerts.is_empty()).then_some(now + RESEND_MS);
    }

    fn failed(&mut self, now: i64) {
        self.failures += 1;
        self.next_at = Some(now + backoff_ms(self.failures));
    }
}

/// Webhook messages in order.
#[derive(Debug, Default)]
struct TextOutbox {
    queue: VecDeque<String>,
    failures: u32,
    next_at: Option<i64>,
    dropped: usize,
}

impl TextOutbox {
    fn apply(&mut self, text: String, now: i64) {
        if self.queue.len() >= WEBHOOK_QUEUE {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back(text);
        if self.next_at.is_none() {
            self.next_at = Some(now);
        }
    }

    fn body(&self) -> Option<String> {
        self.queue
            .front()
            .map(|text| serde_json::json!({ "text": text }).to_string())
    }

    fn sent(&mut self, now: i64) {
        self.queue.pop_front();
        self.failures = 0;
        self.next_at = (!self.queue.is_empty()).then_some(now);
    }

    /// A failed post: retried after a back-off, dropped after [`WEBHOOK_ATTEMPTS`].
    fn failed(&mut self, now: i64) {
        self.failures += 1;
        if self.failures >= WEBHOOK_ATTEMPTS {
            self.queue.pop_front();
            self.dropped += 1;
            self.failures = 0;
            self.next_at = (!self.queue.is_empty()).then_some(now);
        } else {
            self.next_at = Some(now + backoff_ms(self.failures));
        }
    }
}

/// Says on standard error when a target stops and starts answering, once each way.
struct Health<'a> {
    endpoint: &'a Endpoint,
    what: &'static str,
    failing: bool,
}

impl Health<'_> {
    fn result(&mut self, result: &Result<(), String>) {
        match result {
            Err(e) if !self.failing => {
                eprintln!(
                    "firedrill: cannot post {} to {}: {e}; retrying with back-off (the drill goes on)",
                    self.what, self.endpoint
                );
                self.failing = true;
            }
            Ok(()) if self.failing => {
                eprintln!("firedrill: {} reach {} again", self.what, self.endpoint);
                self.failing = false;
            }
            _ => {}
        }
    }
}

async fn alerts_task(endpoint: &Endpoint, mut rx: UnboundedReceiver<AlertNews>) {
    let mut out = AlertOutbox::default();
    let mut health = Health {
        endpoint,
        what: "alerts",
        failing: false,
    };
    let mut deadline: Option<i64> = None;
    loop {
        let now = wall_ms();
        if out.next_at.is_some_and(|at| at <= now) && (deadline.is_none() || out.dirty) {
            let result = post(endpoint, out.body(now)).await;
            health.result(&result);
            match result {
                Ok(()) => out.sent(wall_ms()),
                Err(_) => out.failed(wall_ms()),
            }
            continue;
        }
        if let Some(deadline) = deadline
            && (!out.dirty || now >= deadline)
        {
            if out.dirty {
                eprintln!(
                    "firedrill: the last drill alerts did not reach {endpoint} (Alertmanager resolves them by their endsAt)"
                );
            }
            return;
        }
        let sleep = sleep_until(out.next_at, deadline, now);
        tokio::select! {
            news = rx.recv(), if deadline.is_none() => match news {
                Some(news) => out.apply(news, wall_ms()),
                None => deadline = Some(wall_ms() + FINISH_MS),
            },
            () = sleep => {}
        }
    }
}

/// The wait until the next post is due or the finishing deadline, whichever comes first
/// (wall-clock milliseconds; at least 1 ms, at most an hour).
fn sleep_until(next_at: Option<i64>, deadline: Option<i64>, now: i64) -> tokio::time::Sleep {
    let mut wait = next_at.map_or(i64::MAX, |at| at - now);
    if let Some(deadline) = deadline {
        wait = wait.min(deadline - now);
    }
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(wait.clamp(1, 3_600_000)).unwrap_or(1000),
    ))
}

async fn webhook_task(endpoint: &Endpoint, mut rx: UnboundedReceiver<String>) {
    let mut out = TextOutbox::default();
    let mut health = Health {
        endpoint,
        what: "messages",
        failing: false,
    };
    let mut deadline: Option<i64> = None;
    let mut dropped = 0;
    loop {
        if out.dropped > dropped {
            eprintln!(
                "firedrill: {} message(s) to {endpoint} dropped after failed posts",
                out.dropped - dropped
            );
            dropped = out.dropped;
        }
        let now = wall_ms();
        if out.next_at.is_some_and(|at| at <= now)
            && let Some(body) = out.body()
        {
            let result = post(endpoint, body).await;
            health.result(&result);
            match result {
                Ok(()) => out.sent(wall_ms()),
                Err(_) => out.failed(wall_ms()),
            }
            continue;
        }
        if let Some(deadline) = deadline
            && (out.queue.is_empty() || now >= deadline)
        {
            if !out.queue.is_empty() {
                eprintln!(
                    "firedrill: {} message(s) did not reach {endpoint}",
                    out.queue.len()
                );
            }
            return;
        }
        let sleep = sleep_until(out.next_at, deadline, now);
        tokio::select! {
            text = rx.recv(), if deadline.is_none() => match text {
                Some(text) => out.apply(text, wall_ms()),
                None => deadline = Some(wall_ms() + FINISH_MS),
            },
            () = sleep => {}
        }
    }
}

/// One JSON POST on its own connection, with a deadline; a non-2xx answer is a failure.
async fn post(endpoint: &Endpoint, body: String) -> Result<(), String> {
    let work = async {
        let stream = tokio::net::TcpStream::connect(&endpoint.host)
            .await
            .map_err(|e| e.to_string())?;
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let request = hyper::Request::post(endpoint.path.as_str())
            .header(hyper::header::HOST, endpoint.host.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("firedrill/", env!("CARGO_PKG_VERSION")),
            )
            .body(body)
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("it answered {}", response.status()))
        }
    };
    tokio::time::timeout(POST_TIMEOUT, work)
        .await
        .map_err(|_| format!("no answer within {} s", POST_TIMEOUT.as_secs()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str) -> Posted {
        Posted {
            labels: [("alertname".to_owned(), name.to_owned())].into(),
            annotations: BTreeMap::new(),
            starts_at: "2026-01-05T09:00:00.000Z".into(),
            generator_url: None,
        }
    }

    fn key(name: &str) -> AlertKey {
        ("room=r1".into(), name.into())
    }

    #[test]
    fn firing_alerts_are_resent_and_a_resolved_one_is_sent_once_with_its_end() {
        let mut out = AlertOutbox::default();
        out.apply(
            AlertNews::Fire {
                key: key("A"),
                alert: alert("A"),
            },
            1000,
        );
        assert_eq!(out.next_at, Some(1000));
        let body: serde_json::Value = serde_json::from_str(&out.body(1000)).unwrap();
        // Firing: ends four resends on, so Alertmanager's resolve timeout never ends it.
        assert_eq!(
            body[0]["endsAt"],
            crate::export::time::format_rfc3339_ms(1000 + 4 * RESEND_MS)
        );
        out.sent(1000);
        assert_eq!(out.next_at, Some(1000 + RESEND_MS), "resent while firing");
        out.apply(
            AlertNews::Resolve {
                key: key("A"),
                at_ms: 5000,
            },
            5000,
        );
        assert_eq!(out.next_at, Some(5000), "a resolution goes out at once");
        let body: serde_json::Value = serde_json::from_str(&out.body(5000)).unwrap();
        assert_eq!(
            body[0]["endsAt"],
            crate::export::time::format_rfc3339_ms(5000)
        );
        out.sent(5000);
        assert!(out.alerts.is_empty());
        assert_eq!(out.next_at, None, "nothing firing, nothing to resend");
        // A resolution of an alert never sent is nothing to say.
        out.apply(
            AlertNews::Resolve {
                key: key("B"),
                at_ms: 6000,
            },
            6000,
        );
        assert!(!out.dirty);
    }

    #[test]
    fn failed_posts_back_off_and_the_end_resolves_a_scope() {
        let mut out = AlertOutbox::default();
        for name in ["A", "B"] {
            out.apply(
                AlertNews::Fire {
                    key: key(name),
                    alert: alert(name),
                },
                0,
            );
        }
        out.failed(0);
        assert_eq!(out.next_at, Some(1000));
        out.failed(1000);
        assert_eq!(out.next_at, Some(3000));
        for _ in 0..20 {
            out.failed(0);
        }
        assert_eq!(out.next_at, Some(MAX_BACKOFF_MS), "back-off is capped");
        // News during a back-off waits for it.
        out.apply(
            AlertNews::ResolveAll {
                scope: "room=r1".into(),
                at_ms: 10,
            },
            10,
        );
        assert_eq!(out.next_at, Some(MAX_BACKOFF_MS));
        assert!(out.alerts.values().all(|(_, ends)| *ends == Some(10)));
        out.sent(MAX_BACKOFF_MS);
        assert!(out.alerts.is_empty());
    }

    #[test]
    fn webhook_messages_go_in_order_and_are_dropped_after_repeated_failures() {
        let mut out = TextOutbox::default();
        out.apply("one".into(), 0);
        out.apply("two".into(), 0);
        assert_eq!(out.body().unwrap(), r#"{"text":"one"}"#);
        for attempt in 1..WEBHOOK_ATTEMPTS {
            out.failed(0);
            assert_eq!(out.next_at, Some(backoff_ms(attempt)));
        }
        out.failed(0);
        assert_eq!(out.dropped, 1);
        assert_eq!(out.body().unwrap(), r#"{"text":"two"}"#);
        out.sent(0);
        assert_eq!(out.body(), None);
        assert_eq!(out.next_at, None);
    }
}
