//! The OpenMetrics text format with timestamps: every series of every snapshot, grouped by
//! metric family and series, in time order, ending in `# EOF` — the layout that
//! `promtool tsdb create-blocks-from openmetrics` backfills into a Prometheus TSDB.

use std::io::{self, Write};

use crate::telemetry::prometheus::{Kind, METRICS, Point, Snapshot, number};

/// `1767602700.000`: seconds since the epoch with milliseconds.
fn timestamp(start_ms: i64, at_seconds: f64) -> String {
    let ms = start_ms + (at_seconds * 1000.0).round() as i64;
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The snapshots as one OpenMetrics exposition with timestamps from `start_ms`.
///
/// # Panics
/// If the snapshots do not all hold the same series (they come from one sampler).
#[must_use]
pub fn render(snapshots: &[Snapshot], start_ms: i64) -> String {
    let mut out = Vec::new();
    write(snapshots, start_ms, &mut out).expect("writing to memory succeeds");
    String::from_utf8(out).expect("the exposition is UTF-8")
}

/// As [`render`], streamed to `out` (buffered here), one sample line at a time.
///
/// # Errors
/// I/O from `out`.
///
/// # Panics
/// As [`render`].
pub fn write(snapshots: &[Snapshot], start_ms: i64, out: &mut dyn io::Write) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    let Some(first) = snapshots.first() else {
        out.write_all(b"# EOF\n")?;
        return out.flush();
    };
    for s in snapshots {
        assert_eq!(
            s.series.len(),
            first.series.len(),
            "snapshots differ in shape"
        );
    }
    for (index, def) in METRICS.iter().enumerate() {
        writeln!(out, "# HELP {} {}.", def.name, escape_help(def.help))?;
        writeln!(out, "# TYPE {} {}", def.name, def.kind.as_str())?;
        if def.seconds {
            writeln!(out, "# UNIT {} seconds", def.name)?;
        }
        for (j, series) in first.series.iter().enumerate() {
            if series.family != index {
                continue;
            }
            for snapshot in snapshots {
                let s = &snapshot.series[j];
                let ts = timestamp(start_ms, snapshot.at);
                match &s.point {
                    Point::Counter(v) | Point::Gauge(v) => {
                        let name = if def.kind == Kind::Counter {
                            def.sample_name()
                        } else {
                            def.name.to_owned()
                        };
                        writeln!(out, "{name}{} {} {ts}", s.selector(&[]), number(*v))?;
                    }
                    Point::Histogram {
                        sum,
                        count,
                        buckets,
                    } => {
                        for (le, c) in buckets {
                            let le = number(*le);
                            writeln!(
                                out,
                                "{}_bucket{} {c} {ts}",
                                def.name,
                                s.selector(&[("le", &le)])
                            )?;
                        }
                        writeln!(out, "{}_count{} {count} {ts}", def.name, s.selector(&[]))?;
                        writeln!(
                            out,
                            "{}_sum{} {} {ts}",
                            def.name,
                            s.selector(&[]),
                            number(*sum)
                        )?;
                    }
                }
            }
        }
    }
    out.write_all(b"# EOF\n")?;
    out.flush()
}
