//! After the incident, in the war room: the facilitator uploads change files, runs their
//! what-if on the room's own session and downloads its postmortem; each is what the command
//! line gives from the room's transcript, and only the facilitator may do it before the end.

use serde_json::{Value, json};

use super::serve::{Room, Server, data_dir, firedrill, request};

fn change_text(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("drills/changes")
            .join(name),
    )
    .expect("a change file")
}

#[test]
fn the_facilitator_tries_change_files_on_the_rooms_session_and_files_its_postmortem() {
    let dir = data_dir("prevent");
    let server = Server::start(&dir.join("data"));
    let addr = server.addr;
    let room = Room::open(
        &server,
        &json!({ "drill": "monday-rush", "clock": "turns" }),
    );
    let ops = room.role(addr, "ops");
    let joined = ops.post(addr, &room.path("join"), &json!({ "name": "Ana" }));
    assert_eq!(joined.status, 200, "{}", joined.text());
    // A short session: the team pages, acknowledges and throttles late.
    for (at_min, line) in [(52, "ack"), (58, "throttle rps=150")] {
        let moved = room.facilitator.post(
            addr,
            &room.path("control"),
            &json!({ "op": "advance", "to_ns": at_min * 60 * 1_000_000_000_u64 }),
        );
        assert_eq!(moved.status, 200, "{}", moved.text());
        let said = ops.post(
            addr,
            &room.path("command"),
            &json!({ "name": "Ana", "line": line }),
        );
        assert_eq!(said.status, 200, "{}", said.text());
    }

    let changes = room.facilitator.get(addr, &room.path("changes"));
    assert_eq!(changes.status, 200, "{}", changes.text());
    assert_eq!(changes.json(), json!([]));
    let none_yet = room.facilitator.get(addr, &room.path("whatif"));
    assert_eq!(none_yet.status, 409, "{}", none_yet.text());

    // A change file with problems is refused with each of them, placed in the file.
    let bad = room.facilitator.post(
        addr,
        &room.path("changes"),
        &json!({ "name": "typo.ron", "text": "Change(\n  title: \"Bigger\",\n  faults: [],\n  colour: \"red\",\n)\n" }),
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    let hint = bad.json()["hint"].as_str().unwrap_or_default().to_owned();
    assert!(hint.contains("typo.ron:3:"), "the fault is placed: {hint}");
    assert!(
        hint.contains("typo.ron:4:"),
        "so is the unknown field: {hint}"
    );
    let misspelt = room.facilitator.post(
        addr,
        &room.path("changes"),
        &json!({ "name": "typo.ron", "text": "Change(\n  title: \"Bigger\",\n  pools: [Pool(name: \"dbb\", size: 40, acquire_timeout: \"2s\")],\n)\n" }),
    );
    assert_eq!(misspelt.status, 400, "{}", misspelt.text());
    let hint = misspelt.json()["hint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        hint.contains("typo.ron:3:") && hint.contains("`db`"),
        "a misspelt pool is not added as a new one: {hint}"
    );

    // Only the facilitator's link, with its anti-CSRF secret, uploads.
    let body = json!({ "name": "monday-pool-40.ron", "text": change_text("monday-pool-40.ron") });
    let by_player = ops.post(addr, &room.path("changes"), &body);
    assert_eq!(by_player.status, 403, "{}", by_player.text());
    let no_csrf = request(
        addr,
        "POST",
        &room.path("changes"),
        &[("X-Firedrill-Token", &room.facilitator.token)],
        Some(&body),
    );
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.text());
    let player_reads = ops.get(addr, &room.path("whatif"));
    assert_eq!(player_reads.status, 403, "{}", player_reads.text());

    for name in ["monday-pool-40.ron", "monday-page-on-saturation.ron"] {
        let up = room.facilitator.post(
            addr,
            &room.path("changes"),
            &json!({ "name": name, "text": change_text(name) }),
        );
        assert_eq!(up.status, 200, "{}", up.text());
    }
    let listed = room.facilitator.get(addr, &room.path("changes")).json();
    let titles: Vec<&str> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 2, "{listed}");
    assert_eq!(titles[0], "Grow the db pool to 40");

    // The room's what-if and postmortem are the command line's, from the room's transcript.
    let transcript = room.facilitator.get(addr, &room.path("transcript"));
    assert_eq!(transcript.status, 200);
    let path = dir.join("room.jsonl");
    std::fs::write(&path, &transcript.body).unwrap();
    let path = path.to_str().unwrap();
    let served = room
        .facilitator
        .get(addr, &format!("{}?format=json", room.path("whatif")));
    assert_eq!(served.status, 200, "{}", served.text());
    let pool = "drills/changes/monday-pool-40.ron";
    let page = "drills/changes/monday-page-on-saturation.ron";
    let cli: Value =
        serde_json::from_str(&firedrill(&["whatif", path, pool, page, "--json"])).unwrap();
    assert_eq!(served.json()["changes"], cli["changes"]);
    assert_eq!(served.json()["base"], cli["base"]);
    assert_eq!(
        served.json()["changes"][0]["team"]["pages"]["fired_share"],
        json!(0.0),
        "with 40 connections the team's session pages no one"
    );
    let text = room
        .facilitator
        .get(addr, &format!("{}?format=text", room.path("whatif")));
    assert_eq!(text.status, 200);
    assert!(
        text.text().contains("Grow the db pool to 40"),
        "{}",
        text.text()
    );

    let before_end = ops.get(addr, &room.path("postmortem"));
    assert_eq!(before_end.status, 409, "{}", before_end.text());
    let md = room
        .facilitator
        .get(addr, &format!("{}?format=md", room.path("postmortem")));
    assert_eq!(md.status, 200, "{}", md.text());
    assert!(
        md.header("content-disposition")
            .is_some_and(|d| d.contains("postmortem.md")),
        "a download"
    );
    assert_eq!(
        md.text(),
        firedrill(&["postmortem", path, pool, page, "--runs", "1"]),
        "the room's postmortem is the transcript's"
    );
    let bad_runs = room
        .facilitator
        .get(addr, &format!("{}?runs=5000", room.path("postmortem")));
    assert_eq!(bad_runs.status, 400, "{}", bad_runs.text());

    let ended = room
        .facilitator
        .post(addr, &room.path("control"), &json!({ "op": "end" }));
    assert_eq!(ended.status, 200, "{}", ended.text());
    let html = ops.get(addr, &format!("{}?format=html", room.path("postmortem")));
    assert_eq!(html.status, 200, "{}", html.text());
    assert!(html.text().contains("Grow the db pool to 40"));

    // Clearing needs the anti-CSRF secret too.
    let no_csrf = request(
        addr,
        "DELETE",
        &room.path("changes"),
        &[("X-Firedrill-Token", &room.facilitator.token)],
        None,
    );
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.text());
    let cleared = request(
        addr,
        "DELETE",
        &room.path("changes"),
        &[
            ("X-Firedrill-Token", &room.facilitator.token),
            ("X-Firedrill-Csrf", &room.facilitator.csrf),
        ],
        None,
    );
    assert_eq!(cleared.status, 200, "{}", cleared.text());
    assert_eq!(
        room.facilitator.get(addr, &room.path("changes")).json(),
        json!([])
    );
}
