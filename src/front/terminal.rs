//! The live front-end: reads the team's lines (a line editor at a terminal, one command a
//! line from a pipe), drives a [`Session`] with a clock, prints news as it happens, and
//! writes the transcript line by line.
//!
//! The clock is the only difference between turn-based and realtime drills ([`Clock`]);
//! this is also the only part of the session that reads the wall clock.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration as WallDuration, Instant};

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, ExternalPrinter, Helper};

use super::metrics_server;
use crate::sanitize::shown;
use crate::session::SimTime;
use crate::session::command::{self, Command};
use crate::session::transcript::{ClockMode, Line, Writer};
use crate::session::{Accepted, ClockChange, Notice, Session};

/// Where simulated time comes from between commands.
pub trait Clock {
    /// Where simulated time should stand now, if it moves by itself.
    fn target(&self) -> Option<SimTime>;
    /// Re-anchors after simulated time jumped (a `wait`) or a session resumed.
    fn resync(&mut self, now: SimTime);
    /// Pauses, resumes or changes speed.
    ///
    /// # Errors
    /// The change makes no sense for this clock.
    fn change(&mut self, change: ClockChange, now: SimTime) -> Result<(), String>;
}

/// Turn-based: time moves only with `wait`.
#[derive(Debug, Default)]
pub struct TurnClock;

impl Clock for TurnClock {
    fn target(&self) -> Option<SimTime> {
        None
    }
    fn resync(&mut self, _now: SimTime) {}
    fn change(&mut self, _change: ClockChange, _now: SimTime) -> Result<(), String> {
        Err("the clock is turn-based: time moves only with `wait` (start with --clock realtime for a running clock)".into())
    }
}

/// Realtime: simulated time runs at `speed` × wall time, unless paused.
#[derive(Debug)]
pub struct WallClock {
    speed: f64,
    paused: bool,
    anchor_wall: Instant,
    anchor_sim: SimTime,
}

impl WallClock {
    #[must_use]
    pub fn new(speed: f64, now: SimTime) -> Self {
        WallClock {
            speed,
            paused: false,
            anchor_wall: Instant::now(),
            anchor_sim: now,
        }
    }
}

impl Clock for WallClock {
    fn target(&self) -> Option<SimTime> {
        if self.paused {
            return Some(self.anchor_sim);
        }
        let elapsed = self.anchor_wall.elapsed().as_secs_f64() * self.speed;
        Some(SimTime::from_nanos(
            self.anchor_sim.nanos() + (elapsed * 1e9) as u64,
        ))
    }
    fn resync(&mut self, now: SimTime) {
        self.anchor_sim = now;
        self.anchor_wall = Instant::now();
    }
    fn change(&mut self, change: ClockChange, now: SimTime) -> Result<(), String> {
        match change {
            ClockChange::Pause if self.paused => return Err("the clock is already paused".into()),
            ClockChange::Resume if !self.paused => {
                return Err("the clock is already running".into());
            }
            ClockChange::Pause => self.paused = true,
            ClockChange::Resume => self.paused = false,
            ClockChange::Speed(x) => self.speed = x,
        }
        self.resync(now);
        Ok(())
    }
}

/// Everything a live run needs besides the session.
pub struct LiveConfig {
    pub clock: ClockMode,
    pub speed: f64,
    /// The transcript file, already created (or opened to append on resume).
    pub transcript: Option<Writer>,
    pub transcript_path: Option<PathBuf>,
    /// Whether input comes from a terminal (line editor, no echo).
    pub interactive: bool,
    /// Serve `/metrics` here while the drill runs.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Post alerts and status updates to the team's Alertmanager and chat.
    pub notify: Option<crate::front::notify::Feed>,
}

/// The longest line the team may type or pipe in (a command is a few dozen bytes).
pub const MAX_INPUT_LINE: usize = 64 * 1024;

/// What the input thread hands the session: a line, or a problem with the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Line(String),
    /// A line that was left out (not UTF-8); the lines after it go on.
    Skipped(String),
    /// The input stopped here (a line too long to be a command, a read error).
    Stopped(String),
}

