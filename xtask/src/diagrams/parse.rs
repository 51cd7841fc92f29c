//! The text syntax of a sequence diagram, parsed into a [`Diagram`]. The syntax itself is documented
//! on the parent module.

/// A parsed diagram: who takes part, in column order, and what happens, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Diagram {
    pub(super) title: Option<String>,
    pub(super) participants: Vec<String>,
    pub(super) steps: Vec<Step>,
}

/// One row of the diagram. Participants are indices into [`Diagram::participants`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// `from == to` is a self-message.
    Message {
        from: usize,
        to: usize,
        label: String,
        dashed: bool,
    },
    /// Spans the columns `first..=last` (`first <= last`).
    Note {
        first: usize,
        last: usize,
        text: String,
    },
    Divider {
        label: String,
    },
}

/// A syntax error, located by its 1-based line inside the diagram (the line after the opening fence
/// is line 1), which is what an author counts when they look at the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    pub(super) line: usize,
    pub(super) message: String,
}

const EXPECTED: &str =
    r#"expected "A -> B: message", "A --> B: reply", "note A: text", "== label ==" or "title: caption""#;

pub(super) fn parse(source: &str) -> Result<Diagram, SyntaxError> {
    let mut parser = Parser::default();
    for (index, raw) in source.lines().enumerate() {
        let line = index + 1;
        parser.line(raw.trim()).map_err(|message| SyntaxError { line, message })?;
    }
    if parser.steps.is_empty() {
        return Err(SyntaxError {
            line: 1,
            message: "the diagram is empty: it needs at least one message, note or divider".into(),
        });
    }
    Ok(Diagram { title: parser.title, participants: parser.participants, steps: parser.steps })
}

