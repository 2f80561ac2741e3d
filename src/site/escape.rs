//! Escaping of untrusted rule text for every context it is written into: Markdown inline text
//! (safe inside table cells), Markdown code spans and fenced blocks, link destinations, CSV
//! cells (with spreadsheet formula neutralisation) and XML.
//!
//! HTML escaping is Tera's own autoescaping; JSON is serde_json's. Everything here is total: any
//! input string produces output that cannot break out of its context.

use std::fmt::Write as _;

/// Escapes text for Markdown inline content, safe inside a GFM table cell: every character
/// that could start a Markdown construct is backslash-escaped, `<`, `>` and `&` become entities
/// (so no raw HTML can be formed), and line breaks become `<br>` (the only way to break a line
/// inside a table cell).
pub fn markdown_text(text: &str) -> String {
    let trimmed = trim(text);
    if trimmed.bytes().all(plain_markdown_byte) {
        // Nothing to escape inside: the common case of titles, names and dates.
        return guard_line_start(trimmed.to_string());
    }
    let mut out = String::with_capacity(text.len() + 8);
    let bytes = text.as_bytes();
    // Runs of bytes kept as they are (everything but the few ASCII characters below and the C1
    // controls) are copied whole; `run` is where the current one starts.
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (replacement, width): (&str, usize) = match b {
            b'\\' | b'`' | b'*' | b'[' | b']' | b'|' | b'~' | b'#' | b'!' | b'{' | b'}' | b'$' => {
                // The backslash goes before the character, which stays in the next run.
                out.push_str(&text[run..i]);
                out.push('\\');
                run = i;
                i += 1;
                continue;
            }
            b'_' => {
                // An underscore between two alphanumerics can neither open nor close emphasis,
                // so `proc_creation` stays readable in the Markdown source.
                let before = text[..i].chars().next_back();
                let after = text[i + 1..].chars().next();
                let inner = before.is_some_and(char::is_alphanumeric)
                    && after.is_some_and(char::is_alphanumeric);
                if !inner {
                    out.push_str(&text[run..i]);
                    out.push('\\');
                    run = i;
                }
                i += 1;
                continue;
            }
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'&' => ("&amp;", 1),
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => ("", 1),
            b'\r' | b'\n' => ("<br>", 1),
            b'\t' => (" ", 1),
            0x00..=0x1F | 0x7F => ("", 1),
            // U+0080–U+009F, the C1 controls, are C2 80 … C2 9F.
            0xC2 if bytes.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n)) => ("", 2),
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&text[run..i]);
        out.push_str(replacement);
        i += width;
        run = i;
    }
    out.push_str(&text[run..]);
    // A trailing space run before `<br>` or at the end would be a hard break or be trimmed;
    // leading/trailing blanks mean nothing in a cell.
    guard_line_start(trim(&out).to_string())
}

/// `str::trim`, without looking at the characters when the text begins and ends with a
/// visible ASCII character, as almost every value a template prints does.
fn trim(text: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic());
    if visible(text.as_bytes().first()) && visible(text.as_bytes().last()) {
        text
    } else {
        text.trim()
    }
}

/// Bytes [`markdown_text`] leaves as they are anywhere in a text.
fn plain_markdown_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b' ' | b','
                | b'.'
                | b':'
                | b'-'
                | b'/'
                | b'('
                | b')'
                | b'\''
                | b'"'
                | b'='
                | b'?'
                | b'+'
                | b'@'
                | b';'
                | b'%'
        )
}

/// [`markdown_text`] written to `out`. Text with nothing to escape, most of what the templates
/// print, is written as it is, without building a string first.
pub fn write_markdown_text(text: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let trimmed = trim(text);
    if !trimmed.bytes().all(plain_markdown_byte) {
        return out.write_all(markdown_text(text).as_bytes());
    }
    match line_start_guard(trimmed) {
        Some(at) => {
            out.write_all(&trimmed.as_bytes()[..at])?;
            out.write_all(b"\\")?;
            out.write_all(&trimmed.as_bytes()[at..])
        }
        None => out.write_all(trimmed.as_bytes()),
    }
}

/// Escapes what would start a block at the beginning of a line: a list marker (`-`, `+`,
/// `1.`, `1)`) or a setext underline (`=`).
fn guard_line_start(text: String) -> String {
    match line_start_guard(&text) {
        Some(at) => format!("{}\\{}", &text[..at], &text[at..]),
        None => text,
    }
}

/// Where [`guard_line_start`] puts its backslash, if `text` needs one.
fn line_start_guard(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b'-' | b'+' | b'=') => Some(0),
        Some(b) if b.is_ascii_digit() => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            matches!(bytes.get(digits), Some(b'.' | b')')).then_some(digits)
        }
        _ => None,
    }
}

