//! Harm counts users (issue 21): each user request once, by its final outcome, with the
//! attempts (a client's retries) counted beside it. Checked from the engine's own counts: a
//! throttle that rejects everything while clients retry, retried errors, and answers that are
//! both degraded and wrong.

use firedrill::drill::{Drill, load_str};
use firedrill::score::impact::{self, Outcome};
use firedrill::session::Session;

/// A 10-minute drill at 50 requests a second with `service` spliced into the service (its
/// retries) and `steps` as its steps, and a `throttle` action that acts at once.
fn drill(service: &str, steps: &str) -> Drill {
    let text = format!(
        r#"#![enable(implicit_some)]
Drill(name: "harm", title: "Harm", duration: "10m", seed: 5,
  telemetry: Telemetry(bucket: "10s", window: "30s"),
  traffic: Traffic(arrivals: Poisson, start_rps: 50.0),
  pools: [Pool(name: "db", size: 1, acquire_timeout: "200ms")],
  service: Service(name: "s", {service} steps: [{steps}]),
  actions: [Action(name: "throttle", help: "throttle rps=N", params: ["rps"],
                   effect: AdmissionLimit(rps: Param("rps")))],
  roles: [Role(id: "ops", title: "Operations", checklist: [])],
)"#
    );
    load_str("harm.ron", &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// `drill` run to its end after the team typed `lines` at its start; its outcome.
fn outcome_after(drill: &Drill, lines: &[&str]) -> Outcome {
    let mut session = Session::new(drill.clone(), None);
    for line in lines {
        session
            .execute(line)
            .unwrap_or_else(|e| panic!("{line}: {e:?}"))
            .expect("accepted");
    }
    let end = session.sim().end();
    session.advance_to(end);
    let sim = session.sim();
    impact::outcome(drill, sim.telemetry().buckets(), sim.truth(), end)
}

#[test]
fn a_throttled_user_whose_client_retries_is_harmed_once_with_every_attempt_beside() {
    // Four attempts, 100 ms apart; the throttle lets nothing through.
    let d = drill(
        r#"retries: Retries(max_attempts: 4, backoff: "100ms", multiplier: 1.0, jitter: 0.0),"#,
        r#"Step(name: "llm", time: Constant("10ms"))"#,
    );
    let o = outcome_after(&d, &["throttle rps=0"]);
    // 50 a second for 600 s.
    assert!((29_000..31_000).contains(&o.users), "{o:?}");
    // The throttle's token bucket starts with one token: one attempt gets through.
    assert!(o.admitted <= 1 && o.completed == o.admitted, "{o:?}");
    assert_eq!(
        o.rejected + o.admitted,
        o.arrived,
        "every other attempt is rejected: {o:?}"
    );
    // Each user once, however many times its client tried.
    assert_eq!(o.users_rejected, o.users - o.completed, "{o:?}");
    assert_eq!(o.harmed, o.users_rejected, "{o:?}");
    assert_eq!((o.users_failed, o.users_poor), (0, 0), "{o:?}");
    // Every request makes 4 attempts, but those that arrive in the last 300 ms: their
    // retries would come after the drill's end.
    let cut = 4 * o.users - o.arrived;
    assert!(
        cut <= 3 * 60,
        "attempts {} for {} users",
        o.arrived,
        o.users
    );
    assert_eq!(o.failed_attempts, o.rejected, "{o:?}");
    assert!(o.failed_attempts >= 4 * o.harmed - 180, "{o:?}");
}

#[test]
fn a_retried_error_harms_only_when_the_last_attempt_fails() {
    // Each attempt fails with probability 1/2; three attempts: 1/8 of users get no answer,
    // after 1/2 + 1/4 + 1/8 failed attempts per user.
    let d = drill(
        r#"retries: Retries(max_attempts: 3, backoff: "100ms"),"#,
        r#"Step(name: "llm", time: Constant("10ms"), error_rate: 0.5)"#,
    );
    let o = outcome_after(&d, &[]);
    let users = o.users as f64;
    let share = o.users_failed as f64 / users;
    assert!((share - 0.125).abs() < 0.01, "users harmed {share}: {o:?}");
    let per_user = o.failed as f64 / users;
    assert!(
        (per_user - 0.875).abs() < 0.02,
        "failed attempts {per_user}"
    );
    assert_eq!(o.harmed, o.users_failed, "{o:?}");
    // Every user's request ended answered or failed, but the few still in flight at the end.
    let ended = o.completed + o.users_failed;
    assert!(ended <= o.users && o.users - ended <= 5, "{o:?}");
}

#[test]
fn an_answer_both_degraded_and_wrong_harms_one_user() {
    // One connection for 50 requests a second of 100 ms each: most waits time out, and the
    // request answers without the step, always wrongly.
    let d = drill(
        "",
        r#"Step(name: "ctx", pool: "db", time: Constant("100ms"),
                on_timeout: Degrade(wrong_answer_rate: 1.0))"#,
    );
    let o = outcome_after(&d, &[]);
    assert!(o.degraded > o.users / 2, "{o:?}");
    assert_eq!(o.wrong_answers, o.degraded, "{o:?}");
    assert_eq!(o.users_poor, o.degraded, "{o:?}");
    assert_eq!(o.harmed, o.degraded, "harmed once, not twice: {o:?}");
}

#[test]
fn a_client_that_does_not_retry_rejections_still_retries_failures() {
    let retries = |retry_rejected: bool| {
        format!(
            r#"retries: Retries(max_attempts: 4, backoff: "100ms", multiplier: 1.0, retry_rejected: {retry_rejected}),"#
        )
    };
    let step = r#"Step(name: "llm", time: Constant("10ms"), error_rate: 0.5)"#;
    // Everything throttled: each rejection ends its request, no attempt comes back.
    let d = drill(&retries(false), step);
    let o = outcome_after(&d, &["throttle rps=0"]);
    assert!((29_000..31_000).contains(&o.users), "{o:?}");
    // The bucket's one token admits one attempt: only a failure comes back (its retry is
    // then rejected for good); no rejection does.
    assert!(o.admitted <= 1, "{o:?}");
    assert_eq!(o.arrived - o.users, o.failed, "no retried rejection: {o:?}");
    assert_eq!(o.rejected + o.admitted, o.arrived, "{o:?}");
    assert_eq!(o.users_rejected, o.rejected, "{o:?}");
    // The same drill retrying rejections makes four attempts per user.
    let retried = outcome_after(&drill(&retries(true), step), &["throttle rps=0"]);
    assert_eq!(retried.users, o.users, "the same arrivals");
    assert!(retried.arrived > 4 * o.users - 180, "{retried:?}");
    assert_eq!(
        retried.users_rejected, o.users_rejected,
        "the same users harmed"
    );
    // Unthrottled, failures are retried as before: 1/2 + 1/4 + 1/8 retries per user.
    let free = outcome_after(&d, &[]);
    let per_user = (free.arrived - free.users) as f64 / free.users as f64;
    assert!(
        (per_user - 0.875).abs() < 0.02,
        "retries per user {per_user}"
    );
    assert_eq!(free.rejected, 0, "{free:?}");
}
