//! The site's templates and static assets: the defaults compiled into the binary from
//! `templates/`, replaced file by file by a user's `--templates DIR`, and written back out by
//! `sigwiki templates dump` for editing.
//!
//! Two Tera instances render them. Markdown templates (`*.md`) autoescape with the Markdown
//! escaper, so rule text placed in a page can never form Markdown or HTML markup; HTML templates
//! (`*.html`, `*.xml`) autoescape HTML. Filters give the other contexts: `md_code` (code span),
//! `md_fence(lang=…)` (fenced block), `md_link` (a URL as a link, only for http(s) and
//! relative URLs), `md_url` (a link destination), `url_component`.

use std::path::{Path, PathBuf};

use tera::{Kwargs, State, Tera, Value};

use super::SiteError;
use super::escape;

/// A default template or asset: its file name under `templates/` and its text.
pub type Embedded = (&'static str, &'static str);

/// The default templates and assets, in the order `templates dump` writes them.
pub const DEFAULTS: &[Embedded] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("rule.md", include_str!("../../templates/rule.md")),
    ("rule.html", include_str!("../../templates/rule.html")),
    ("list.md", include_str!("../../templates/list.md")),
    ("page.html", include_str!("../../templates/page.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("rules.html", include_str!("../../templates/rules.html")),
    (
        "coverage.html",
        include_str!("../../templates/coverage.html"),
    ),
    ("errors.html", include_str!("../../templates/errors.html")),
    ("404.html", include_str!("../../templates/404.html")),
    (
        "redirect.html",
        include_str!("../../templates/redirect.html"),
    ),
    (
        "assets/style.css",
        include_str!("../../templates/assets/style.css"),
    ),
    (
        "assets/site.js",
        include_str!("../../templates/assets/site.js"),
    ),
];

/// The compiled templates of a build, and the static assets to copy.
pub struct Templates {
    markdown: Tera,
    html: Tera,
    /// Static files copied to the site as they are (`assets/style.css`…).
    pub assets: Vec<(String, String)>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("assets", &self.assets.len())
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// The default templates, with the files of `overrides` (if any) replacing them by name.
    /// Extra `.md`/`.html` files in `overrides` are loaded too, for includes.
    pub fn load(overrides: Option<&Path>) -> Result<Templates, SiteError> {
        let mut sources: Vec<(String, String)> = DEFAULTS
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect();
        if let Some(dir) = overrides {
            for (name, path) in override_files(dir)? {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| SiteError::Template {
                        name: path.display().to_string(),
                        message: format!("cannot read: {source}"),
                    })?;
                match sources.iter_mut().find(|(n, _)| *n == name) {
                    Some(slot) => slot.1 = text,
                    None => sources.push((name, text)),
                }
            }
        }
        Templates::compile(sources)
    }

    fn compile(sources: Vec<(String, String)>) -> Result<Templates, SiteError> {
        let mut markdown = Tera::new();
        markdown.autoescape_on([".md"]);
        markdown.set_escape_fn(escape_markdown);
        register_markdown_filters(&mut markdown);
        let mut html = Tera::new();
        html.autoescape_on([".html", ".xml"]);
        html.set_escape_fn(escape_html);
        html.register_filter("url_component", |s: &str, _: Kwargs, _: &State| {
            escape::url_component(s)
        });
        let mut assets = Vec::new();
        let mut md_sources = Vec::new();
        let mut html_sources = Vec::new();
        for (name, text) in sources {
            if name.starts_with("assets/") {
                assets.push((name, text));
            } else if name.ends_with(".md") {
                md_sources.push((name, text));
            } else {
                html_sources.push((name, text));
            }
        }
        add_all(&mut markdown, &md_sources)?;
        add_all(&mut html, &html_sources)?;
        Ok(Templates {
            markdown,
            html,
            assets,
        })
    }

    /// Renders a Markdown template.
    pub fn render_markdown(
        &self,
        name: &str,
        context: &tera::Context,
    ) -> Result<String, SiteError> {
        self.markdown
            .render(name, context)
            .map_err(|e| template_error(name, &e))
    }

    /// Renders an HTML (or XML) template.
    pub fn render_html(&self, name: &str, context: &tera::Context) -> Result<String, SiteError> {
        self.html
            .render(name, context)
            .map_err(|e| template_error(name, &e))
    }

    /// Renders a Markdown template into `out` (cleared first), so that a caller rendering many
    /// pages reuses one buffer instead of growing a new string for each.
    pub fn render_markdown_to(
        &self,
        name: &str,
        context: &tera::Context,
        out: &mut Vec<u8>,
    ) -> Result<(), SiteError> {
        out.clear();
        self.markdown
            .render_to(name, context, &mut *out)
            .map_err(|e| template_error(name, &e))
    }

    /// Renders an HTML (or XML) template into `out` (cleared first).
    pub fn render_html_to(
        &self,
        name: &str,
        context: &tera::Context,
        out: &mut Vec<u8>,
    ) -> Result<(), SiteError> {
        out.clear();
        self.html
            .render_to(name, context, &mut *out)
            .map_err(|e| template_error(name, &e))
    }

    /// The text of an asset (`assets/style.css`).
    pub fn asset(&self, name: &str) -> &str {
        self.assets
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, text)| text.as_str())
    }
}

