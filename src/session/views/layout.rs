//! Text layout for the views: sparklines, horizontal bars, the time axis under a sparkline,
//! tables in columns, lines wrapped between items, and the short words and durations the
//! views print (`page`, `16m20s`).
//!
//! Nothing here knows about metrics, alerts or the telemetry: it lays out numbers and strings
//! it is given.

use std::fmt::Write as _;

use crate::drill::Duration;
use crate::drill::spec::Severity;

pub(super) const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `values` as `▁▂▃▄▅▆▇█`, scaled from zero to their maximum (all zero: all `▁`). More values
/// than `width` are resampled into `width` groups, each shown by its maximum so that no spike
/// disappears; fewer values are never stretched (one character each). Negative and non-finite
/// values count as zero.
#[must_use]
pub fn sparkline(values: &[f64], width: usize) -> String {
    let values: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
    spark(&values, width, 0.0)
}

/// [`sparkline`] with gaps (a group with no value is a space) and a least full scale, so that
/// noise around zero does not draw as a wall of full blocks.
pub(super) fn spark(values: &[Option<f64>], width: usize, least_scale: f64) -> String {
    let n = values.len();
    let width = width.min(n);
    if width == 0 {
        return String::new();
    }
    let clean = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    let groups: Vec<Option<f64>> = (0..width)
        .map(|i| {
            values[i * n / width..(i + 1) * n / width]
                .iter()
                .flatten()
                .map(|v| clean(*v))
                .reduce(f64::max)
        })
        .collect();
    let max = groups.iter().flatten().copied().fold(least_scale, f64::max);
    groups
        .iter()
        .map(|group| match group {
            None => ' ',
            Some(_) if max <= 0.0 => BARS[0],
            Some(v) => BARS[((v / max * 7.0).round() as usize).min(7)],
        })
        .collect()
}

/// A horizontal bar of `value` against `max`, `width` characters at most, in eighths.
pub(super) fn bar(value: f64, max: f64, width: usize) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if max <= 0.0 || !value.is_finite() || value <= 0.0 {
        return String::new();
    }
    let eighths = ((value / max).min(1.0) * (width * 8) as f64).round() as usize;
    let mut out = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        out.push(EIGHTHS[eighths % 8]);
    }
    out
}

/// A time axis under a sparkline of `width` characters covering `span` up to now: `-15m` at
/// the left, `now` at the right, and a mark at each third in between.
pub(super) fn axis(span: Duration, width: usize) -> String {
    let mut line: Vec<char> = vec![' '; width];
    let mut put = |at: usize, text: &str| {
        for (i, c) in text.chars().enumerate() {
            if let Some(slot) = line.get_mut(at + i) {
                *slot = c;
            }
        }
    };
    let label = |ago: u64| format!("-{}", Duration::from_secs(ago));
    let secs = span.as_nanos() / 1_000_000_000;
    if width >= 24 && secs >= 3 {
        for third in 1..3u64 {
            let text = label(secs * (3 - third) / 3);
            let centre = width * third as usize / 3;
            put(centre.saturating_sub(text.chars().count() / 2), &text);
        }
    }
    put(0, &label(secs));
    put(width.saturating_sub(3), "now");
    line.into_iter().collect::<String>().trim_end().to_owned()
}

/// Lays out rows as columns two spaces apart; `right[i]` right-aligns column `i`.
pub(super) fn table(rows: &[Vec<String>], right: &[bool]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            if right.get(c).copied().unwrap_or(false) {
                let _ = write!(line, "{cell:>w$}", w = widths[c]);
            } else {
                let _ = write!(line, "{cell:<w$}", w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `lead` and then `items` joined by `separator`, wrapping between items so that no line passes
/// `width` (an item longer than a line gets a line of its own); continuation lines are
/// indented to `lead`'s width.
pub(super) fn wrap(lead: &str, items: &[String], separator: &str, width: usize) -> String {
    let indent = " ".repeat(lead.chars().count());
    let mut lines = vec![lead.to_owned()];
    let mut empty = true;
    for item in items {
        let line = lines.last_mut().expect("at least one line");
        let len = line.chars().count();
        if empty {
            line.push_str(item);
        } else if len + separator.chars().count() + item.chars().count() <= width {
            line.push_str(separator);
            line.push_str(item);
        } else {
            lines.push(format!("{indent}{item}"));
        }
        empty = false;
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Whole seconds of `d`, for "since" columns: `16m20s`.
pub(super) fn ago(d: Duration) -> String {
    Duration::from_secs(d.as_nanos() / 1_000_000_000).to_string()
}

pub(super) fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Page => "page",
        Severity::Ticket => "ticket",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines() {
        let ramp: Vec<f64> = (0..8).map(f64::from).collect();
        assert_eq!(sparkline(&ramp, 8), "▁▂▃▄▅▆▇█");
        assert_eq!(sparkline(&[0.0; 5], 5), "▁▁▁▁▁");
        assert_eq!(sparkline(&[], 10), "");
        assert_eq!(sparkline(&[1.0, 2.0], 0), "");
        // Resampling keeps each group's maximum: the spike survives.
        assert_eq!(sparkline(&[0.0, 0.0, 0.0, 8.0, 0.0, 0.0], 3), "▁█▁");
        assert_eq!(sparkline(&ramp, 4), "▂▄▆█");
        // Never stretched; NaN and negatives count as zero.
        assert_eq!(sparkline(&[f64::NAN, -3.0, 2.0], 10), "▁▁█");
        // Views draw noise near zero flat, and gaps (no bucket yet) as spaces.
        assert_eq!(spark(&[Some(0.0), Some(0.003)], 2, 1.0), "▁▁");
        assert_eq!(spark(&[None, None, Some(1.0), Some(2.0)], 4, 0.0), "  ▅█");
    }

    #[test]
    fn wrapping_keeps_items_whole() {
        let items: Vec<String> = ["alpha beta", "gamma", "delta epsilon"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            wrap("x: ", &items, " · ", 20),
            "x: alpha beta\n   gamma\n   delta epsilon\n"
        );
        assert_eq!(
            wrap("x: ", &items, " · ", 80),
            "x: alpha beta · gamma · delta epsilon\n"
        );
    }
}
