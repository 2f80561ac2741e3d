//! What every page of a build shares: the compiled templates, the output, the `site` value the
//! HTML layouts see (serialised once per build), the rule set and what was computed from it,
//! and the rendering of a Markdown page with its HTML twin into reused buffers.

use serde::Serialize;
use tera::{Context, Value};

use crate::sigma::{RuleFile, RuleSet};

use super::SiteError;
use super::enrichment::Enricher;
use super::indexes::Indexes;
use super::markdown;
use super::model::{QueryItem, Relations, RuleEntry, root_of};
use super::options::BuildOptions;
use super::output::Output;
use super::templates::Templates;

/// Settings every HTML page sees as `site`.
#[derive(Debug, Clone, Serialize)]
pub struct SiteInfo {
    /// Title.
    pub title: String,
    /// Base URL (`/repo/`).
    pub base_url: String,
    /// Absolute site URL, if known.
    pub site_url: Option<String>,
    /// Whether the live-reload script runs.
    pub live_reload: bool,
    /// Whether the build had failed rules (the navigation shows the error page).
    pub has_errors: bool,
    /// Inline stylesheet (previews only).
    pub inline_css: Option<String>,
    /// Inline script (previews only).
    pub inline_js: Option<String>,
    /// The ATT&CK version of the catalog, if any.
    pub attack_version: Option<String>,
}

impl SiteInfo {
    /// The settings of a build with `options`.
    pub fn new(options: &BuildOptions, enricher: &dyn Enricher, has_errors: bool) -> SiteInfo {
        SiteInfo {
            title: options.title.clone(),
            base_url: options.base_url.clone(),
            site_url: options.site_url.clone(),
            live_reload: options.live_reload,
            has_errors,
            inline_css: None,
            inline_js: None,
            attack_version: enricher.matrix().map(|m| m.version.clone()),
        }
    }
}

/// The rule set of a build and what was computed from it once, for every page to read.
#[derive(Clone, Copy)]
pub struct Site<'a> {
    /// The parsed files.
    pub rules: &'a RuleSet,
    /// The entries of the files that get pages, in page order of the rule set.
    pub entries: &'a [RuleEntry],
    /// Relations between the entries.
    pub relations: &'a Relations,
    /// The index pages and which entries each lists.
    pub indexes: &'a Indexes,
    /// The build's options.
    pub options: &'a BuildOptions,
    /// The enrichment catalogs.
    pub enricher: &'a dyn Enricher,
    /// Where the queries of a file (by its index in the rule set) come from when something
    /// other than the page converted them: the incremental build of `sigwiki serve` keeps them
    /// between builds. `None` in a whole build, which converts each file where its page needs it.
    pub queries_of: Option<QueriesOf<'a>>,
}

/// A file's queries by its index in the rule set, when already converted (see [`Site`]).
pub type QueriesOf<'a> = &'a (dyn Fn(usize) -> Option<Vec<QueryItem>> + Sync);

impl Site<'_> {
    /// The queries of file `index` of the rule set: from `queries_of` when it has them, else
    /// converted now.
    pub fn queries(&self, index: usize, file: &RuleFile) -> Vec<QueryItem> {
        if let Some(found) = self.queries_of.and_then(|of| of(index)) {
            return found;
        }
        super::rule_page::queries(
            file,
            self.rules,
            &self.options.targets,
            self.options.mapping.as_deref(),
        )
    }
}

/// The buffers one thread renders its pages into, reused from page to page so that a build
/// does not grow a new string for every page it writes.
#[derive(Debug, Default)]
pub struct Buffers {
    markdown: Vec<u8>,
    /// The HTML of the Markdown page, the layout's `body`.
    body: String,
    html: Vec<u8>,
}

/// The templates and the output of a build, and the `site` value every HTML page gets.
pub struct Pages<'a> {
    /// The compiled templates.
    pub templates: &'a Templates,
    /// Where the pages go.
    pub output: &'a Output,
    /// [`SiteInfo`] as a template value, made once: a clone is a reference count.
    site_value: Value,
}

impl<'a> Pages<'a> {
    /// The pages of a build with these site settings.
    pub fn new(templates: &'a Templates, output: &'a Output, site: &SiteInfo) -> Pages<'a> {
        Pages {
            templates,
            output,
            site_value: Value::from_serializable(site),
        }
    }

    /// The same templates and site value, writing into `output` instead.
    pub fn with_output<'b>(&'b self, output: &'b Output) -> Pages<'b> {
        Pages {
            templates: self.templates,
            output,
            site_value: self.site_value.clone(),
        }
    }

    /// Renders the Markdown template `template` with `context` and writes it as `<path>.md`,
    /// then its HTML inside `layout` as `<path>.html`; `extra` adds to the layout's context.
    pub fn write_markdown_and_html(
        &self,
        path: &str,
        title: &str,
        (template, context): (&str, &Context),
        layout: &str,
        buffers: &mut Buffers,
        extra: impl FnOnce(&mut Context),
    ) -> Result<(), SiteError> {
        self.templates
            .render_markdown_to(template, context, &mut buffers.markdown)?;
        self.output
            .write(&format!("{path}.md"), &buffers.markdown)?;
        let markdown = std::str::from_utf8(&buffers.markdown).map_err(|e| SiteError::Template {
            name: template.to_string(),
            message: e.to_string(),
        })?;
        markdown::to_html_into(markdown, &mut buffers.body);
        let mut ctx = self.html_context(path, title);
        ctx.insert_value("body", Value::safe_string(&buffers.body));
        ctx.insert("markdown_href", &format!("{}.md", file_name(path)));
        extra(&mut ctx);
        self.templates
            .render_html_to(layout, &ctx, &mut buffers.html)?;
        self.output.write(&format!("{path}.html"), &buffers.html)
    }

    /// The context every HTML page starts from: `site`, `root`, `title` and `path`.
    pub fn html_context(&self, path: &str, title: &str) -> Context {
        let mut ctx = Context::new();
        ctx.insert_value("site", self.site_value.clone());
        ctx.insert("root", &root_of(path));
        ctx.insert("title", title);
        ctx.insert("path", path);
        ctx
    }

    /// Renders the HTML template `template` with `ctx` added to the page's context and writes
    /// it as `<path>.html`.
    pub fn write_html(
        &self,
        path: &str,
        title: &str,
        template: &str,
        ctx: Context,
    ) -> Result<(), SiteError> {
        let mut full = self.html_context(path, title);
        full.extend(ctx);
        let html = self.templates.render_html(template, &full)?;
        self.output.write(&format!("{path}.html"), html.as_bytes())
    }
}

/// `from` → `to`, both page paths, as a relative `.md` href.
pub fn href(root: &str, to: &str) -> String {
    format!("{root}{to}.md")
}

/// The last segment of a page path.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