fn add_all(tera: &mut Tera, sources: &[(String, String)]) -> Result<(), SiteError> {
    tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .map_err(|e| template_error("templates", &e))
}

fn template_error(name: &str, error: &tera::Error) -> SiteError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    SiteError::Template {
        name: name.to_string(),
        message,
    }
}

fn escape_markdown(input: &str, output: &mut dyn std::io::Write) -> std::io::Result<()> {
    escape::write_markdown_text(input, output)
}

/// Tera's HTML escaping (`&`, `<`, `>`, `"`), minus the control characters HTML forbids: a
/// NUL or ESC in a rule must not reach a page (browsers and scrapers treat them unpredictably).
fn escape_html(input: &str, output: &mut dyn std::io::Write) -> std::io::Result<()> {
    escape::write_html(input, output)
}

fn register_markdown_filters(tera: &mut Tera) {
    tera.register_filter("md_code", |s: &str, _: Kwargs, _: &State| {
        Value::safe_string(&escape::markdown_code(s))
    });
    tera.register_filter("md_fence", |s: &str, kwargs: Kwargs, _: &State| {
        let lang: Option<&str> = kwargs.get("lang").ok().flatten();
        Value::safe_string(&escape::markdown_fence(s, lang.unwrap_or("")))
    });
    tera.register_filter("md_link", |s: &str, _: Kwargs, _: &State| {
        Value::safe_string(&escape::markdown_autolink(s))
    });
    tera.register_filter("md_url", |s: &str, _: Kwargs, _: &State| {
        if escape::is_linkable(s) {
            Value::safe_string(&escape::url_destination(s))
        } else {
            Value::safe_string("#")
        }
    });
}

/// The files of an override folder: `(template name, path)`, names with `/` separators.
fn override_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, SiteError> {
    if !dir.is_dir() {
        return Err(SiteError::Template {
            name: dir.display().to_string(),
            message: "the templates folder does not exist".to_string(),
        });
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| SiteError::Template {
            name: dir.display().to_string(),
            message: e.to_string(),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(dir) else {
            continue;
        };
        let name: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let name = name.join("/");
        let known = DEFAULTS.iter().any(|(n, _)| *n == name);
        let template = name.ends_with(".md") || name.ends_with(".html") || name.ends_with(".xml");
        if known || template || name.starts_with("assets/") {
            out.push((name, entry.path().to_path_buf()));
        }
    }
    Ok(out)
}

/// Writes the default templates and assets under `dir`, refusing to overwrite existing files
/// unless `force`. Returns the files written.
pub fn dump(dir: &Path, force: bool) -> Result<Vec<PathBuf>, SiteError> {
    let mut written = Vec::new();
    for (name, _) in DEFAULTS {
        let path = dir.join(name);
        if path.exists() && !force {
            return Err(SiteError::Exists { path });
        }
        written.push(path);
    }
    for ((_, text), path) in DEFAULTS.iter().zip(&written) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| SiteError::Output {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(path, text).map_err(|source| SiteError::Output {
            path: path.clone(),
            source,
        })?;
    }
    Ok(written)
}
