//! Whether a `diagnose` names the drill's root cause. Teams write what they think in their own
//! words, so matching ignores case, punctuation, hyphens and word order: a diagnosis matches
//! when it contains every word of the cause's `id` or of one of its `accept` phrases
//! ("the billing vendor api is hanging" matches "vendor-api hanging"; "DB pool exhaustion!"
//! matches "db-pool-exhaustion"). The session asks it; `validate` uses [`words`] to refuse
//! phrases with nothing to match. What a wrong guess costs is scoring's business
//! ([`crate::session::checklist`]).

use crate::drill::spec::RootCause;

/// The words of `text`: runs of letters and digits, lowercased, in order.
#[must_use]
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `diagnosis` contains every word of `phrase` (and `phrase` has at least one).
#[must_use]
pub fn contains_phrase(diagnosis: &str, phrase: &str) -> bool {
    let said = words(diagnosis);
    let wanted = words(phrase);
    !wanted.is_empty() && wanted.iter().all(|w| said.contains(w))
}

/// Whether `diagnosis` names `cause`: it contains every word of its id or of one accepted phrase.
#[must_use]
pub fn names_cause(diagnosis: &str, cause: &RootCause) -> bool {
    std::iter::once(&cause.id)
        .chain(&cause.accept)
        .any(|phrase| contains_phrase(diagnosis, phrase))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(id: &str, accept: &[&str]) -> RootCause {
        RootCause {
            id: id.to_owned(),
            accept: accept.iter().map(|s| (*s).to_owned()).collect(),
            explanation: String::new(),
            kept_per_wrong_guess: 0.5,
        }
    }

    #[test]
    fn free_text_with_every_word_of_a_phrase_matches() {
        let vendor = cause(
            "vendor-hang",
            &["vendor-api hanging", "tool call no timeout"],
        );
        for yes in [
            "the billing vendor api is hanging",
            "Hanging vendor API",
            "vendor-hang",
            "VENDOR HANG!",
            "the tool call has no timeout",
        ] {
            assert!(names_cause(yes, &vendor), "{yes}");
        }
        for no in ["vendor is slow", "api hanging", "timeout", ""] {
            assert!(!names_cause(no, &vendor), "{no}");
        }
        let pool = cause("db-pool-exhaustion", &[]);
        assert!(names_cause("DB pool exhaustion!", &pool));
        assert!(names_cause("exhaustion of the db pool", &pool));
        assert!(!names_cause("db exhaustion", &pool));
    }

    #[test]
    fn a_phrase_without_words_matches_nothing() {
        assert!(!contains_phrase("anything at all", "--- !"));
        assert_eq!(
            words("Pool_exhaustion: 20/20"),
            ["pool", "exhaustion", "20", "20"]
        );
    }
}
