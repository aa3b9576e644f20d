//! The benchmark's plain-Rust M/M/20 loop on its own (λ = 90/s, mean service 200 ms), for
//! measuring it outside criterion, e.g. counting its instructions:
//!
//! ```sh
//! cargo build --release --example plain_mmc
//! valgrind --tool=cachegrind --cache-sim=no ./target/release/examples/plain_mmc 3000
//! ```
//!
//! Prints customers, events and the mean wait in seconds for SECONDS simulated (default 3000).

#[path = "../benches/support/plain_mmc.rs"]
mod plain_mmc;

fn main() {
    let arg = std::env::args().nth(1);
    let seconds = match arg.as_deref().map(str::parse::<f64>) {
        None => 3000.0,
        Some(Ok(s)) if s.is_finite() && s > 0.0 => s,
        Some(_) => {
            eprintln!("usage: plain_mmc [SECONDS]  (a positive number of simulated seconds)");
            std::process::exit(2);
        }
    };
    let s = plain_mmc::plain_mmc(1, 20, 90.0, 0.2, seconds);
    println!(
        "customers={} events={} mean_wait={:.5}",
        s.customers, s.events, s.mean_wait
    );
}
