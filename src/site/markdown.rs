//! Markdown → HTML for the site: pulldown-cmark with GFM tables, plus the few changes a static
//! site needs:
//!
//! - relative links to `.md` pages become links to the `.html` pages;
//! - links other than `http(s)` and relative references are dropped (their text is kept);
//! - raw HTML passes only when it is one of the few tags the templates use inside table cells
//!   (`<ul>`, `<li>`, `<br>` …); anything else is shown as text. Rule text never reaches this
//!   stage as HTML: the Markdown templates escape `<` in it.
//! - headings get stable `id`s (slugs of their text, made unique on the page);
//! - the sections under a level-2 heading whose level-3 headings are query targets are wrapped
//!   in `<section class="target">` elements, which the page script turns into tabs.

use std::collections::HashSet;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

use super::escape::is_linkable;

/// Raw HTML tags the Markdown templates may use.
const ALLOWED_TAGS: &[&str] = &[
    "<ul>",
    "</ul>",
    "<li>",
    "</li>",
    "<br>",
    "<br/>",
    "<br />",
    "<details>",
    "</details>",
    "<summary>",
    "</summary>",
];

/// Converts a page's Markdown to HTML.
pub fn to_html(markdown: &str) -> String {
    let mut out = String::new();
    to_html_into(markdown, &mut out);
    out
}

/// [`to_html`] into `out` (cleared first), so that a caller converting many pages reuses one
/// buffer. The events stream from the parser through [`Transform`] to the HTML writer: no page
/// is held as a list of events.
pub fn to_html_into(markdown: &str, out: &mut String) {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let parser = Parser::new_ext(markdown, options);
    out.clear();
    // The HTML of a page is about 1.5 times its Markdown; reserving it once saves the copies of
    // a growing buffer.
    out.reserve(markdown.len() * 3 / 2);
    html::push_html(out, Transform::new(parser));
    if contains_bidi_control(out) {
        let html = std::mem::take(out);
        *out = isolate_bidi_controls(html);
    }
}

/// The invisible characters that reorder how the text after them is displayed (Unicode
/// bidirectional formatting characters), with their names.
const BIDI_CONTROLS: &[(char, &str)] = &[
    ('\u{061C}', "ARABIC LETTER MARK"),
    ('\u{200E}', "LEFT-TO-RIGHT MARK"),
    ('\u{200F}', "RIGHT-TO-LEFT MARK"),
    ('\u{202A}', "LEFT-TO-RIGHT EMBEDDING"),
    ('\u{202B}', "RIGHT-TO-LEFT EMBEDDING"),
    ('\u{202C}', "POP DIRECTIONAL FORMATTING"),
    ('\u{202D}', "LEFT-TO-RIGHT OVERRIDE"),
    ('\u{202E}', "RIGHT-TO-LEFT OVERRIDE"),
    ('\u{2066}', "LEFT-TO-RIGHT ISOLATE"),
    ('\u{2067}', "RIGHT-TO-LEFT ISOLATE"),
    ('\u{2068}', "FIRST STRONG ISOLATE"),
    ('\u{2069}', "POP DIRECTIONAL ISOLATE"),
];