/// A Markdown code span holding `text` literally, safe inside a table cell.
pub fn markdown_code(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !c.is_control())
        .collect();
    if flat.trim().is_empty() {
        return String::new();
    }
    // GFM splits table rows on unescaped pipes before parsing code spans, and `\|` inside a
    // code span in a table renders as `|`.
    let body = flat.replace('|', "\\|");
    let fence = "`".repeat(longest_run(&body, '`') + 1);
    let pad = body.starts_with('`') || body.ends_with('`') || body.starts_with(' ');
    if pad {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

/// A fenced code block holding `text` literally, with `info` as its language.
pub fn markdown_fence(text: &str, info: &str) -> String {
    let fence = "`".repeat(longest_run(text, '`').max(2) + 1);
    let mut out = String::with_capacity(text.len() + 2 * fence.len() + info.len() + 2);
    out.push_str(&fence);
    out.extend(
        info.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+')),
    );
    out.push('\n');
    if !has_control_other_than_tab_or_newline(text) {
        // The common case, and what the loop below makes of it: every line as it is, each
        // ending in a line feed.
        out.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&fence);
        return out;
    }
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Control characters (NUL, ESC…) would reach the HTML page as they are.
        out.extend(line.chars().filter(|&c| !c.is_control() || c == '\t'));
        out.push('\n');
    }
    out.push_str(&fence);
    out
}

/// Whether `text` holds a control character (`char::is_control`: U+0000–U+001F, U+007F–U+009F)
/// other than a tab or a line feed, looked for in its UTF-8 bytes.
fn has_control_other_than_tab_or_newline(text: &str) -> bool {
    let bytes = text.as_bytes();
    let control = |at: usize, b: u8| {
        (b < 0x20 && b != b'\t' && b != b'\n')
            || b == 0x7F
            // U+0080–U+009F are C2 80 … C2 9F.
            || (b == 0xC2 && bytes.get(at + 1).is_some_and(|n| (0x80..=0x9F).contains(n)))
    };
    // Every query and rule source of a page passes here. A block is first tested for a byte
    // that may start a control character without a branch per byte, which the compiler turns
    // into vector compares; only a block with such a byte (0xC2 also starts `·`, `é`…) is
    // looked at byte by byte.
    let suspect = |b: u8| (b < 0x20 && b != b'\t' && b != b'\n') | (b == 0x7F) | (b == 0xC2);
    bytes.chunks(64).enumerate().any(|(n, block)| {
        block.iter().fold(false, |any, &b| any | suspect(b))
            && block
                .iter()
                .enumerate()
                .any(|(i, &b)| control(n * 64 + i, b))
    })
}