#[derive(Default)]
struct Parser {
    title: Option<String>,
    participants: Vec<String>,
    /// Set by a `participants:` line: from then on an unlisted name is a typo, not a new column.
    fixed: bool,
    steps: Vec<Step>,
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), String> {
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        if let Some(title) = line.strip_prefix("title:") {
            if self.title.is_some() {
                return Err("the title is given twice".into());
            }
            self.title = Some(title.trim().to_string());
            return Ok(());
        }
        if let Some(list) = line.strip_prefix("participants:") {
            return self.declare(list);
        }
        if let Some(label) = divider(line) {
            self.steps.push(Step::Divider { label: label.to_string() });
            return Ok(());
        }
        // Only the part before the first colon can hold an arrow, so a label may contain "->".
        let head = line.split_once(':').map_or(line, |(head, _)| head);
        if head.contains("->") {
            return self.message(line);
        }
        // "note:" with no name is a note missing its participant, better reported as such.
        if let Some(rest) = line.strip_prefix("note").filter(|rest| rest.starts_with([' ', ':'])) {
            return self.note(line, rest);
        }
        Err(format!("{EXPECTED}, got {line:?}"))
    }

    fn declare(&mut self, list: &str) -> Result<(), String> {
        if self.fixed || !self.participants.is_empty() {
            return Err("\"participants:\" must come once, before the first message or note".into());
        }
        for name in list.split(',') {
            let name = normalise(name);
            if name.is_empty() {
                return Err(format!("empty participant name in \"participants:{list}\""));
            }
            if self.participants.contains(&name) {
                return Err(format!("participant {name:?} is listed twice"));
            }
            self.participants.push(name);
        }
        self.fixed = true;
        Ok(())
    }

    fn message(&mut self, line: &str) -> Result<(), String> {
        // A label is optional: "A -> B" alone draws an unlabelled arrow.
        let (head, label) = line.split_once(':').unwrap_or((line, ""));
        // "-->" contains "->", so the dashed form must be looked for first.
        let (from, to, dashed) = if let Some((from, to)) = head.split_once("-->") {
            (from, to, true)
        } else if let Some((from, to)) = head.split_once("->") {
            (from, to, false)
        } else {
            return Err(format!("{EXPECTED}, got {line:?}"));
        };
        if from.trim().is_empty() || to.trim().is_empty() || from.contains("->") || to.contains("->") {
            return Err(format!(r#"expected "A -> B: message", got {line:?}"#));
        }
        let from = self.participant(from)?;
        let to = self.participant(to)?;
        self.steps.push(Step::Message { from, to, label: label.trim().to_string(), dashed });
        Ok(())
    }

    /// `line` is the whole line, for the error message; `rest` what follows the word `note`.
    fn note(&mut self, line: &str, rest: &str) -> Result<(), String> {
        let expected = format!(r#"expected "note A: text" or "note A, B: text", got {line:?}"#);
        let Some((names, text)) = rest.split_once(':') else {
            return Err(expected);
        };
        let names: Vec<&str> = names.split(',').collect();
        let (first, last) = match names.as_slice() {
            [one] if !one.trim().is_empty() => {
                let index = self.participant(one)?;
                (index, index)
            }
            [a, b] if !a.trim().is_empty() && !b.trim().is_empty() => {
                let (a, b) = (self.participant(a)?, self.participant(b)?);
                (a.min(b), a.max(b))
            }
            _ => return Err(expected),
        };
        self.steps.push(Step::Note { first, last, text: text.trim().to_string() });
        Ok(())
    }

    /// The column of a participant, adding it on first appearance unless the order was fixed.
    fn participant(&mut self, name: &str) -> Result<usize, String> {
        let name = normalise(name);
        if let Some(index) = self.participants.iter().position(|known| *known == name) {
            return Ok(index);
        }
        if self.fixed {
            return Err(format!(
                "unknown participant {name:?}: \"participants:\" lists only {}",
                self.participants.join(", ")
            ));
        }
        self.participants.push(name);
        Ok(self.participants.len() - 1)
    }
}

/// `== label ==` (the label may be empty: `====` is a plain line).
fn divider(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("==")?.strip_suffix("==")?;
    Some(inner.trim())
}

/// Names are compared after collapsing runs of spaces, so `Client  A` and `Client A` are one column.
fn normalise(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(from: usize, to: usize, label: &str, dashed: bool) -> Step {
        Step::Message { from, to, label: label.into(), dashed }
    }

    #[test]
    fn every_construct_parses() {
        let diagram = parse(
            "title: HTTP: one request, one response\n\
             # a comment\n\
             \n\
             Browser -> Server: GET /health\n\
             Server --> Browser: 200 OK \"ok\"\n\
             note Browser: shows the page\n\
             note Server, Browser: the connection stays open\n\
             == the upgrade ==\n\
             Browser -> Browser: renders\n\
             Client  A -> Server\n",
        )
        .expect("valid diagram");
        assert_eq!(diagram.title.as_deref(), Some("HTTP: one request, one response"));
        assert_eq!(diagram.participants, ["Browser", "Server", "Client A"]);
        assert_eq!(
            diagram.steps,
            [
                message(0, 1, "GET /health", false),
                message(1, 0, "200 OK \"ok\"", true),
                Step::Note { first: 0, last: 0, text: "shows the page".into() },
                Step::Note { first: 0, last: 1, text: "the connection stays open".into() },
                Step::Divider { label: "the upgrade".into() },
                message(0, 0, "renders", false),
                message(2, 1, "", false),
            ]
        );
    }

    #[test]
    fn labels_may_contain_colons_and_arrows() {
        let diagram = parse("A -> B: ws://host:80 -> upgrade").expect("valid diagram");
        assert_eq!(diagram.steps, [message(0, 1, "ws://host:80 -> upgrade", false)]);
    }

    #[test]
    fn a_participant_called_note_is_still_a_participant() {
        let diagram = parse("note taker -> B: hi").expect("valid diagram");
        assert_eq!(diagram.participants, ["note taker", "B"]);
    }

    #[test]
    fn participants_line_fixes_the_order() {
        let diagram = parse("participants: Server, Browser, Other\nBrowser -> Server: hi").expect("valid");
        assert_eq!(diagram.participants, ["Server", "Browser", "Other"]);
        assert_eq!(diagram.steps, [message(1, 0, "hi", false)]);
    }

    #[test]
    fn errors_name_the_diagram_line() {
        let cases = [
            ("A -> B: hi\n\nBrowser to Server", 3, r#"got "Browser to Server""#),
            ("A -> : hi", 1, r#"expected "A -> B: message""#),
            ("A -> B -> C: hi", 1, r#"expected "A -> B: message""#),
            ("A -> B --> C: hi", 1, r#"expected "A -> B: message""#),
            ("note : hi", 1, r#"expected "note A: text""#),
            ("note: hi", 1, r#"expected "note A: text" or "note A, B: text", got "note: hi""#),
            ("notes A: hi", 1, r#"expected "A -> B: message""#),
            ("note A, B, C: hi", 1, r#"expected "note A: text""#),
            ("note A", 1, r#"expected "note A: text""#),
            ("title: a\ntitle: b", 2, "title is given twice"),
            ("participants: A, B\nA -> C: hi", 2, r#"unknown participant "C""#),
            ("A -> B: hi\nparticipants: A, B", 2, "must come once"),
            ("participants: A, A", 1, "listed twice"),
            ("# only a comment", 1, "the diagram is empty"),
        ];
        for (source, line, fragment) in cases {
            let error = parse(source).expect_err(source);
            assert_eq!(error.line, line, "{source:?}: {error:?}");
            assert!(error.message.contains(fragment), "{source:?}: {error:?}");
        }
    }
}
