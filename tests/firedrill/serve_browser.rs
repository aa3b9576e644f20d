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
        browser.close().await.expect("chromium closes");
        let _ = browser.wait().await;
        events.abort();
    });
}