fn longest_run(text: &str, c: char) -> usize {
    if c.is_ascii() {
        // A run of an ASCII character is a run of its byte.
        // Found with memchr: the character is rare (backticks in a query or a rule source).
        let byte = c as u8;
        let mut best = 0;
        let mut run = 0;
        let mut next = usize::MAX;
        for at in memchr::memchr_iter(byte, text.as_bytes()) {
            run = if at == next { run + 1 } else { 1 };
            best = best.max(run);
            next = at + 1;
        }
        return best;
    }
    let mut best = 0;
    let mut run = 0;
    for ch in text.chars() {
        if ch == c {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// Whether `url` may become a link: `http`/`https` URLs and relative references. Anything with
/// another scheme (`javascript:`, `data:`, `file:`…) or that is not a plain URL stays text.
pub fn is_linkable(url: &str) -> bool {
    let url = trim(url);
    let bytes = url.as_bytes();
    // A control character (`char::is_control`: C0, DEL, and C1 as C2 80 … C2 9F) or a space.
    let bad = |(i, &b): (usize, &u8)| {
        b <= b' '
            || b == 0x7F
            || (b == 0xC2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n)))
    };
    if url.is_empty() || bytes.iter().enumerate().any(bad) {
        return false;
    }
    if has_prefix_ignore_case(url, "http://") || has_prefix_ignore_case(url, "https://") {
        return url.len() > "https://".len() - 1;
    }
    if url.starts_with("//") {
        return false;
    }
    // Relative: no scheme before the first `/`, `?` or `#`.
    let head = bytes
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .map_or(bytes, |end| &bytes[..end]);
    !head.contains(&b':')
}

/// Percent-encodes the characters of a link destination that Markdown, a table cell or an HTML
/// attribute would otherwise interpret.
pub fn url_destination(url: &str) -> String {
    let url = trim(url);
    let plain = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'.' | b'/'
                    | b'-'
                    | b'_'
                    | b':'
                    | b'#'
                    | b'?'
                    | b'='
                    | b'&'
                    | b'%'
                    | b'~'
                    | b'+'
                    | b','
                    | b';'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'*'
            )
    };
    if url.bytes().all(plain) {
        return url.to_string();
    }
    let mut out = String::with_capacity(url.len());
    for c in url.trim().chars() {
        match c {
            ' ' | '(' | ')' | '<' | '>' | '|' | '\\' | '"' | '\'' | '`' | '[' | ']' | '{' | '}'
            | '^' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Whether `text` starts with `prefix`, ignoring ASCII case.
pub fn has_prefix_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Whether `url` is an absolute `http`/`https` URL.
pub fn is_web_url(url: &str) -> bool {
    let url = url.trim();
    (has_prefix_ignore_case(url, "http://") || has_prefix_ignore_case(url, "https://"))
        && is_linkable(url)
}

/// A Markdown link to `url` labelled with the URL itself when it is an `http(s)` URL, else the
/// text as escaped text (rule references like `n/a` are not links).
pub fn markdown_autolink(url: &str) -> String {
    if is_web_url(url) {
        format!(
            "[{}]({})",
            markdown_text(url.trim()),
            url_destination(url.trim())
        )
    } else {
        markdown_text(url)
    }
}

/// One CSV cell: quoted when needed, and prefixed with `'` when a spreadsheet would read it as
/// a formula (`=`, `+`, `-`, `@`, tab, carriage return first).
pub fn csv_cell(text: &str) -> String {
    // Control characters other than line breaks and tabs (NUL, ESC…) mean nothing in a cell and
    // confuse spreadsheet importers.
    let text: String = text
        .chars()
        .filter(|&c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let neutral = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text,
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

/// Escapes text for HTML content and double-quoted attribute values, the way Tera does (`&`,
/// `<`, `>`, `"`), and drops the control characters HTML forbids (all but tab, line feed and
/// carriage return).
pub fn html(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len() + 8);
    // Writing to a vector cannot fail.
    let _ = write_html(text, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// [`html`] written to `out`: runs of characters that need no escaping are copied as they are.
pub fn write_html(text: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let bytes = text.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (replacement, width): (&[u8], usize) = match b {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'"' => (b"&quot;", 1),
            b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            0..0x20 | 0x7F => (b"", 1),
            // U+0080–U+009F, the C1 controls, are C2 80 … C2 9F.
            0xC2 if bytes.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n)) => (b"", 2),
            _ => {
                i += 1;
                continue;
            }
        };
        out.write_all(&bytes[run..i])?;
        out.write_all(replacement)?;
        i += width;
        run = i;
    }
    out.write_all(&bytes[run..])
}

/// Escapes text for XML content and attribute values.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a whole URL for use as a query or fragment parameter value.
pub fn url_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulldown_cmark::{Options, Parser, html};

    /// The escaping [`html`] did, character by character, to compare the fast path with.
    fn html_by_chars(text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\t' | '\n' | '\r' => out.push(c),
                c if c.is_control() => {}
                c => out.push(c),
            }
        }
        out
    }

    /// The escaping [`markdown_text`] did, character by character, to compare the byte scan with.
    fn markdown_text_by_chars(text: &str) -> String {
        let trimmed = text.trim();
        if trimmed.bytes().all(plain_markdown_byte) {
            // Nothing to escape inside: the common case of titles, names and dates.
            return guard_line_start(trimmed.to_string());
        }
        let mut out = String::with_capacity(text.len() + 8);
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '\\' | '`' | '*' | '[' | ']' | '|' | '~' | '#' | '!' | '{' | '}' | '$' => {
                    out.push('\\');
                    out.push(c);
                }
                '_' => {
                    // An underscore between two alphanumerics can neither open nor close emphasis,
                    // so `proc_creation` stays readable in the Markdown source.
                    let before = i.checked_sub(1).and_then(|j| chars.get(j));
                    let after = chars.get(i + 1);
                    let inner = before.is_some_and(|b| b.is_alphanumeric())
                        && after.is_some_and(|a| a.is_alphanumeric());
                    if !inner {
                        out.push('\\');
                    }
                    out.push('_');
                }
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '\r' => {
                    if chars.get(i + 1) != Some(&'\n') {
                        out.push_str("<br>");
                    }
                }
                '\n' => out.push_str("<br>"),
                '\t' => out.push(' '),
                c if c.is_control() => {}
                c => out.push(c),
            }
            i += 1;
        }
        // A trailing space run before `<br>` or at the end would be a hard break or be trimmed;
        // leading/trailing blanks mean nothing in a cell.
        guard_line_start(out.trim().to_string())
    }

    fn render(md: &str) -> String {
        let mut out = String::new();
        html::push_html(&mut out, Parser::new_ext(md, Options::ENABLE_TABLES));
        out
    }

    #[test]
    fn markdown_text_cannot_form_markup() {
        let nasty = "<script>alert(1)</script> [x](javascript:alert(1)) *b* `c` | d\n# e &amp; _f_";
        let cell = format!("| a | {} |\n|---|---|\n", markdown_text(nasty));
        let html = render(&cell);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<a "), "{html}");
        assert!(!html.contains("<em>"), "{html}");
        assert!(!html.contains("<code>"), "{html}");
        // one row of two cells: the pipe did not split the cell
        assert_eq!(html.matches("<th>").count(), 2, "{html}");
        assert!(html.contains("&amp;amp;"), "{html}");
    }

    #[test]
    fn markdown_text_never_starts_a_block() {
        for text in ["- item", "+ item", "2024. year", "1) one", "= title"] {
            let html = render(&markdown_text(text));
            assert!(html.starts_with("<p>"), "{text}: {html}");
        }
    }

    #[test]
    fn markdown_text_keeps_intraword_underscores_readable() {
        assert_eq!(markdown_text("proc_creation_win"), "proc_creation_win");
        assert_eq!(markdown_text("_x_"), "\\_x\\_");
    }

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        let span = markdown_code("a`b|c");
        let html = render(&format!("| {span} |\n|---|\n"));
        assert!(html.contains("<code>a`b|c</code>"), "{html}");
    }

    #[test]
    fn fences_are_longer_than_any_backtick_run_inside() {
        let text = "```\nnot the end\n````\n";
        let block = markdown_fence(text, "yaml");
        assert!(block.starts_with("`````yaml\n"), "{block}");
        let html = render(&block);
        assert!(html.contains("not the end"), "{html}");
        assert_eq!(html.matches("<pre>").count(), 1);
    }

    #[test]
    fn only_web_and_relative_urls_become_links() {
        assert!(is_linkable("https://example.com/a?b=c"));
        assert!(is_linkable("../tactics/TA0005.md"));
        assert!(!is_linkable("javascript:alert(1)"));
        assert!(!is_linkable("JaVaScRiPt:alert(1)"));
        assert!(!is_linkable("data:text/html,x"));
        assert!(!is_linkable("//evil.example/x"));
        assert!(!is_linkable("https://a b"));
        let link = markdown_autolink("javascript:alert(1)");
        assert!(!render(&link).contains("<a "));
        let link = markdown_autolink("https://x.example/a_(b)|c");
        let html = render(&format!("| {link} |\n|---|\n"));
        assert!(
            html.contains("href=\"https://x.example/a_%28b%29%7Cc\""),
            "{html}"
        );
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
    }

    #[test]
    fn html_escapes_markup_and_drops_controls() {
        assert_eq!(
            html("<a href=\"x\">&</a>\u{0}\u{1b}\t"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;\t"
        );
        assert_eq!(csv_cell("a\u{0}b"), "ab");
        assert_eq!(markdown_fence("a\u{0}\u{7}b", ""), "```\nab\n```");
    }

    #[test]
    fn the_fast_paths_write_what_the_general_ones_do() {
        let texts = [
            "",
            "plain title",
            "- starts a list",
            "12. numbered",
            "12 not numbered",
            "  padded  ",
            "a\nb\n",
            "a\nb",
            "\n",
            "a\n\n",
            "tab\there",
            "cr\r\nlf",
            "nul\u{0}esc\u{1b}del\u{7f}c1\u{85}\u{9f}",
            "caf\u{e9} \u{a0}nbsp \u{202e}bidi",
            "<b>&\"quoted\"</b>",
            "``` and ````",
            "a_b _c d_ é_ü x_\u{85}_y [l](u) \\ ` * | ~ # ! {} $",
            "\u{85}lead and trail\u{9f}",
            " \u{a0}unicode blanks\u{2003} ",
            "<&>\r\r\n\n\t",
        ];
        for text in texts {
            assert_eq!(html(text), html_by_chars(text), "{text:?}");
            assert_eq!(
                markdown_text(text),
                markdown_text_by_chars(text),
                "{text:?}"
            );
            let mut written = Vec::new();
            write_markdown_text(text, &mut written).expect("vector");
            assert_eq!(
                String::from_utf8(written).expect("utf-8"),
                markdown_text(text),
                "{text:?}"
            );
            let mut by_lines = String::new();
            for line in text.lines() {
                let line = line.strip_suffix('\r').unwrap_or(line);
                by_lines.extend(line.chars().filter(|&c| !c.is_control() || c == '\t'));
                by_lines.push('\n');
            }
            let fence = "`".repeat(longest_run(text, '`').max(2) + 1);
            assert_eq!(
                markdown_fence(text, "x"),
                format!("{fence}x\n{by_lines}{fence}"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn xml_escapes_markup() {
        assert_eq!(xml("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
    }
}
