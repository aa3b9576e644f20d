//! The war room in a real browser: Debian's headless Chromium, driven over the DevTools
//! protocol (chromiumoxide, no download), opens two players' pages, `ops` and `ic`; a command
//! typed in one appears in the other's timeline, the charts are drawn, and screenshots are
//! kept under target/ (`target/tmp/war-room-*.png`); the projector shows the charts and takes
//! no commands; when the facilitator ends the drill, the players are taken to the debrief.

use std::path::PathBuf;
use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::page::ScreenshotParams;
use futures_util::StreamExt;
use serde_json::json;

use crate::serve::{Room, Server, data_dir};

/// The full path of a program found on `PATH` (chromiumoxide wants a path, not a name).
fn on_path(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(program))
}

/// Evaluates `expression` until it is true, for at most `tries` × 100 ms.
async fn until(page: &Page, expression: &str, tries: u32) -> bool {
    for _ in 0..tries {
        if let Ok(v) = page.evaluate(expression).await
            && v.value() == Some(&json!(true))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn join(page: &Page, name: &str) {
    assert!(
        until(page, "!document.getElementById('join').hidden", 300).await,
        "the join form shows"
    );
    page.bring_to_front()
        .await
        .expect("the page comes to the front");
    page.find_element("#name")
        .await
        .expect("a name field")
        .focus()
        .await
        .unwrap()
        .type_str(name)
        .await
        .unwrap()
        .press_key("Enter")
        .await
        .unwrap();
    assert!(
        until(page, "!document.getElementById('command').hidden", 300).await,
        "{name} joined and has a command box"
    );
}

/// Every chart has clock labels on its time axis and value ticks; each alert of monday-rush
/// has its threshold line; an action ordered is marked for every player, and faults are
/// marked for no player or projector (the facilitator's truth).
async fn charts_are_readable(ops: &Page, ic: &Page, projector: &Page) {
    ops.bring_to_front().await.unwrap();
    let line = ops.find_element("#line").await.expect("a command box");
    line.focus().await.unwrap();
    line.type_str("throttle rps=150")
        .await
        .unwrap()
        .press_key("Enter")
        .await
        .unwrap();
    let readable = "(() => { const svgs = [...document.querySelectorAll('#charts svg.chart')]; \
        return svgs.length >= 4 \
        && svgs.every(s => s.querySelectorAll('text.tick.x').length >= 2 && s.querySelectorAll('text.tick.y').length >= 2) \
        && [...document.querySelectorAll('text.tick.x')].some(t => /^\\d\\d:\\d\\d$/.test(t.textContent)) \
        && [...document.querySelectorAll('text.tick.y')].some(t => t.textContent.endsWith(' s')) \
        && ['AriaLatencyHigh', 'DbAcquireTimeouts', 'DbPoolSaturated'].every(a => document.querySelector(`#charts g.threshold[data-alert='${a}'] line`)); })()";
    for (name, page) in [("ops", ops), ("ic", ic), ("projector", projector)] {
        assert!(
            until(page, readable, 300).await,
            "{name}'s charts have time and value ticks and a threshold line per alert"
        );
        assert!(
            until(
                page,
                "document.querySelectorAll('#charts g.mark.ordered').length > 0",
                300
            )
            .await,
            "{name}'s charts mark the action ordered"
        );
        assert_eq!(
            page.evaluate("document.querySelectorAll('g.mark.fault').length")
                .await
                .unwrap()
                .value(),
            Some(&json!(0)),
            "{name} is shown no fault"
        );
    }
    // Hovering a chart reads the values at that time.
    let readout = "(() => { const s = document.querySelector('#charts svg.chart'); const r = s.getBoundingClientRect(); \
        s.dispatchEvent(new PointerEvent('pointermove', { clientX: r.left + r.width / 2, clientY: r.top + 10, bubbles: true })); \
        return /^\\d\\d:\\d\\d:\\d\\d /.test(s.parentElement.querySelector('.readout').textContent); })()";
    assert!(
        until(ops, readout, 50).await,
        "hovering a chart shows a readout"
    );
}

/// The request log's filter on the page: by text, level and step, over a `logs` answer.
async fn log_filter(ops: &Page) {
    let line = ops.find_element("#line").await.expect("a command box");
    line.focus().await.unwrap();
    line.type_str("logs")
        .await
        .unwrap()
        .press_key("Enter")
        .await
        .unwrap();
    let visible =
        "[...document.querySelectorAll('#timeline .log-line')].filter(l => !l.hidden).length";
    assert!(
        until(ops, &format!("{visible} > 5"), 300).await,
        "the request log is on the page, line by line"
    );
    let set = |id: &str, value: &str| {
        format!(
            "(() => {{ const e = document.getElementById('{id}'); e.value = '{value}'; e.dispatchEvent(new Event('input')); return true; }})()"
        )
    };
    for (id, value, check) in [
        ("log-text", "no such request", format!("{visible} === 0")),
        ("log-text", "", format!("{visible} > 5")),
        (
            "log-level",
            "WARN",
            format!("{visible} > 0 && [...document.querySelectorAll('#timeline .log-line')].every(l => l.hidden === (l.dataset.level !== 'WARN'))"),
        ),
        (
            "log-step",
            "retrieve",
            "document.getElementById('log-step').options.length > 1 && [...document.querySelectorAll('#timeline .log-line')].every(l => l.hidden || l.dataset.step === 'retrieve')".to_owned(),
        ),
    ] {
        assert!(until(ops, &set(id, value), 10).await);
        assert!(until(ops, &check, 50).await, "the filter {id}={value:?} holds: {check}");
    }
    for id in ["log-level", "log-step"] {
        assert!(until(ops, &set(id, ""), 10).await);
    }
}

/// A phone, a laptop and a projector: no horizontal scroll, the command box on screen, and
/// the projector's page filling its screen; screenshots in target/tmp.
async fn viewports(player: &Page, projector: &Page, shots: &std::path::Path) {
    use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
    for (page, who, width, height, mobile) in [
        (player, "player", 390, 844, true),
        (player, "player", 1280, 800, false),
        (projector, "projector", 1920, 1080, false),
    ] {
        page.bring_to_front().await.unwrap();
        page.execute(SetDeviceMetricsOverrideParams::new(
            width, height, 1.0, mobile,
        ))
        .await
        .expect("the viewport is set");
        assert!(
            until(
                page,
                &format!(
                    "innerWidth === {width} && document.documentElement.scrollWidth <= innerWidth"
                ),
                100
            )
            .await,
            "{who} at {width}x{height}: the page is {:?} wide",
            page.evaluate("document.documentElement.scrollWidth")
                .await
                .unwrap()
                .value()
        );
        if who == "player" {
            let reachable = "(() => { const r = document.getElementById('command').getBoundingClientRect(); \
                return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight + 1 || (document.getElementById('command').scrollIntoView(), true) && document.getElementById('command').getBoundingClientRect().bottom <= innerHeight + 1; })()";
            assert!(
                until(page, reachable, 50).await,
                "{who} at {width}x{height}: the command box is reachable"
            );
        } else {
            assert!(
                until(
                    page,
                    "document.querySelector('main').getBoundingClientRect().width >= innerWidth - 2 && document.querySelector('main').getBoundingClientRect().bottom >= innerHeight - 2",
                    50
                )
                .await,
                "the projector fills {width}x{height}"
            );
        }
        let shot = shots.join(format!("war-room-{who}-{width}x{height}.png"));
        let _ = std::fs::remove_file(&shot);
        page.save_screenshot(ScreenshotParams::builder().build(), &shot)
            .await
            .expect("a screenshot");
        assert!(
            std::fs::metadata(&shot)
                .expect("the screenshot is kept")
                .len()
                > 10_000
        );
    }
}

#[test]
fn two_players_see_each_others_commands_and_live_charts_in_a_real_browser() {
    let Some(chromium) = crate::tools::chromium(
        "two_players_see_each_others_commands_and_live_charts_in_a_real_browser",
    ) else {
        return;
    };
    let dir = data_dir("browser");
    let server = Server::start(&dir.join("data"));
    let room = Room::open(
        &server,
        &json!({ "drill": "monday-rush", "clock": "turns" }),
    );
    // 50 minutes in: the surge has begun, the pool is saturated, alerts fire.
    let moved = room.facilitator.post(
        server.addr,
        &room.path("control"),
        &json!({ "op": "advance", "by": "50m" }),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    let url = |role: &str| {
        format!(
            "http://{}/room/{}#t={}",
            server.addr,
            room.id,
            room.tokens["roles"][role].as_str().unwrap()
        )
    };
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = BrowserConfig::builder()
            .chrome_executable(on_path(chromium))
            .no_sandbox()
            .window_size(1400, 1000)
            .user_data_dir(dir.join("profile"))
            .args(["--disable-gpu", "--no-first-run", "--disable-background-networking"])
            .build()
            .expect("a browser configuration");
        let (mut browser, mut handler) = Browser::launch(config).await.expect("chromium starts");
        let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let ops = browser.new_page(url("ops")).await.expect("the ops page");
        let ic = browser.new_page(url("ic")).await.expect("the ic page");
        join(&ops, "Ada").await;
        join(&ic, "Grace").await;

        ops.bring_to_front().await.unwrap();
        let line = ops.find_element("#line").await.expect("a command box");
        line.focus().await.unwrap();
        line.type_str("note \"pool db looks saturated\"")
            .await
            .unwrap()
            .press_key("Enter")
            .await
            .unwrap();
        assert!(
            until(
                &ic,
                "document.getElementById('timeline').textContent.includes('pool db looks saturated') && document.getElementById('timeline').textContent.includes('Ada')",
                300
            )
            .await,
            "ops' command appears in ic's timeline, with who typed it"
        );
        for (name, page) in [("ops", &ops), ("ic", &ic)] {
            assert!(
                until(
                    page,
                    "[...document.querySelectorAll('svg.chart polyline')].filter(p => p.getAttribute('points').split(' ').length > 10).length >= 4",
                    300
                )
                .await,
                "{name}'s charts are drawn"
            );
            let shot = shots.join(format!("war-room-{name}.png"));
            let _ = std::fs::remove_file(&shot);
            page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), &shot)
                .await
                .expect("a screenshot");
            assert!(std::fs::metadata(&shot).expect("the screenshot is kept").len() > 10_000);
        }
        assert!(
            until(
                &ops,
                "document.getElementById('alerts').textContent.includes('firing')",
                300
            )
            .await,
            "alerts show their state"
        );
        // The projector: the charts, no command box.
        let projector = browser
            .new_page(format!(
                "http://{}/room/{}#t={}",
                server.addr,
                room.id,
                room.tokens["projector"].as_str().unwrap()
            ))
            .await
            .expect("the projector page");
        assert!(
            until(
                &projector,
                "document.querySelectorAll('svg.chart polyline').length >= 4 && document.getElementById('command').hidden && document.getElementById('join').hidden",
                300
            )
            .await,
            "the projector shows the charts and takes no commands"
        );
        charts_are_readable(&ops, &ic, &projector).await;
        log_filter(&ops).await;
        viewports(&ops, &projector, &shots).await;
        // When the facilitator ends the drill, the players are taken to the debrief.
        let ended = room.facilitator.post(
            server.addr,
            &room.path("control"),
            &json!({ "op": "end" }),
        );
        assert_eq!(ended.status, 200, "{}", ended.text());
        assert!(
            until(
                &ic,
                "location.pathname.endsWith('/debrief') && document.body.textContent.includes('out of 100')",
                600
            )
            .await,
            "ic is taken to the debrief"
        );
        // The debrief's charts: clock labels on the time axis, value ticks, and the threshold
        // of each alert whose metric has a chart there.
        assert!(
            until(
                &ic,
                "(() => { const svgs = [...document.querySelectorAll('svg.chart')]; \
                 const th = [...document.querySelectorAll('svg.chart g.threshold')].map(g => g.textContent).join(' '); \
                 return svgs.length >= 4 && svgs.every(s => s.querySelectorAll('text.ax').length >= 4) \
                 && [...document.querySelectorAll('svg.chart text')].some(t => /^\\d\\d:\\d\\d$/.test(t.textContent)) \
                 && th.includes('AriaLatencyHigh') && th.includes('DbAcquireTimeouts'); })()",
                100
            )
            .await,
            "the debrief's charts have their axes and the alerts' thresholds"
        );
        browser.close().await.expect("chromium closes");
        let _ = browser.wait().await;
        events.abort();
    });
}
