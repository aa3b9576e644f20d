//! Drill alerts and comms in the team's own tools. `--alertmanager URL` posts each drill alert
//! to an Alertmanager (`POST /api/v2/alerts`) as it fires and again as it resolves, so a team
//! practises the page their own routing gives them; `--webhook URL` posts each status
//! `update` and each page to a Slack-compatible incoming webhook (`{"text": ...}`).
//!
//! This is the one place a session's news leaves the machine, and the one place besides the
//! realtime clocks that reads the wall clock (Alertmanager's `startsAt` and `endsAt`). It reads
//! news the session has already produced and gives nothing back: a [`Feed`] only queues, the
//! deliveries run on their own thread (`deliver`), so a slow or dead receiver changes nothing
//! in a room, a session or a transcript. Alerts on ground truth are never sent: the team
//! could not see that signal in production.

mod deliver;

use std::collections::BTreeMap;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use crate::drill::Drill;
use crate::drill::spec::Severity;
use crate::session::{News, Notice, Session, SimTime};

pub use self::deliver::Running;

/// Where a notifier posts: a plain-HTTP URL, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL as posted to.
    pub url: String,
    /// `host:port`, to connect to and to send as `Host`.
    host: String,
    /// The path and query of the request.
    path: String,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// `--alertmanager URL`: an Alertmanager's address (`http://host:9093`, with its route
/// prefix if it has one); `/api/v2/alerts` is added unless the URL already ends with it.
///
/// # Errors
/// The URL is not a plain-HTTP URL with a host.
pub fn parse_alertmanager(text: &str) -> Result<Endpoint, String> {
    let mut endpoint = parse_http(text, "http://127.0.0.1:9093")?;
    let base = endpoint.path.trim_end_matches('/');
    if !base.ends_with("/api/v2/alerts") {
        endpoint.path = format!("{base}/api/v2/alerts");
        endpoint.url = format!("http://{}{}", endpoint.host, endpoint.path);
    }
    Ok(endpoint)
}

/// `--webhook URL`: a Slack-compatible incoming webhook, posted to as given.
///
/// # Errors
/// The URL is not a plain-HTTP URL with a host.
pub fn parse_webhook(text: &str) -> Result<Endpoint, String> {
    parse_http(text, "http://127.0.0.1:8081/hooks/drills")
}

fn parse_http(text: &str, example: &str) -> Result<Endpoint, String> {
    let uri: hyper::Uri = text
        .trim()
        .parse()
        .map_err(|e| format!("\"{text}\" is not a URL ({e}); give one like {example}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(format!(
                "\"{text}\": firedrill posts plain HTTP only; reach an https receiver through a relay on your network (Alertmanager itself can route to Slack, PagerDuty or Opsgenie over https)"
            ));
        }
        _ => {
            return Err(format!(
                "\"{text}\" is not an http:// URL; give one like {example}"
            ));
        }
    }
    let authority = uri
        .authority()
        .filter(|a| !a.host().is_empty())
        .ok_or_else(|| format!("\"{text}\" has no host; give one like {example}"))?;
    if authority.as_str().contains('@') {
        return Err(format!(
            "\"{text}\": a user and password in the URL are not supported"
        ));
    }
    let host = format!(
        "{}:{}",
        authority.host(),
        authority.port_u16().unwrap_or(80)
    );
    let path = uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    Ok(Endpoint {
        url: format!("http://{host}{path}"),
        host,
        path,
    })
}

/// Where a server or a run sends drill news: none, one or both.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub alertmanager: Option<Endpoint>,
    pub webhook: Option<Endpoint>,
}

impl Targets {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.alertmanager.is_none() && self.webhook.is_none()
    }
}

/// Which alert of which room or session: `(scope, alertname)`.
type AlertKey = (String, String);

/// One alert as Alertmanager's API takes it (`postableAlert`), without its `endsAt`, which
/// the delivery sets.
#[derive(Debug, Clone, Serialize, PartialEq)]
struct Posted {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "Option::is_none")]
    generator_url: Option<String>,
}

/// What the deliveries are told.
#[derive(Debug, Clone)]
enum AlertNews {
    Fire {
        key: AlertKey,
        alert: Posted,
    },
    Resolve {
        key: AlertKey,
        at_ms: i64,
    },
    /// The drill is over: every alert of the scope resolves.
    ResolveAll {
        scope: String,
        at_ms: i64,
    },
}

/// The queue into the delivery thread; cheap to clone, never blocks.
#[derive(Clone)]
pub struct Notifier {
    alerts: Option<UnboundedSender<AlertNews>>,
    texts: Option<UnboundedSender<String>>,
}

impl Notifier {
    /// Starts the delivery thread for `targets`.
    ///
    /// # Errors
    /// The thread or its runtime cannot start.
    pub fn start(targets: &Targets) -> Result<(Notifier, Running), String> {
        deliver::start(targets)
    }
}

/// One room's or one session's news, labelled for the team's tools.
pub struct Feed {
    notifier: Notifier,
    drill: String,
    /// `room` or `session`.
    scope_label: &'static str,
    id: String,
    link: Option<String>,
}