/// What went wrong with the input in a live run that otherwise ended normally: lines that
/// were left out, or input that stopped early. Empty when all went well.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputProblems {
    pub problems: Vec<String>,
}

/// One line read by [`read_bounded_line`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawLine {
    Line(Vec<u8>),
    TooLong,
    End,
}

/// Reads one line (without its `\n` or `\r\n`) of at most `limit` bytes, never holding more:
/// a longer line is [`RawLine::TooLong`], and the reader stands somewhere inside it.
///
/// # Errors
/// I/O from the reader.
pub fn read_bounded_line(reader: &mut dyn BufRead, limit: usize) -> io::Result<RawLine> {
    let mut line = Vec::new();
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if any {
                RawLine::Line(line)
            } else {
                RawLine::End
            });
        }
        any = true;
        let (take, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        if line.len() + take > limit {
            return Ok(RawLine::TooLong);
        }
        line.extend_from_slice(&available[..take]);
        reader.consume(if done { take + 1 } else { take });
        if done {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(RawLine::Line(line));
        }
    }
}

/// Reads piped input line by line into `send`, until it ends, `send` refuses (the session
/// is over), or a line cannot be a command. A line that is not UTF-8 is reported with its
/// number and left out; the next lines go on. A UTF-8 byte-order mark is dropped.
pub fn read_piped(reader: &mut dyn BufRead, send: &mut dyn FnMut(Input) -> bool) {
    let mut number = 0usize;
    loop {
        number += 1;
        let raw = match read_bounded_line(reader, MAX_INPUT_LINE) {
            Ok(RawLine::Line(raw)) => raw,
            Ok(RawLine::End) => return,
            Ok(RawLine::TooLong) => {
                let _ = send(Input::Stopped(format!(
                    "standard input line {number} is longer than {} KB, so it is not a command; input stopped there",
                    MAX_INPUT_LINE / 1024
                )));
                return;
            }
            Err(e) => {
                let _ = send(Input::Stopped(format!(
                    "cannot read standard input at line {number}: {e}; input stopped there"
                )));
                return;
            }
        };
        let message = match String::from_utf8(raw) {
            Ok(mut line) => {
                if number == 1 && line.starts_with('\u{feff}') {
                    line.drain(..'\u{feff}'.len_utf8());
                }
                Input::Line(line)
            }
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                Input::Skipped(format!(
                    "standard input line {number} is not UTF-8 (byte 0x{:02x} at column {}); it was skipped, and the lines after it go on",
                    e.as_bytes()[at],
                    at + 1
                ))
            }
        };
        if !send(message) {
            return;
        }
    }
}

/// Why a live run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(
        "cannot write the transcript {path}: {source} (the session stopped so that nothing typed is lost; resume with --resume)"
    )]
    Transcript { path: String, source: io::Error },
    #[error("terminal: {0}")]
    Terminal(String),
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        source: io::Error,
    },
}

