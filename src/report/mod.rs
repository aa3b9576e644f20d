//! Rendering a [`Debrief`] for people and tools: one self-contained HTML page ([`html`],
//! tera over `templates/debrief.html` with inline CSS and our own SVG charts from [`svg`]),
//! Markdown for wikis ([`markdown`]) and JSON for tools.
//!
//! Rendering decides nothing: every number and verdict comes from the debrief. Everything the
//! team typed is escaped in every format. The same debrief renders to the same bytes.

pub mod html;
pub mod markdown;
pub mod postmortem;
pub mod svg;
pub mod trends;
pub mod whatif;

use crate::score::debrief::Debrief;

/// The formats a debrief is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Html,
    Json,
    #[value(name = "md", alias = "markdown")]
    Markdown,
}

impl Format {
    #[must_use]
    pub fn render(self, debrief: &Debrief) -> String {
        match self {
            Format::Html => html(debrief),
            Format::Json => json(debrief),
            Format::Markdown => markdown(debrief),
        }
    }
}

/// The HTML debrief from the built-in template.
#[must_use]
pub fn html(debrief: &Debrief) -> String {
    html::render(debrief, html::TEMPLATE).expect("the built-in debrief template renders")
}

/// The HTML debrief from another template (tera syntax, autoescaped; see [`html::render`]).
///
/// # Errors
/// The template does not parse or fails to render.
pub fn html_with_template(debrief: &Debrief, template: &str) -> Result<String, tera::Error> {
    html::render(debrief, template)
}

/// The Markdown debrief.
#[must_use]
pub fn markdown(debrief: &Debrief) -> String {
    markdown::render(debrief)
}

/// The JSON debrief, pretty-printed, ending in a newline.
#[must_use]
pub fn json(debrief: &Debrief) -> String {
    let mut out = serde_json::to_string_pretty(debrief).expect("a debrief serialises");
    out.push('\n');
    out
}