/// Whether `text` holds one of [`BIDI_CONTROLS`], looked for in its UTF-8 bytes: every page
/// is checked, and few have one.
fn contains_bidi_control(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Every page is scanned; memchr finds the first bytes of the candidates (E2 also starts
    // `—`, `→`, `…`) many bytes at a time.
    for at in memchr::memchr2_iter(0xE2, 0xD8, bytes) {
        let control = matches!(
            (bytes[at], bytes.get(at + 1), bytes.get(at + 2)),
            (0xD8, Some(0x9C), _)
                | (0xE2, Some(0x80), Some(0x8E | 0x8F | 0xAA..=0xAE))
                | (0xE2, Some(0x81), Some(0xA6..=0xA9))
        );
        if control {
            return true;
        }
    }
    false
}

/// Wraps every bidirectional formatting character of the page's text in an isolating
/// `<span class="bidi">` that the stylesheet labels (`U+202E`). Rules that detect
/// right-to-left-override tricks contain the character itself; shown bare, it reversed the rest
/// of its line, queries included, so that what a reader saw was not what the query said. The
/// character stays in the text, so a copied query still matches it; the isolation ends its
/// effect at the span.
fn isolate_bidi_controls(html: String) -> String {
    if !contains_bidi_control(&html) {
        return html;
    }
    let name_of = |c: char| BIDI_CONTROLS.iter().find(|(b, _)| *b == c).map(|(_, n)| *n);
    let mut out = String::with_capacity(html.len() + 128);
    // Only text is changed, never a tag or its attribute values.
    let mut in_tag = false;
    let mut quote: Option<char> = None;
    for c in html.chars() {
        match (in_tag, quote, c) {
            (true, Some(q), _) if c == q => quote = None,
            (true, None, '"' | '\'') => quote = Some(c),
            (true, None, '>') => in_tag = false,
            (false, _, '<') => in_tag = true,
            (false, _, _) => {
                if let Some(name) = name_of(c) {
                    let code = format!("U+{:04X}", u32::from(c));
                    out.push_str(&format!(
                        "<span class=\"bidi\" data-cp=\"{code}\" title=\"{code} {name}\">{c}</span>"
                    ));
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// Turns a heading's text into an id: lowercase ASCII letters and digits, other runs → `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else if c == '.' && !out.is_empty() && !dash {
            out.push('.');
        } else {
            dash = true;
        }
    }
    let trimmed = out.trim_end_matches('.').to_string();
    if trimmed.is_empty() {
        "section".to_string()
    } else {
        trimmed
    }
}

/// The site's changes to a page's events (see the module documentation), as an iterator over
/// the parser's events. A heading's events are held until its end, for its id; every other
/// event passes straight through.
struct Transform<'a, I> {
    events: I,
    /// Events ready to be returned, before the next one is read: a heading and what opens or
    /// closes a section around it.
    pending: std::collections::VecDeque<Event<'a>>,
    /// The ids given to the headings so far.
    ids: HashSet<String>,
    /// Link nesting: for every open link, whether it was kept.
    links: Vec<bool>,
    /// Whether the headings are under "Detection Rules" (query-target sections).
    in_targets: bool,
    /// Whether a target `<section>` is open.
    section_open: bool,
    /// Whether the parser's events have ended (and the open sections were closed).
    done: bool,
}

impl<'a, I: Iterator<Item = Event<'a>>> Transform<'a, I> {
    fn new(events: I) -> Self {
        Transform {
            events,
            pending: std::collections::VecDeque::new(),
            // A rule page has a dozen headings.
            ids: HashSet::with_capacity(32),
            links: Vec::new(),
            in_targets: false,
            section_open: false,
            done: false,
        }
    }

    /// Reads a heading's events up to its end and queues the heading, with its id, and the
    /// section markup around it.
    fn heading(&mut self, level: HeadingLevel) {
        let mut buffer = Vec::new();
        for event in self.events.by_ref() {
            if let Event::End(TagEnd::Heading(_)) = event {
                break;
            }
            if let Some(kept) = inline(event, &mut self.links) {
                buffer.push(kept);
            }
        }
        let text = plain_text(&buffer);
        let mut id = slug(&text);
        if !self.ids.insert(id.clone()) {
            let mut n = 2;
            while !self.ids.insert(format!("{id}-{n}")) {
                n += 1;
            }
            id = format!("{id}-{n}");
        }
        let out = &mut self.pending;
        // Query-target sections: every level-3 heading under "Detection Rules".
        if level <= HeadingLevel::H2 {
            if self.section_open {
                out.push_back(Event::Html(CowStr::from("</section>\n")));
                self.section_open = false;
            }
            if self.in_targets {
                out.push_back(Event::Html(CowStr::from("</div>\n")));
            }
            self.in_targets = level == HeadingLevel::H2 && id == "detection-rules";
        }
        if self.in_targets && level == HeadingLevel::H3 {
            if self.section_open {
                out.push_back(Event::Html(CowStr::from("</section>\n")));
            }
            out.push_back(Event::Html(CowStr::from(format!(
                "<section class=\"target\" id=\"target-{id}\" data-title=\"{}\">\n",
                attribute(&text)
            ))));
            self.section_open = true;
        }
        out.push_back(Event::Start(Tag::Heading {
            level,
            id: Some(CowStr::from(id)),
            classes: Vec::new(),
            attrs: Vec::new(),
        }));
        out.extend(buffer);
        out.push_back(Event::End(TagEnd::Heading(level)));
        if self.in_targets && level == HeadingLevel::H2 {
            out.push_back(Event::Html(CowStr::from("<div class=\"targets\">\n")));
        }
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Transform<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            match self.events.next() {
                Some(Event::Start(Tag::Heading { level, .. })) => self.heading(level),
                Some(Event::Html(raw)) => return Some(block_html(raw)),
                Some(event) => {
                    if let Some(kept) = inline(event, &mut self.links) {
                        return Some(kept);
                    }
                }
                None => {
                    self.done = true;
                    if self.section_open {
                        self.pending
                            .push_back(Event::Html(CowStr::from("</section>\n")));
                    }
                    if self.in_targets {
                        self.pending
                            .push_back(Event::Html(CowStr::from("</div>\n")));
                    }
                }
            }
        }
    }
}

/// An event outside headings' ids and sections: links made safe and pointed at the HTML pages,
/// images dropped, raw HTML filtered. `None` when the event is dropped.
fn inline<'a>(event: Event<'a>, links: &mut Vec<bool>) -> Option<Event<'a>> {
    match event {
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            if is_linkable(&dest_url) {
                links.push(true);
                Some(Event::Start(Tag::Link {
                    link_type,
                    dest_url: md_to_html_link(dest_url),
                    title,
                    id,
                }))
            } else {
                links.push(false);
                None
            }
        }
        Event::End(TagEnd::Link) => links
            .pop()
            .unwrap_or(false)
            .then_some(Event::End(TagEnd::Link)),
        // Images would load resources; their alt text stays as plain text.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        Event::InlineHtml(raw) => Some(inline_html(raw)),
        Event::Html(raw) => Some(block_html(raw)),
        other => Some(other),
    }
}

