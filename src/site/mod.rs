//! The site: rule pages (Markdown from Tera templates, HTML from that Markdown inside an HTML
//! layout), index pages, the ATT&CK coverage matrix, exports, and the output writer that swaps
//! a finished build in atomically.
//!
//! Entry points: [`build`] (the whole site), [`preview`] (one rule file's page), [`render_rule`]
//! (one parsed rule's page, for callers that render many), and
//! [`serve::serve`] (local server that updates the site on change, incrementally: see
//! [`cache`]). Enrichment comes in through the
//! [`Enricher`] trait; query targets are [`QueryTarget`]s: a [`crate::convert::Backend`] and the
//! processing pipelines before it.

pub mod build;
pub mod cache;
pub mod catalogs;
pub mod coverage;
pub mod enrichment;
pub mod escape;
pub mod exports;
pub mod index_pages;
pub mod indexes;
pub mod markdown;
pub mod model;
pub mod options;
pub mod output;
pub mod regression;
pub mod render;
pub mod rule_page;
pub mod serve;
pub mod targets;
pub mod templates;

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::sigma::{Diagnostic, RuleFile, RuleSet, parse_file};

pub use build::{BuildReport, Timing, build, build_from};
pub use enrichment::{Enricher, Enrichment, TagsOnly};
pub use options::BuildOptions;
pub use output::Output;
pub use targets::QueryTarget;
pub use templates::Templates;

/// Why a build or preview could not finish. Bad rules are not errors of the build: they are
/// reported in [`BuildReport::diagnostics`] and listed on the error page.
#[derive(Debug, Error)]
pub enum SiteError {
    /// An input path cannot be walked.
    #[error(transparent)]
    Walk(#[from] crate::walk::WalkError),
    /// Writing the output failed.
    #[error("{path}: cannot write: {source}")]
    Output {
        /// The path being written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The output folder exists and was not written by sigwiki.
    #[error("{path}: will not replace this folder: {reason}")]
    NotASiteFolder {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A page path would leave the output folder.
    #[error("refusing to write `{path}`: it is outside the output folder")]
    UnsafePath {
        /// The path.
        path: String,
    },
    /// A template failed to compile or render.
    #[error("template {name}: {message}")]
    Template {
        /// The template.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A file to be written exists.
    #[error("{path} exists; use --force to overwrite")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The rule to preview has errors.
    #[error("{} has errors", path.display())]
    InvalidRule {
        /// The rule file.
        path: PathBuf,
        /// Its diagnostics.
        diagnostics: Vec<Diagnostic>,
    },
}

/// The format of a preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewFormat {
    /// The Markdown page.
    Markdown,
    /// A standalone HTML page (stylesheet and script inlined).
    Html,
}

/// Renders the page of one rule file, with the same enrichment and targets as a build.
pub fn preview(
    path: &Path,
    format: PreviewFormat,
    options: &BuildOptions,
    templates: &Templates,
    enricher: &dyn Enricher,
) -> Result<String, SiteError> {
    let relative = path
        .file_name()
        .map_or_else(|| path.to_path_buf(), PathBuf::from);
    let file = parse_file(path, &relative, &options.parse);
    let rules = RuleSet::new(vec![file]);
    let Some(file) = rules.files.first() else {
        return Err(SiteError::InvalidRule {
            path: path.to_path_buf(),
            diagnostics: Vec::new(),
        });
    };
    let page = render_rule(file, &rules, format, options, templates, enricher)?;
    Ok(match page.html {
        Some(html) => html,
        None => page.markdown,
    })
}

/// One rule file's page as [`render_rule`] renders it.
#[derive(Debug, Clone)]
pub struct RenderedRule {
    /// The query of each target, or why the target refuses the rule.
    pub queries: Vec<model::QueryItem>,
    /// The Markdown page.
    pub markdown: String,
    /// The standalone HTML page (stylesheet and script inlined), for [`PreviewFormat::Html`].
    pub html: Option<String>,
}

/// Renders the page of `file`, one of `rules`, without building a site: its queries for every
/// target of `options`, its Markdown page and, for [`PreviewFormat::Html`], the standalone HTML
/// page made from that Markdown. The templates and the enricher's catalogs are the caller's, so
/// rendering many rules loads them once.
pub fn render_rule(
    file: &RuleFile,
    rules: &RuleSet,
    format: PreviewFormat,
    options: &BuildOptions,
    templates: &Templates,
    enricher: &dyn Enricher,
) -> Result<RenderedRule, SiteError> {
    let invalid = || SiteError::InvalidRule {
        path: file.path.clone(),
        diagnostics: file.diagnostics.clone(),
    };
    if file.has_errors() || file.documents.is_empty() {
        return Err(invalid());
    }
    let page_path = model::page_path(&file.relative);
    let Some(mut entry) = model::entry(0, file, page_path, enricher) else {
        return Err(invalid());
    };
    regression::attach(rules, std::slice::from_mut(&mut entry), &options.events);
    // A preview writes no site, so there is no copy of the events file to link to.
    for test in &mut entry.regression {
        test.href = None;
    }
    let entries = std::slice::from_ref(&entry);
    let relations = model::relations(entries, rules);
    let indexes = indexes::Indexes::new(entries);
    let queries = rule_page::queries(file, rules, &options.targets, options.mapping.as_deref());
    let neighbours = rule_page::Neighbours {
        entries,
        relations: &relations,
        indexes: &indexes,
        catalog: enricher.matrix().is_some(),
    };
    let mut page = rule_page::rule_page(&entry, file, neighbours, 0, queries.clone());
    page.field_mapping = options.mapping_shown();
    let context = tera::Context::from_serialize(&page).map_err(|e| SiteError::Template {
        name: "rule.md".to_string(),
        message: e.to_string(),
    })?;
    let markdown = templates.render_markdown("rule.md", &context)?;
    if format == PreviewFormat::Markdown {
        return Ok(RenderedRule {
            queries,
            markdown,
            html: None,
        });
    }
    let site = render::SiteInfo {
        title: options.title.clone(),
        base_url: options.base_url.clone(),
        site_url: options.site_url.clone(),
        live_reload: false,
        has_errors: false,
        inline_css: Some(templates.asset("assets/style.css").to_string()),
        inline_js: Some(templates.asset("assets/site.js").to_string()),
        attack_version: enricher.matrix().map(|m| m.version.clone()),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("site", &site);
    ctx.insert("root", &model::root_of(&entry.page));
    ctx.insert("title", &entry.title);
    ctx.insert("path", &entry.page);
    ctx.insert("preview", &true);
    ctx.insert_value(
        "body",
        tera::Value::safe_string(&markdown::to_html(&markdown)),
    );
    ctx.insert("markdown_href", &"");
    ctx.insert("rule", &entry);
    ctx.insert("queries", &page.queries);
    let html = templates.render_html("rule.html", &ctx)?;
    Ok(RenderedRule {
        queries,
        markdown,
        html: Some(html),
    })
}

/// Normalises a base URL to start and end with `/` (`repo` → `/repo/`).
pub fn normalize_base_url(base: &str) -> String {
    let trimmed = base.trim().trim_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        format!("/{trimmed}/")
    }
}

/// Normalises a site URL to end with `/`; `None` for an empty one.
pub fn normalize_site_url(url: &str) -> Option<String> {
    let trimmed = url.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.ends_with('/') {
        Some(trimmed.to_string())
    } else {
        Some(format!("{trimmed}/"))
    }
}
