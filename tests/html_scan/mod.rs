//! A scanner of built HTML pages for live markup that came from rule text: tags the templates
//! never write, event-handler attributes, attribute names made of rule text, link targets with
//! a scheme other than http(s), and rule text inside a script. Shared by the hostile suite
//! (`tests/hostile.rs`) and the `convert_render` fuzz target (`fuzz/`), which includes this
//! file by path.

/// Tags the templates and the Markdown conversion produce; any other tag on a page came from
/// somewhere it should not have.
const KNOWN_TAGS: &[&str] = &[
    "!doctype",
    "html",
    "head",
    "meta",
    "title",
    "link",
    "style",
    "script",
    "body",
    "a",
    "nav",
    "header",
    "main",
    "footer",
    "div",
    "span",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "strong",
    "em",
    "del",
    "code",
    "pre",
    "section",
    "article",
    "form",
    "input",
    "button",
    "label",
    "select",
    "option",
    "details",
    "summary",
    "br",
    "hr",
    "blockquote",
];

/// One tag of a page: its name and attributes (names lower-cased, values as written).
#[derive(Debug)]
struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
    /// The text of a `<script>` element.
    script: Option<String>,
}

/// A small HTML tokenizer, enough for pages whose text is escaped: it walks the page, skips
/// comments, reads each start tag's name and attributes (quoted or bare values), and reads the
/// raw text of `<script>` and `<style>` elements up to their end tag, as a browser does. Text
/// between tags is not looked at: escaped rule text (`&lt;script&gt;`) is text, and a `<`
/// that opens a tag is exactly what escaping must prevent, so it is what this finds.
fn tags(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(offset) = html[i..].find('<') {
        i += offset + 1;
        if html[i..].starts_with("!--") {
            i = html[i..].find("-->").map_or(html.len(), |e| i + e + 3);
            continue;
        }
        if html[i..].starts_with('/') {
            continue;
        }
        let name_len = html[i..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(html.len() - i);
        let name = html[i..i + name_len].to_ascii_lowercase();
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '!') {
            continue; // `<` followed by a non-letter is text for a browser too
        }
        i += name_len;
        let mut attributes = Vec::new();
        loop {
            while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' {
                i += 1;
                break;
            }
            let len = html[i..]
                .find(|c: char| c.is_whitespace() || c == '=' || c == '>')
                .unwrap_or(html.len() - i);
            let attribute = html[i..i + len].to_ascii_lowercase();
            i += len.max(1);
            let mut value = String::new();
            if i < bytes.len() && bytes[i] == b'=' {
                i += 1;
                if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                    let quote = bytes[i] as char;
                    let end = html[i + 1..].find(quote).map_or(html.len(), |e| i + 1 + e);
                    value = html[i + 1..end].to_string();
                    i = end + 1;
                } else {
                    let len = html[i..]
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap_or(html.len() - i);
                    value = html[i..i + len].to_string();
                    i += len;
                }
            }
            attributes.push((attribute, value));
        }
        let mut script = None;
        if name == "script" || name == "style" {
            let close = format!("</{name}");
            let end = html[i.min(html.len())..]
                .to_ascii_lowercase()
                .find(&close)
                .map_or(html.len(), |e| i + e);
            script = Some(html[i.min(end)..end].to_string());
            i = end;
        }
        out.push(Tag {
            name,
            attributes,
            script,
        });
        if i >= html.len() {
            break;
        }
    }
    out
}

/// Decodes the few character references that could hide a URL scheme (`&#106;avascript:`).
fn decode_references(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("&#") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find(';').unwrap_or(after.len());
        let number = &after[..end];
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => number.parse().ok(),
        };
        match code.and_then(char::from_u32) {
            Some(c) => out.push(c),
            None => out.push_str(&rest[start..start + 2 + end]),
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out.replace("&colon;", ":").replace("&amp;", "&")
}

/// Whether a link target is one a page may carry: http(s), or relative without a scheme.
fn safe_url(value: &str) -> bool {
    let decoded: String = decode_references(value)
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    if decoded.starts_with("http://") || decoded.starts_with("https://") {
        return true;
    }
    let head = decoded.split(['/', '?', '#']).next().unwrap_or("");
    !head.contains(':') && !decoded.starts_with("//")
}

/// Problems of one HTML page: live markup that a rule provided. `marker` is a string every
/// injected payload of the caller carries (any string no template writes, when the rule text is
/// not the caller's).
pub fn scan_html(html: &str, marker: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for tag in tags(html) {
        if !KNOWN_TAGS.contains(&tag.name.as_str()) {
            problems.push(format!("unexpected tag <{}>", tag.name));
        }
        for (name, value) in &tag.attributes {
            if value.contains(marker) && name.starts_with("on") {
                problems.push(format!("<{} {name}=…> carries the marker", tag.name));
            }
            if name.starts_with("on") && !(tag.name == "form" && name == "onsubmit") {
                problems.push(format!("event handler <{} {name}>", tag.name));
            }
            if name.contains(marker) || name.contains('<') || name.contains('"') {
                problems.push(format!(
                    "attribute name from rule text: <{} {name}>",
                    tag.name
                ));
            }
            let is_url = matches!(
                name.as_str(),
                "href" | "src" | "action" | "formaction" | "data" | "poster" | "srcset"
            );
            // The templates' own icon is an inline SVG image (no request outside the site);
            // browsers never run script in an image, and rule text cannot make a <link>.
            let template_icon = tag.name == "link"
                && name == "href"
                && value.starts_with("data:image/svg+xml,")
                && tag
                    .attributes
                    .iter()
                    .any(|(n, v)| n == "rel" && v == "icon");
            if is_url && !template_icon && !safe_url(value) {
                problems.push(format!("<{} {name}=\"{value}\">: unsafe URL", tag.name));
            }
            if tag.name == "meta" && value.to_ascii_lowercase().contains("url=") {
                let target = value.split_once("url=").map_or("", |(_, t)| t);
                if !safe_url(target) {
                    problems.push(format!("meta refresh to {target}"));
                }
            }
        }
        if let Some(script) = &tag.script {
            if script.contains(marker) || script.contains("alert(") {
                problems.push(format!("<{}> holds rule text", tag.name));
            }
        }
    }
    problems
}
