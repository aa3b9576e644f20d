//! The drills built into the binary, so `firedrill run` works with no file at hand.

/// `(name, RON text)` of every built-in drill; the first is the default.
pub const BUILTIN: &[(&str, &str)] = &[
    ("monday-rush", include_str!("../../drills/monday-rush.ron")),
    ("retry-storm", include_str!("../../drills/retry-storm.ron")),
    (
        "friday-prompt-release",
        include_str!("../../drills/friday-prompt-release.ron"),
    ),
    (
        "connection-leak",
        include_str!("../../drills/connection-leak.ron"),
    ),
    (
        "dropped-index",
        include_str!("../../drills/dropped-index.ron"),
    ),
    (
        "llm-provider-429",
        include_str!("../../drills/llm-provider-429.ron"),
    ),
    (
        "token-blowup",
        include_str!("../../drills/token-blowup.ron"),
    ),
    (
        "billing-vendor-hang",
        include_str!("../../drills/billing-vendor-hang.ron"),
    ),
    (
        "cache-stampede",
        include_str!("../../drills/cache-stampede.ron"),
    ),
    (
        "vector-index-rebuild",
        include_str!("../../drills/vector-index-rebuild.ron"),
    ),
    (
        "noisy-batch-job",
        include_str!("../../drills/noisy-batch-job.ron"),
    ),
    (
        "provider-outage-failover",
        include_str!("../../drills/provider-outage-failover.ron"),
    ),
    ("flash-sale", include_str!("../../drills/flash-sale.ron")),
    (
        "autoscaler-flap",
        include_str!("../../drills/autoscaler-flap.ron"),
    ),
    ("search-loop", include_str!("../../drills/search-loop.ron")),
];

/// The built-in drill called `name`.
#[must_use]
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

// --- drill metadata and the `new` template ---

/// What a drill's header says about it: the leading `//` comment lines may hold
/// `// Teaches: ...` (continued on following comment lines indented by two or more spaces) and
/// `// Difficulty: N/5`. See "Describing a drill" in docs/drill-format.md.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub teaches: Option<String>,
    /// From 1 (a first drill) to 5 (for seasoned responders).
    pub difficulty: Option<u8>,
}

impl Meta {
    /// Reads the leading comment lines of a drill's text (up to its first other line).
    #[must_use]
    pub fn of(text: &str) -> Meta {
        let mut meta = Meta::default();
        let mut continuing = false;
        for line in text.lines() {
            let line = line.trim();
            let Some(comment) = line.strip_prefix("//") else {
                if line.is_empty() {
                    continuing = false;
                    continue;
                }
                break;
            };
            let body = comment.trim();
            if let Some(rest) = strip_key(body, "teaches:") {
                meta.teaches = Some(rest.to_owned());
                continuing = true;
            } else if let Some(rest) = strip_key(body, "difficulty:") {
                meta.difficulty = parse_difficulty(rest);
                continuing = false;
            } else if continuing && comment.starts_with("  ") && !body.is_empty() {
                if let Some(t) = meta.teaches.as_mut() {
                    t.push(' ');
                    t.push_str(body);
                }
            } else {
                continuing = false;
            }
        }
        meta
    }
}

fn strip_key<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let head = body.get(..key.len())?;
    head.eq_ignore_ascii_case(key)
        .then(|| body[key.len()..].trim())
}

/// `2/5`, `2/5 (intermediate)` → 2.
fn parse_difficulty(text: &str) -> Option<u8> {
    let (n, rest) = text.split_once('/')?;
    let of: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let n: u8 = n.trim().parse().ok()?;
    (of == "5" && (1..=5).contains(&n)).then_some(n)
}

/// The commented drill `firedrill new` writes; `{{name}}` and `{{title}}` are filled in.
pub const NEW_DRILL_TEMPLATE: &str = include_str!("../../templates/new-drill.ron");

/// Why a name cannot name a new drill.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a drill name: use lowercase letters, digits and single dashes, starting with a letter and at most 64 characters (e.g. `checkout-slowdown`)"
)]
pub struct BadName(pub String);

/// Whether `name` is a slug: `checkout-slowdown`, `llm-429s`.
#[must_use]
pub fn is_slug(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The text of a new drill called `name`, from [`NEW_DRILL_TEMPLATE`].
pub fn new_drill(name: &str) -> Result<String, BadName> {
    if !is_slug(name) {
        return Err(BadName(name.to_owned()));
    }
    let mut title = name.replace('-', " ");
    title[..1].make_ascii_uppercase();
    Ok(NEW_DRILL_TEMPLATE
        .replace("{{name}}", name)
        .replace("{{title}}", &title))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_metadata() {
        let text = "// Monday rush.\n// Teaches: reading a saturated pool,\n//   throttling before scaling.\n// Difficulty: 2/5 (a first drill)\n#![enable(implicit_some)]\n// Teaches: ignored\nDrill()";
        assert_eq!(
            Meta::of(text),
            Meta {
                teaches: Some("reading a saturated pool, throttling before scaling.".into()),
                difficulty: Some(2),
            }
        );
        assert_eq!(Meta::of("Drill()\n// Difficulty: 3/5"), Meta::default());
        assert_eq!(Meta::of("// difficulty: 7/5").difficulty, None);
    }

    #[test]
    fn slugs() {
        for ok in ["a", "monday-rush", "llm-429s"] {
            assert!(is_slug(ok), "{ok}");
        }
        for bad in ["", "Monday", "-a", "a-", "a--b", "a_b", "1a", "a b", "é"] {
            assert!(!is_slug(bad), "{bad}");
        }
        assert!(new_drill("x-y").unwrap().contains("name: \"x-y\""));
    }
}
// --- end drill metadata and the `new` template ---