impl Feed {
    /// A feed for the room or session `id` (`scope_label`: `room` or `session`) playing
    /// `drill`; `link` becomes each alert's `generatorURL`.
    #[must_use]
    pub fn new(
        notifier: &Notifier,
        drill: &Drill,
        scope_label: &'static str,
        id: &str,
        link: Option<String>,
    ) -> Feed {
        Feed {
            notifier: notifier.clone(),
            drill: drill.name.clone(),
            scope_label,
            id: id.to_owned(),
            link,
        }
    }

    fn scope(&self) -> String {
        format!("{}={}", self.scope_label, self.id)
    }

    /// Posts what the team was just told: alerts firing and resolving (not those on ground
    /// truth), pages to the webhook, and at the drill's end every alert resolved.
    pub fn notices(&self, session: &Session, notices: &[Notice]) {
        for notice in notices {
            match notice {
                Notice::System(News::AlertFiring {
                    at,
                    alert,
                    value,
                    severity,
                }) => self.firing(session, *at, alert, *value, *severity),
                Notice::System(News::AlertResolved { alert, .. }) => {
                    if on_ground_truth(session.drill(), alert) {
                        continue;
                    }
                    self.send_alert(AlertNews::Resolve {
                        key: (self.scope(), alert.clone()),
                        at_ms: wall_ms(),
                    });
                }
                Notice::End { .. } => self.send_alert(AlertNews::ResolveAll {
                    scope: self.scope(),
                    at_ms: wall_ms(),
                }),
                _ => {}
            }
        }
    }

    fn firing(&self, session: &Session, at: SimTime, alert: &str, value: f64, severity: Severity) {
        let drill = session.drill();
        if on_ground_truth(drill, alert) {
            return;
        }
        let rule = drill.alerts.iter().find(|a| a.name == alert);
        let summary = rule.map(|a| a.summary.clone()).unwrap_or_default();
        let clock = session.clock_text(at);
        let severity = match severity {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        };
        if severity == "page" {
            self.send_text(&format!("{clock} PAGE {alert}: {summary}"));
        }
        if self.notifier.alerts.is_none() {
            return;
        }
        let mut description = format!(
            "A firedrill drill, not a real incident: {} ({} {}), fired at {clock} drill time with value {value:.3}.",
            drill.title, self.scope_label, self.id
        );
        if let Some(runbook) = rule.and_then(|a| a.runbook.as_ref()) {
            description.push_str(" Runbook: ");
            description.push_str(runbook);
        }
        let labels = [
            ("alertname", alert),
            ("severity", severity),
            ("drill", &self.drill),
            (self.scope_label, &self.id),
            ("firedrill", "drill"),
        ];
        let at_ms = wall_ms();
        self.send_alert(AlertNews::Fire {
            key: (self.scope(), alert.to_owned()),
            alert: Posted {
                labels: labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                annotations: [("summary", summary), ("description", description)]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
                starts_at: crate::export::time::format_rfc3339_ms(at_ms),
                generator_url: self.link.clone(),
            },
        });
    }

    /// Posts a status update the team wrote (`update "..."`) to the webhook.
    pub fn update(
        &self,
        session: &Session,
        at: SimTime,
        role: &str,
        person: Option<&str>,
        text: &str,
    ) {
        let who = match person {
            Some(person) if person != role => format!("{role} ({person})"),
            _ => role.to_owned(),
        };
        self.send_text(&format!(
            "{} status update from {who}: {text}",
            session.clock_text(at)
        ));
    }

    fn send_alert(&self, news: AlertNews) {
        if let Some(tx) = &self.notifier.alerts {
            let _ = tx.send(news);
        }
    }

    fn send_text(&self, text: &str) {
        if let Some(tx) = &self.notifier.texts {
            let line = format!(
                "[DRILL {} · {} {}] {text}",
                self.drill, self.scope_label, self.id
            );
            let _ = tx.send(slack_escaped(&line));
        }
    }
}

fn on_ground_truth(drill: &Drill, alert: &str) -> bool {
    drill
        .alerts
        .iter()
        .any(|a| a.name == alert && a.when.metric().is_ground_truth())
}

/// Slack's three control characters in message text, escaped as its API asks; so a name or
/// an update cannot mention `<!channel>` or forge a link.
fn slack_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Milliseconds since the Unix epoch, now: only ever a timestamp in what is posted.
fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alertmanager_url_gets_the_api_path_once() {
        let e = parse_alertmanager("http://am.example:9093").unwrap();
        assert_eq!(e.url, "http://am.example:9093/api/v2/alerts");
        assert_eq!(e.host, "am.example:9093");
        let e = parse_alertmanager("http://10.0.0.1:9093/alertmanager/").unwrap();
        assert_eq!(e.path, "/alertmanager/api/v2/alerts");
        let e = parse_alertmanager("http://10.0.0.1/api/v2/alerts").unwrap();
        assert_eq!(e.url, "http://10.0.0.1:80/api/v2/alerts");
    }

    #[test]
    fn a_bad_url_says_what_to_give() {
        for (bad, says) in [
            ("am.example:9093", "http://"),
            ("https://hooks.slack.com/services/x", "plain HTTP only"),
            ("ftp://x", "not an http:// URL"),
            ("http://user:pw@am:9093", "user and password"),
            ("http:// bad", "not a URL"),
        ] {
            let e = parse_webhook(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn slack_control_characters_are_escaped() {
        assert_eq!(
            slack_escaped("<!channel> & <http://x|y>"),
            "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
        );
    }
}
