//! "Did you mean ...?" for drill diagnostics: edit distance against the names that were
//! expected, and the wording of hints for names that refer to nothing.
//!
//! This module only words suggestions; deciding that a name is unknown is the caller's job
//! ([`super::load`] for field and variant names, [`super::validate`] for references).

/// Names compared with a misspelt one: enough for any hand-written drill.
const MAX_CANDIDATES: usize = 1000;

/// Names listed in a hint before the rest are counted.
const MAX_LISTED: usize = 20;

/// The edit distance between `a` and `b` in characters, counting a swap of two neighbours
/// as one edit (optimal string alignment), so `titel` is one edit from `title`.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the dynamic-programming table: two back, one back, current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The candidate closest to `name`, if one is close enough to be a likely typo: equal but for
/// case, within a third of the name's length (at least one edit), or a shortening of it
/// (`wrong_answer` for `wrong_answer_rate`).
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .take(MAX_CANDIDATES)
        .filter(|candidate| *candidate != name)
        .map(|candidate| {
            let candidate_lower = candidate.to_lowercase();
            let distance = if candidate_lower == lower {
                0
            } else if lower.chars().count() >= 3 && candidate_lower.starts_with(&lower) {
                limit
            } else {
                edit_distance(&lower, &candidate_lower)
            };
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// `` `a`, `b` and `c` `` for a hint; past [`MAX_LISTED`] names, `` `a`, `b` and 98 more ``.
pub(crate) fn list(names: &[&str]) -> String {
    let mut quoted: Vec<String> = names
        .iter()
        .take(MAX_LISTED)
        .map(|name| format!("`{name}`"))
        .collect();
    if names.len() > MAX_LISTED {
        quoted.push(format!("{} more", names.len() - MAX_LISTED));
    }
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The hint for a name that is not among `expected`: the likely intended one, or the list.
pub(crate) fn expected_one_of(name: &str, expected: &[&str]) -> String {
    match closest(name, expected.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None if expected.is_empty() => "nothing is expected here".to_owned(),
        None => format!("expected one of {}", list(expected)),
    }
}

/// The hint for a reference to an undefined name: `did you mean` one of `candidates`, else
/// what is `defined`.
///
/// `plural` names the kind (`pools`), `section` where such things are defined (`pools`).
pub(crate) fn unknown_reference(
    name: &str,
    candidates: &[&str],
    defined: &[&str],
    plural: &str,
    section: &str,
) -> String {
    match closest(name, candidates.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None if defined.is_empty() => format!("no {plural} are defined; add one under `{section}`"),
        None => format!("defined {plural} are: {}", list(defined)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        for (a, b, d) in [
            ("", "", 0),
            ("size", "size", 0),
            ("sise", "size", 1),
            ("aquire_timeout", "acquire_timeout", 1),
            ("kitten", "sitting", 3),
            ("titel", "title", 1),
            ("rsp", "rps", 1),
            ("ca", "abc", 3),
            ("", "abc", 3),
            ("µs", "us", 1),
        ] {
            assert_eq!(edit_distance(a, b), d, "{a} / {b}");
        }
    }

    #[test]
    fn suggestions() {
        let fields = ["name", "size", "acquire_timeout"];
        assert_eq!(closest("aquire_timeout", fields), Some("acquire_timeout"));
        assert_eq!(closest("sise", fields), Some("size"));
        assert_eq!(closest("Size", fields), Some("size"));
        assert_eq!(closest("colour", fields), None);
        assert_eq!(closest("acq", fields), Some("acquire_timeout"));
        assert_eq!(closest("ac", fields), None);
        assert_eq!(expected_one_of("sise", &fields), "did you mean `size`?");
        assert_eq!(
            expected_one_of("colour", &fields),
            "expected one of `name`, `size` and `acquire_timeout`"
        );
        assert_eq!(
            unknown_reference("cache", &["db"], &["db"], "pools", "pools"),
            "defined pools are: `db`"
        );
        let many: Vec<String> = (0..25).map(|i| format!("p{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(list(&many).ends_with("`p19` and 5 more"));
        assert_eq!(
            unknown_reference("db", &[], &[], "pools", "pools"),
            "no pools are defined; add one under `pools`"
        );
    }
}
