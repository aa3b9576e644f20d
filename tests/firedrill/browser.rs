//! The debrief page in a real browser: Debian's headless Chromium renders it, the screenshot
//! is kept as a test artifact (`target/tmp/debrief-screenshot.png`), and its charts must be
//! visible — coloured series lines, not a blank or broken page.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The reference response on the short drill, debriefed to HTML through the binary.
fn debrief_page() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("debrief.html");
    // firedrill never overwrites an output file: a rerun starts from no page.
    let _ = std::fs::remove_file(&page);
    let status = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "play",
            "drills/monday-rush.ron",
            "--reference",
            "--quiet",
            "--debrief",
        ])
        .arg(&page)
        .output()
        .expect("firedrill runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    page
}

#[test]
fn the_debrief_renders_in_a_real_browser_with_visible_charts() {
    let Some(chromium) =
        crate::tools::chromium("the_debrief_renders_in_a_real_browser_with_visible_charts")
    else {
        return;
    };
    let page = debrief_page();
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("debrief-screenshot.png");
    let profile = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chromium-profile");
    let (pixels, channels) = screenshot(chromium, &page, &shot, &profile, 2000);
    let pixels = &pixels[..];
    // Series lines and shading are the page's only strongly coloured pixels.
    let coloured = coloured_pixels(pixels, channels);
    let total = pixels.len() / channels;
    assert!(
        coloured > total / 200,
        "only {coloured} of {total} pixels are coloured: the charts did not render"
    );
    // And the page is not one colour (a blank or error page).
    let distinct: std::collections::BTreeSet<&[u8]> =
        pixels.chunks(channels).map(|p| &p[..3]).collect();
    assert!(
        distinct.len() > 100,
        "the page has only {} colours",
        distinct.len()
    );
}

/// Renders `page` in headless `chromium` at 1280 × `height` into `shot` (a file kept as a test
/// artifact), with its own `profile` directory, and returns the screenshot's pixels and their
/// channels.
pub fn screenshot(
    chromium: &str,
    page: &Path,
    shot: &Path,
    profile: &Path,
    height: u32,
) -> (Vec<u8>, usize) {
    let _ = std::fs::remove_file(shot);
    let out = Command::new("timeout")
        .arg("120")
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--window-size=1280,{height}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("the browser runs");
    assert!(
        shot.exists(),
        "no screenshot; chromium said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, height));
    buf.truncate(info.buffer_size());
    (buf, info.color_type.samples())
}

/// The strongly coloured pixels of a screenshot (chart lines, points, bars and shading).
pub fn coloured_pixels(pixels: &[u8], channels: usize) -> usize {
    pixels
        .chunks(channels)
        .filter(|p| {
            let (max, min) = (p[..3].iter().max().unwrap(), p[..3].iter().min().unwrap());
            max - min > 80
        })
        .count()
}
