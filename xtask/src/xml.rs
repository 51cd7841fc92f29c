//! Escaping text for XML and HTML, shared by the book's SVG diagrams and the grader's JUnit report.

/// Escapes text for XML content and attribute values alike. Newlines and tabs are kept (a failure message has
/// lines); every other control character is dropped, as XML 1.0 forbids them.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            // `&#39;` rather than `&apos;`: the diagrams are inline in HTML, where it is the portable spelling.
            '\'' => escaped.push_str("&#39;"),
            '\n' | '\t' => escaped.push(c),
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_control_characters_are_neutralised() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(escape("line\n\tnext\u{1b}[31m"), "line\n\tnext[31m");
    }
}
