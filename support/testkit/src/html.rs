//! A page's element structure, for snapshot tests.
//!
//! A snapshot of the raw HTML would break whenever a sentence on the page is reworded. The outline keeps what
//! the tests care about (which elements exist, how they nest, their `id`, `name`, `type` and a few other
//! attributes, and the text of buttons, headings and the title) and drops the rest. It reads our own small,
//! well-formed pages; it is not a general HTML parser.

/// Elements that never have a closing tag.
const VOID: &[&str] =
    &["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"];

/// Attributes shown in the outline; others (classes, styles) are presentation.
const KEPT_ATTRIBUTES: &[&str] = &["id", "name", "type", "src", "href", "charset", "autocomplete", "action", "lang"];

/// Elements whose text content is shown, because it is what the reader sees as a label.
const LABELLED: &[&str] = &["title", "button", "h1", "h2", "label"];

/// One line per element, indented two spaces per level: `form id="form"`, `button "Send"`.
pub fn outline(html: &str) -> String {
    let mut lines = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let text = rest[..start].trim();
        if !text.is_empty() && open.last().is_some_and(|tag| LABELLED.contains(&tag.as_str())) {
            let last: &mut String = lines.last_mut().expect("a labelled element has a line");
            last.push_str(&format!(" {:?}", collapse_whitespace(text)));
        }
        rest = &rest[start..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            if let Some(position) = open.iter().rposition(|tag| *tag == name) {
                open.truncate(position);
            }
            continue;
        }
        let (name, attributes) = split_tag(tag.trim_end_matches('/'));
        let mut line = format!("{}{name}", "  ".repeat(open.len()));
        for (key, value) in attributes.iter().filter(|(key, _)| KEPT_ATTRIBUTES.contains(&key.as_str())) {
            match value {
                Some(value) => line.push_str(&format!(" {key}={value:?}")),
                None => line.push_str(&format!(" {key}")),
            }
        }
        lines.push(line);
        if name == "script" || name == "style" {
            // Their content is code, not structure: skip to the closing tag.
            let closing = format!("</{name}");
            rest = rest.find(&closing).map_or("", |position| &rest[position..]);
            lines.last_mut().expect("just pushed").push_str(if name == "script" { " (script)" } else { " (style)" });
            continue;
        }
        if !VOID.contains(&name.as_str()) && !tag.ends_with('/') {
            open.push(name);
        }
    }
    lines.join("\n")
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `input id="m" autocomplete="off"` → (`input`, [(`id`, Some(`m`)), (`autocomplete`, Some(`off`))]).
fn split_tag(tag: &str) -> (String, Vec<(String, Option<String>)>) {
    let tag = tag.trim();
    let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
    let name = tag[..name_end].to_ascii_lowercase();
    let mut attributes = Vec::new();
    let mut rest = tag[name_end..].trim_start();
    while !rest.is_empty() {
        let key_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, remaining) = match after.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let close = inner.find(quote).unwrap_or(inner.len());
                    (&inner[..close], inner.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            rest = remaining.trim_start();
            Some(value.to_owned())
        } else {
            None
        };
        if !key.is_empty() {
            attributes.push((key, value));
        }
    }
    (name, attributes)
}

#[cfg(test)]
mod tests {
    use super::outline;

    #[test]
    fn outlines_nesting_attributes_and_labels() {
        let page = r#"<!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title> Chat </title>
            <style>body { margin: 0 }</style></head>
            <body><!-- the list --><ul id="messages" class="x"></ul>
            <form id="form" action=""><input id="input" autocomplete="off" /><button>Send</button></form>
            <script src="/app.js"></script></body></html>"#;
        let expected = [
            r#"html lang="en""#,
            "  head",
            r#"    meta charset="utf-8""#,
            r#"    title "Chat""#,
            "    style (style)",
            "  body",
            r#"    ul id="messages""#,
            r#"    form id="form" action="""#,
            r#"      input id="input" autocomplete="off""#,
            r#"      button "Send""#,
            r#"    script src="/app.js" (script)"#,
        ];
        assert_eq!(outline(page), expected.join("\n"));
    }

    #[test]
    fn script_content_is_not_parsed_as_tags() {
        let page = "<body><script>if (a < b) { document.body.innerHTML = '<p>'; }</script><p>x</p></body>";
        assert_eq!(outline(page), "body\n  script (script)\n  p");
    }
}