/// Runs the session until the team ends it, the drill reaches its end, or input ends.
/// Returns the problems the input had (lines skipped, input stopped early), each already
/// printed on standard error as it happened.
///
/// # Errors
/// The transcript cannot be written, or the terminal fails.
pub fn run(session: &mut Session, mut config: LiveConfig) -> Result<InputProblems, LiveError> {
    let mut problems = InputProblems::default();
    let mut metrics = match config.metrics_listen {
        Some(addr) => {
            let publisher = metrics_server::start(addr, session)
                .map_err(|source| LiveError::Metrics { addr, source })?;
            eprintln!("metrics: serving http://{}/metrics", publisher.addr());
            Some(publisher)
        }
        None => None,
    };
    let mut out = io::stdout();
    let (tx, rx) = mpsc::channel::<Input>();
    let (printer_tx, printer_rx) = mpsc::channel::<Box<dyn ExternalPrinter + Send>>();
    let completion = Completion::new(session);
    let interactive = config.interactive;
    std::thread::spawn(move || read_input(interactive, &tx, &printer_tx, completion));
    // The line editor's printer, so news appears above the prompt instead of through it.
    let mut printer = if interactive {
        printer_rx.recv_timeout(WallDuration::from_secs(2)).ok()
    } else {
        None
    };
    let mut say = |text: &str, printer: &mut Option<Box<dyn ExternalPrinter + Send>>| {
        if text.is_empty() {
            return;
        }
        // Everything shown passes through here: what was typed never reaches the terminal raw.
        let text = shown(text);
        if let Some(p) = printer {
            let _ = p.print(text.into_owned());
        } else {
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    };
    let mut clock: Box<dyn Clock> = match config.clock {
        ClockMode::Turns => Box::new(TurnClock),
        ClockMode::Realtime => Box::new(WallClock::new(config.speed, session.now())),
    };
    let tick = WallDuration::from_millis(100);
    loop {
        let received = match config.clock {
            ClockMode::Turns => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            ClockMode::Realtime => rx.recv_timeout(tick),
        };
        if let Some(target) = clock.target() {
            let notices = session.advance_to(target);
            if let Some(feed) = &config.notify {
                feed.notices(session, &notices);
            }
            say(&render_notices(session, &notices), &mut printer);
        }
        if let Some(m) = metrics.as_mut() {
            m.publish(session);
        }
        let line = match received {
            Ok(Input::Line(line)) => line,
            Ok(Input::Skipped(message)) => {
                eprintln!("firedrill: {message}");
                problems.problems.push(message);
                continue;
            }
            Ok(Input::Stopped(message)) => {
                eprintln!("firedrill: {message}");
                problems.problems.push(message);
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if finish_by_duration(session, &mut config)? {
                    break;
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if session.team().log.len() >= crate::session::transcript::MAX_LINES {
            let message = format!(
                "the session holds at most {} commands; input stopped here",
                crate::session::transcript::MAX_LINES
            );
            eprintln!("firedrill: {message}");
            problems.problems.push(message);
            break;
        }
        if !interactive {
            say(
                &format!(
                    "[{}] {}> {}",
                    session.clock_text(session.now()),
                    session.current_role(),
                    line.trim()
                ),
                &mut printer,
            );
        }
        match accept(session, &line, clock.as_mut()) {
            Ok(Some(accepted)) => {
                record(&mut config, &accepted)?;
                if let Some(feed) = &config.notify {
                    feed.notices(session, &accepted.notices);
                    if let Ok(Some(parsed)) = command::parse(&accepted.input, session.drill())
                        && let Command::Update(text) = parsed.command
                    {
                        feed.update(session, accepted.at, &accepted.role, None, &text);
                    }
                }
                if matches!(command::parse(&accepted.input, session.drill()), Ok(Some(p)) if matches!(p.command, Command::Wait(_) | Command::WaitUntilPage))
                {
                    clock.resync(session.now());
                }
                say(&render_notices(session, &accepted.notices), &mut printer);
                say(&accepted.output, &mut printer);
            }
            Ok(None) => {}
            Err(message) => say(&format!("error: {message}"), &mut printer),
        }
        if let Some(m) = metrics.as_mut() {
            m.publish(session);
        }
        if finish_by_duration(session, &mut config)? || session.ended().is_some() {
            break;
        }
    }
    drop(printer);
    Ok(problems)
}

/// Executes one line, applying clock commands to the clock (refusing them if the clock
/// cannot take them, before anything is recorded).
fn accept(
    session: &mut Session,
    line: &str,
    clock: &mut dyn Clock,
) -> Result<Option<Accepted>, String> {
    if let Ok(Some(parsed)) = command::parse(line, session.drill()) {
        let change = match parsed.command {
            Command::Pause => Some(ClockChange::Pause),
            Command::Resume => Some(ClockChange::Resume),
            Command::Speed(x) => Some(ClockChange::Speed(x)),
            _ => None,
        };
        if let Some(change) = change {
            clock.change(change, session.now())?;
        }
    }
    session.execute(line).map_err(|e| e.to_string())
}

/// When the drill has run its course, records `end` at its end so a replay stops there.
fn finish_by_duration(session: &Session, config: &mut LiveConfig) -> Result<bool, LiveError> {
    let Some(at) = session.ended() else {
        return Ok(false);
    };
    if session.team().first("end").is_none() && at >= session.sim().end() {
        let line = Line {
            at_ns: at.nanos(),
            role: session.current_role().to_owned(),
            input: "end".to_owned(),
            ..Line::default()
        };
        write_line(config, &line)?;
    }
    Ok(true)
}

fn record(config: &mut LiveConfig, accepted: &Accepted) -> Result<(), LiveError> {
    let line = Line {
        at_ns: accepted.at.nanos(),
        role: accepted.role.clone(),
        input: accepted.input.clone(),
        ..Line::default()
    };
    write_line(config, &line)
}

fn write_line(config: &mut LiveConfig, line: &Line) -> Result<(), LiveError> {
    if let Some(w) = config.transcript.as_mut() {
        w.write(line).map_err(|source| LiveError::Transcript {
            path: config
                .transcript_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            source,
        })?;
    }
    Ok(())
}

/// Notices as lines of text, skipping those the team would not see.
#[must_use]
pub fn render_notices(session: &Session, notices: &[Notice]) -> String {
    notices
        .iter()
        .map(|n| session.render_notice(n))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The input thread: a line editor at a terminal, plain lines otherwise.
fn read_input(
    interactive: bool,
    tx: &mpsc::Sender<Input>,
    printer_tx: &mpsc::Sender<Box<dyn ExternalPrinter + Send>>,
    completion: Completion,
) {
    if !interactive {
        let stdin = io::stdin();
        read_piped(&mut stdin.lock(), &mut |input| tx.send(input).is_ok());
        return;
    }
    let Ok(mut editor) = Editor::<Completion, rustyline::history::DefaultHistory>::new() else {
        return;
    };
    editor.set_helper(Some(completion));
    if let Ok(p) = editor.create_external_printer() {
        let _ = printer_tx.send(Box::new(p));
    }
    while let Ok(line) = editor.readline("firedrill> ") {
        if !line.trim().is_empty() {
            let _ = editor.add_history_entry(line.as_str());
        }
        if tx.send(Input::Line(line)).is_err() {
            break;
        }
    }
}

/// Tab completion of commands, roles, actions and alerts.
struct Completion {
    commands: Vec<String>,
    roles: Vec<String>,
    alerts: Vec<String>,
    metrics: Vec<String>,
}

impl Completion {
    fn new(session: &Session) -> Self {
        let drill = session.drill();
        Completion {
            commands: command::command_names(drill),
            roles: drill.roles.iter().map(|r| format!("{}:", r.id)).collect(),
            alerts: drill.alerts.iter().map(|a| a.name.clone()).collect(),
            metrics: crate::session::views::metric_names(
                session.sim().pool_names(),
                session.sim().step_names(),
            ),
        }
    }
}

impl Completer for Completion {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let head = &line[..pos];
        let start = head.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &head[start..];
        let before: Vec<&str> = head[..start]
            .split_whitespace()
            .filter(|w| !w.ends_with(':'))
            .collect();
        let pool: Vec<&String> = match before.as_slice() {
            [] => self.commands.iter().chain(&self.roles).collect(),
            ["ack"] => self.alerts.iter().collect(),
            ["metric"] => self.metrics.iter().collect(),
            ["help"] => self.commands.iter().collect(),
            _ => Vec::new(),
        };
        let matches = pool
            .into_iter()
            .filter(|c| c.starts_with(word))
            .cloned()
            .collect();
        Ok((start, matches))
    }
}

impl Hinter for Completion {
    type Hint = String;
}
impl Highlighter for Completion {}
impl Validator for Completion {}
impl Helper for Completion {}