fn inline_html(raw: CowStr<'_>) -> Event<'_> {
    if ALLOWED_TAGS.contains(&raw.trim()) {
        Event::InlineHtml(raw)
    } else {
        Event::Text(raw)
    }
}

fn block_html(raw: CowStr<'_>) -> Event<'_> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.starts_with("<!--") && trimmed.ends_with("-->") {
        // Comments in templates are for template authors, not readers.
        return Event::Html(CowStr::from(""));
    }
    if ALLOWED_TAGS.contains(&trimmed) {
        Event::Html(raw)
    } else {
        Event::Text(raw)
    }
}

/// `../x/y.md#a` → `../x/y.html#a` for relative links.
fn md_to_html_link(dest: CowStr<'_>) -> CowStr<'_> {
    if super::escape::has_prefix_ignore_case(&dest, "http://")
        || super::escape::has_prefix_ignore_case(&dest, "https://")
    {
        return dest;
    }
    let (path, fragment) = match dest.find(['#', '?']) {
        Some(i) => dest.split_at(i),
        None => (&*dest, ""),
    };
    match path.strip_suffix(".md") {
        Some(stem) => {
            // Every link of every page passes here: one exact allocation, no formatting.
            let mut html = String::with_capacity(stem.len() + ".html".len() + fragment.len());
            html.push_str(stem);
            html.push_str(".html");
            html.push_str(fragment);
            CowStr::from(html)
        }
        None => dest,
    }
}

fn plain_text(events: &[Event<'_>]) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            _ => {}
        }
    }
    text
}

fn attribute(text: &str) -> String {
    super::escape::xml(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_are_isolated_and_labelled_in_text_only() {
        let md = "A [link](x.md \"t\u{202E}t\") and `a\u{202E}b`\n\n```\nCommandLine:*\u{202E}* OR x\n```\n";
        let html = to_html(md);
        let span = "<span class=\"bidi\" data-cp=\"U+202E\" title=\"U+202E RIGHT-TO-LEFT OVERRIDE\">\u{202E}</span>";
        assert!(html.contains(&format!("<code>a{span}b</code>")), "{html}");
        assert!(
            html.contains(&format!("CommandLine:*{span}* OR x")),
            "{html}"
        );
        // The attribute keeps its character, unwrapped.
        assert!(html.contains("title=\"t\u{202E}t\""), "{html}");
        assert_eq!(html.matches(span).count(), 2, "{html}");
        // Pages without them are returned as they are.
        let plain = to_html("a → b … `c` \u{2065}\u{202F}\n");
        assert!(!plain.contains("bidi"), "{plain}");
        for (c, _) in BIDI_CONTROLS {
            assert!(contains_bidi_control(&format!("x{c}")), "{c:?}");
        }
        assert!(!contains_bidi_control("\u{0600}\u{200D}\u{2070}\u{E2}"));
    }

    #[test]
    fn md_links_become_html_links_and_unsafe_links_text() {
        let html =
            to_html("[a](../x/y.md#frag) [b](javascript:alert(1)) [c](https://e.example/z.md)");
        assert!(html.contains("href=\"../x/y.html#frag\""), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        assert!(html.contains(">b<") || html.contains(" b "), "{html}");
        assert!(html.contains("href=\"https://e.example/z.md\""), "{html}");
    }

    #[test]
    fn only_listed_raw_html_passes() {
        let html = to_html("| a | <ul><li>x</li></ul><script>alert(1)</script> |\n|---|---|\n");
        assert!(html.contains("<ul><li>x</li></ul>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        let html = to_html("<div onclick=x>\nhello\n</div>\n");
        assert!(!html.contains("<div"), "{html}");
    }

    #[test]
    fn headings_get_unique_ids_and_target_sections() {
        let md = "## Detection Rules\n\n### Sigma rule\n\n```yaml\na: 1\n```\n\n### Kibana query\n\n```\nq\n```\n\n## Notes\n\n### Sigma rule\n";
        let html = to_html(md);
        assert!(html.contains("<h2 id=\"detection-rules\">"), "{html}");
        assert!(
            html.contains("<section class=\"target\" id=\"target-kibana-query\""),
            "{html}"
        );
        assert!(html.contains("id=\"sigma-rule-2\""), "{html}");
        assert_eq!(html.matches("<section").count(), 2, "{html}");
        assert_eq!(html.matches("</section>").count(), 2, "{html}");
        assert_eq!(html.matches("<div class=\"targets\">").count(), 1);
        assert_eq!(html.matches("</div>").count(), 1);
    }

    #[test]
    fn slugs_are_stable() {
        assert_eq!(slug("Detection Rules"), "detection-rules");
        assert_eq!(slug("T1218.011: Rundll32"), "t1218.011-rundll32");
        assert_eq!(slug("!!!"), "section");
    }
}
