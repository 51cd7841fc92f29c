//! Sequence diagrams for the book, drawn at build time.
//!
//! The chapters explain protocols (an HTTP request, a WebSocket upgrade, a Socket.IO handshake) and a
//! picture of who sends what to whom says it best. Rather than ship a JavaScript diagram library, this
//! module is an mdBook preprocessor: it finds fenced code blocks tagged `sequence` and replaces each
//! with an inline SVG `<figure>`, so the built book shows real diagrams, offline, with no script and
//! no third-party code, in every theme (everything is drawn in `currentColor`).
//!
//! # Syntax
//!
//! ````markdown
//! ```sequence
//! title: HTTP: one request, one response
//! participants: Browser, Server
//! Browser -> Server: GET /health
//! Server --> Browser: 200 OK "ok"
//! note Browser: shows the page
//! note Browser, Server: the connection stays open
//! == the upgrade ==
//! Browser -> Browser: renders
//! # a comment line, ignored
//! ```
//! ````
//!
//! One statement a line; blank lines and lines starting with `#` are ignored.
//!
//! | line | draws |
//! | --- | --- |
//! | `title: text` | the figure's caption (optional, at most once) |
//! | `participants: A, B, C` | fixes the column order; must come before any message, and then every name used must be listed |
//! | `A -> B: label` | a solid arrow, label above it (the label is optional: `A -> B`) |
//! | `A --> B: label` | a dashed arrow with an open head: a reply |
//! | `A -> A: label` | a self-message, a small loop back to the same lifeline |
//! | `note A: text` | a note box over one lifeline |
//! | `note A, B: text` | a note box spanning two lifelines (and those between) |
//! | `== label ==` | a divider across all lifelines, label centred (`====` for none) |
//!
//! Without a `participants:` line the columns are the names in order of first appearance. Names may
//! contain spaces (`Client A`) but not `:`, `,` or `->`; a label may contain anything, colons and
//! arrows included, since only the text before the first `:` is read as the arrow.
//!
//! Only fences at the start of a line (at most three spaces in, as in CommonMark) are recognised; a
//! ```` ```sequence ```` shown inside a longer fence, an indented code block or a block quote is left
//! alone, so the book can show the syntax itself. A syntax error fails the build, naming the chapter,
//! the diagram's line and the page's line.
//!
//! # Protocol
//!
//! mdBook (0.5, and 0.4 too) runs the configured command twice: `<command> supports <renderer>`, whose
//! exit status says whether to use it with that renderer (only `html` here: other renderers keep the
//! code block), then `<command>` with `[context, book]` as JSON on stdin, expecting the book back on
//! stdout. That is how a plain `mdbook build` uses it; `cargo xtask book` builds the book in its own process
//! (see `mdbook.rs`) and hands the same JSON to [`rewrite`]. The book is handled as plain JSON, so nothing here
//! depends on mdBook's types: its items (`items` since 0.5, `sections` before) are
//! `{"Chapter": {"name", "content", "sub_items", ...}}`, `"Separator"` or `{"PartTitle": ...}`; only each
//! chapter's `content` is rewritten.

mod parse;
mod svg;

use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mdBook's preprocessor protocol: called as `xtask mdbook-preprocessor` (book JSON on stdin, book JSON on stdout)
/// or `xtask mdbook-preprocessor supports <renderer>` (exit success only for "html").
///
/// `args` are the arguments after the subcommand's name (a leading `mdbook-preprocessor` is skipped too).
pub fn run_preprocessor(args: &[String]) -> anyhow::Result<ExitCode> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let args = match args.as_slice() {
        ["mdbook-preprocessor", rest @ ..] => rest,
        all => all,
    };
    match args {
        [] => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            preprocess(std::io::stdin().lock(), &mut stdout)?;
            stdout.flush().context("writing the book to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        ["supports", renderer] => Ok(if supports(renderer) { ExitCode::SUCCESS } else { ExitCode::FAILURE }),
        other => {
            bail!("usage: xtask mdbook-preprocessor [supports <renderer>]; got arguments {other:?}")
        }
    }
}

/// Inline SVG only means something in HTML; any other renderer keeps the source code block.
pub fn supports(renderer: &str) -> bool {
    renderer == "html"
}

/// Replaces every ```sequence fenced block in one chapter's Markdown with an inline SVG figure.
pub fn render_markdown(markdown: &str) -> anyhow::Result<String> {
    Ok(render_page(markdown)?)
}

/// Reads `[context, book]`, writes the book with its diagrams drawn.
fn preprocess(input: impl Read, mut output: impl Write) -> anyhow::Result<()> {
    let input: Value = serde_json::from_reader(input).context("mdBook's input on stdin is not JSON")?;
    let Value::Array(pair) = input else {
        bail!("expected [context, book] from mdBook on stdin, got something else");
    };
    let [context, mut book]: [Value; 2] = pair.try_into().map_err(|pair: Vec<Value>| {
        anyhow!("expected [context, book] from mdBook on stdin, got an array of {} items", pair.len())
    })?;
    let book_root = context.get("root").and_then(Value::as_str).map(PathBuf::from);
    rewrite(&mut book, book_root.as_deref())?;
    serde_json::to_writer(&mut output, &book).context("writing the book to stdout")?;
    Ok(())
}

/// Draws the diagrams of a book (as JSON) whose root folder is `book_root`, and points its quotes of starter
/// files at the starters as shipped when that folder is in a kit.
pub fn rewrite(book: &mut Value, book_root: Option<&Path>) -> anyhow::Result<()> {
    let starters = match book_root.and_then(crate::starters::kit_of) {
        Some(kit) => Some(pristine_starters(&kit, book_root.unwrap_or(&kit))?),
        None => None,
    };
    rewrite_book(book, starters.as_ref())
}

/// Where the book reads starter files from: the kit, its pristine starters, and the pages' folder.
struct Starters {
    kit: PathBuf,
    pristine: PathBuf,
    pages: PathBuf,
}

/// Writes the starters as shipped under the kit's `target/pristine/`, so that the book quotes them and not a
/// student's edited files (see `starters.rs`). A starter git cannot read back is quoted from disk, with a
/// warning on stderr, which mdBook shows.
fn pristine_starters(kit: &Path, book_root: &Path) -> anyhow::Result<Starters> {
    let pristine = kit.join("target").join("pristine");
    for warning in crate::starters::materialize(kit, &pristine)? {
        eprintln!("warning: {warning}");
    }
    Ok(Starters { kit: kit.to_path_buf(), pristine, pages: book_root.join("src") })
}

fn rewrite_book(book: &mut Value, starters: Option<&Starters>) -> anyhow::Result<()> {
    // mdBook 0.5 calls the list `items`; 0.4 called it `sections`.
    let key = if book.get("items").is_some() { "items" } else { "sections" };
    let Some(items) = book.get_mut(key).and_then(Value::as_array_mut) else {
        bail!("the book from mdBook has neither an \"items\" nor a \"sections\" list");
    };
    rewrite_items(items, starters)
}

fn rewrite_items(items: &mut [Value], starters: Option<&Starters>) -> anyhow::Result<()> {
    for item in items {
        // Separators (`"Separator"`) and part titles (`{"PartTitle": ...}`) have no content.
        let Some(chapter) = item.get_mut("Chapter") else {
            continue;
        };
        if let Some(starters) = starters {
            point_includes_at_pristine_starters(chapter, starters);
        }
        rewrite_chapter(chapter)?;
        if let Some(sub_items) = chapter.get_mut("sub_items").and_then(Value::as_array_mut) {
            rewrite_items(sub_items, starters)?;
        }
    }
    Ok(())
}

fn point_includes_at_pristine_starters(chapter: &mut Value, starters: &Starters) {
    let Some(content) = chapter.get("content").and_then(Value::as_str) else { return };
    // A page's includes are relative to its own folder inside the book's sources.
    let page = chapter.get("source_path").and_then(Value::as_str).unwrap_or("");
    let folder = starters.pages.join(Path::new(page).parent().unwrap_or(Path::new("")));
    let rewritten = crate::starters::rewrite_includes(content, &folder, &starters.kit, &starters.pristine);
    if rewritten != content {
        chapter["content"] = Value::String(rewritten);
    }
}

fn rewrite_chapter(chapter: &mut Value) -> anyhow::Result<()> {
    // Draft chapters have empty content; a chapter without a diagram is left byte for byte as it came.
    let Some(content) = chapter.get("content").and_then(Value::as_str) else {
        return Ok(());
    };
    match render_markdown(content) {
        Ok(rendered) => {
            if rendered != content {
                chapter["content"] = Value::String(rendered);
            }
            Ok(())
        }
        Err(error) => {
            let name = chapter.get("name").and_then(Value::as_str).unwrap_or("(unnamed)");
            let file = ["source_path", "path"]
                .iter()
                .find_map(|key| chapter.get(*key).and_then(Value::as_str))
                .map(|path| format!(" ({path})"))
                .unwrap_or_default();
            bail!("chapter {name:?}{file}: {error}")
        }
    }
}

/// A diagram that cannot be drawn, located both within the diagram (what its author counts) and
/// within the page (what an editor jumps to; after `{{#include}}` expansion, so it can drift).
#[derive(Debug)]
struct DiagramError {
    diagram_line: Option<usize>,
    page_line: usize,
    message: String,
}

impl fmt::Display for DiagramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.diagram_line {
            Some(line) => write!(f, "sequence diagram line {line} (line {} of the page): ", self.page_line)?,
            None => write!(f, "sequence diagram at line {} of the page: ", self.page_line)?,
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for DiagramError {}

/// An open code fence: its character, length and indentation, as CommonMark defines them.
struct Fence<'a> {
    marker: char,
    length: usize,
    indent: &'a str,
    info: &'a str,
}

impl<'a> Fence<'a> {
    fn open(line: &'a str) -> Option<Fence<'a>> {
        let line = line.trim_end_matches(['\n', '\r']);
        let rest = line.trim_start_matches(' ');
        let indent = &line[..line.len() - rest.len()];
        if indent.len() > 3 {
            return None; // an indented code block, not a fence
        }
        let marker = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let length = rest.len() - rest.trim_start_matches(marker).len();
        let info = rest[length..].trim();
        if length < 3 || (marker == '`' && info.contains('`')) {
            return None;
        }
        Some(Fence { marker, length, indent, info })
    }

    fn is_closed_by(&self, line: &str) -> bool {
        let line = line.trim_end_matches(['\n', '\r']);
        let rest = line.trim_start_matches(' ');
        let run = rest.len() - rest.trim_start_matches(self.marker).len();
        line.len() - rest.len() <= 3 && run >= self.length && rest[run..].trim().is_empty()
    }

    /// The language is the info string's first word; mdBook also splits it at commas (`rust,ignore`).
    fn is_sequence(&self) -> bool {
        self.info.split(|c: char| c.is_whitespace() || c == ',').next() == Some("sequence")
    }
}

fn render_page(markdown: &str) -> Result<String, DiagramError> {
    let mut output = String::with_capacity(markdown.len());
    let mut lines = markdown.split_inclusive('\n').enumerate();
    let mut diagrams = 0;
    while let Some((index, line)) = lines.next() {
        let Some(fence) = Fence::open(line) else {
            output.push_str(line);
            continue;
        };
        if !fence.is_sequence() {
            // Copy the whole block unread, so a fence shown inside it is never mistaken for a real one.
            output.push_str(line);
            for (_, inner) in lines.by_ref() {
                output.push_str(inner);
                if fence.is_closed_by(inner) {
                    break;
                }
            }
            continue;
        }
        let page_line = index + 1;
        let mut source = String::new();
        let mut closed = false;
        for (_, inner) in lines.by_ref() {
            if fence.is_closed_by(inner) {
                closed = true;
                break;
            }
            source.push_str(inner);
        }
        if !closed {
            return Err(DiagramError {
                diagram_line: None,
                page_line,
                message: format!(
                    "no closing {} before the end of the page",
                    fence.marker.to_string().repeat(fence.length)
                ),
            });
        }
        let diagram = parse::parse(&source).map_err(|error| DiagramError {
            diagram_line: Some(error.line),
            page_line: page_line + error.line,
            message: error.message,
        })?;
        diagrams += 1;
        // Markdown passes an HTML block through untouched only if it starts a line and stays on lines
        // of its own, hence the blank lines; the figure is one line so that it can keep the fence's
        // indentation (inside a list item) without any line of it becoming an indented code block.
        output.push('\n');
        output.push_str(fence.indent);
        output.push_str(&svg::figure(&diagram, &marker_id(&source, diagrams)));
        output.push_str("\n\n");
    }
    Ok(output)
}

/// Arrowhead markers are found by id, and ids are global to the HTML document, which for mdBook's
/// print page is every chapter at once. A hash of the diagram's text (stable, unlike std's hasher)
/// keeps different diagrams apart across pages; the ordinal keeps identical ones apart on one page.
fn marker_id(source: &str, ordinal: usize) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    for byte in source.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("seq{ordinal}-{:08x}", hash as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DIAGRAM: &str = "```sequence\nBrowser -> Server: GET /\nServer --> Browser: 200 OK\n```\n";

    fn marker_ids(html: &str) -> Vec<&str> {
        html.match_indices("<marker id=\"")
            .map(|(at, prefix)| {
                let rest = &html[at + prefix.len()..];
                &rest[..rest.find('"').unwrap_or(rest.len())]
            })
            .collect()
    }

    #[test]
    fn a_sequence_block_becomes_a_figure_between_blank_lines() {
        let page = format!("# Title\n\nBefore.\n{DIAGRAM}After.\n");
        let html = render_markdown(&page).expect("renders");
        let (before, rest) = html.split_once("<figure").expect("a figure");
        assert_eq!(before, "# Title\n\nBefore.\n\n");
        let (figure, after) = rest.split_once("</figure>").expect("closed");
        assert_eq!(after, "\n\nAfter.\n");
        assert!(!figure.contains('\n'));
        assert!(!html.contains("```"));
    }

    #[test]
    fn other_code_blocks_are_left_exactly_as_they_are() {
        let pages = [
            "```rust\nfn main() {}\n```\n",
            "```text\nA -> B: hi\n```\n",
            "````markdown\n```sequence\nA -> B: hi\n```\n````\n",
            "~~~markdown\n```sequence\nnot a diagram\n```\n~~~\n",
            "    ```sequence\n    indented code, not a fence\n    ```\n",
            "> ```sequence\n> in a block quote\n> ```\n",
            "```sequences\nnot our language\n```",
            "```rust\nunclosed, so code to the end\n```sequence\nA -> B\n",
            "no trailing newline and \r\nwindows line endings\r\n",
        ];
        for page in pages {
            assert_eq!(render_markdown(page).expect(page), page);
        }
    }

    #[test]
    fn fence_variants_are_recognised() {
        for page in [
            "~~~sequence\nA -> B: hi\n~~~\n",
            "```sequence title\nA -> B: hi\n```\n",
            "  ``` sequence\nA -> B: hi\n  ````\n",
            "```sequence\r\nA -> B: hi\r\n```\r\n",
            "````sequence\nA -> B: hi\n````",
        ] {
            let html = render_markdown(page).expect(page);
            assert!(html.contains("<figure"), "{page:?} gave {html:?}");
        }
        // Inside a list item the figure keeps the item's indentation.
        let html = render_markdown("1. Step:\n\n   ```sequence\n   A -> B: hi\n   ```\n").expect("renders");
        assert!(html.contains("\n\n   <figure"), "{html:?}");
    }

    #[test]
    fn every_diagram_on_a_page_has_its_own_markers() {
        let other = DIAGRAM.replace("GET /", "GET /health");
        let html = render_markdown(&format!("{DIAGRAM}\n{other}\n{DIAGRAM}")).expect("renders");
        let ids = marker_ids(&html);
        assert_eq!(ids.len(), 6, "two markers per diagram: {ids:?}");
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        for id in &ids {
            assert!(html.contains(&format!("url(#{id})")), "{id} is used");
        }
        // And rendering is deterministic, so rebuilding the book changes nothing.
        assert_eq!(render_markdown(DIAGRAM).expect("renders"), render_markdown(DIAGRAM).expect("renders"));
    }

    #[test]
    fn script_in_a_label_is_escaped() {
        let html = render_markdown("```sequence\nA -> B: <script>alert(1)</script>\n```\n").expect("renders");
        assert!(!html.contains("<script"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn errors_give_the_diagram_line_and_the_page_line() {
        let page = "# WebSockets\n\n```sequence\nA -> B: hi\n\nBrowser to Server\n```\n";
        let error = render_markdown(page).expect_err("bad diagram").to_string();
        assert!(
            error.starts_with(r#"sequence diagram line 3 (line 6 of the page): expected "A -> B: message""#),
            "{error}"
        );
        assert!(error.ends_with(r#"got "Browser to Server""#), "{error}");

        let error = render_markdown("text\n```sequence\nA -> B\n").expect_err("unclosed").to_string();
        assert_eq!(error, "sequence diagram at line 2 of the page: no closing ``` before the end of the page");
    }

    fn chapter(name: &str, content: &str, sub_items: Vec<Value>) -> Value {
        json!({"Chapter": {
            "name": name, "content": content, "number": [1], "sub_items": sub_items,
            "path": format!("{name}.md"), "source_path": format!("{name}.md"), "parent_names": []
        }})
    }

    fn run(input: &Value) -> anyhow::Result<Value> {
        let mut output = Vec::new();
        preprocess(input.to_string().as_bytes(), &mut output)?;
        Ok(serde_json::from_slice(&output)?)
    }

    #[test]
    fn the_json_walk_rewrites_nested_chapters_and_keeps_everything_else() {
        let draft = json!({"Chapter": {"name": "Draft", "content": "", "number": null, "sub_items": [],
            "path": null, "source_path": null, "parent_names": []}});
        let book = json!({"items": [
            chapter("intro", "no diagrams\n", vec![]),
            "Separator",
            {"PartTitle": "Part one"},
            chapter("outer", "", vec![chapter("inner", DIAGRAM, vec![chapter("deepest", DIAGRAM, vec![])]), draft]),
        ]});
        let context = json!({"root": "/book", "config": {"book": {"title": "Kit"}}, "renderer": "html",
            "mdbook_version": "0.5.4"});
        let output = run(&json!([context, book])).expect("preprocesses");

        let mut expected = book.clone();
        let inner = &mut expected["items"][3]["Chapter"]["sub_items"][0]["Chapter"];
        let figure = render_markdown(DIAGRAM).expect("renders");
        inner["content"] = json!(figure);
        inner["sub_items"][0]["Chapter"]["content"] = json!(figure);
        assert_eq!(output, expected);
        assert!(figure.contains("<figure"));
    }

    #[test]
    fn the_json_walk_accepts_mdbook_0_4_sections() {
        let book = json!({"sections": [chapter("old", DIAGRAM, vec![])], "__non_exhaustive": null});
        let output = run(&json!([{}, book])).expect("preprocesses");
        assert!(output["sections"][0]["Chapter"]["content"].as_str().is_some_and(|c| c.contains("<figure")));
        assert_eq!(output["__non_exhaustive"], Value::Null);
    }

    #[test]
    fn a_bad_diagram_fails_naming_the_chapter() {
        let bad = "```sequence\nA -> B: fine\nnote: nobody\n```\n";
        let book = json!({"items": [chapter("intro", "", vec![chapter("WebSockets", bad, vec![])])]});
        let error = run(&json!([{}, book])).expect_err("bad diagram").to_string();
        assert!(
            error.starts_with(r#"chapter "WebSockets" (WebSockets.md): sequence diagram line 2 (line 3 of the page): expected "note A: text""#),
            "{error}"
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for input in ["", "{}", "[1]", "[{}, {}]", "[{}, {\"items\": 3}]"] {
            let mut output = Vec::new();
            assert!(preprocess(input.as_bytes(), &mut output).is_err(), "{input:?}");
        }
    }

    #[test]
    fn supports_only_html() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let supports = |renderer: &str| run_preprocessor(&args(&["supports", renderer])).expect("answers");
        assert_eq!(supports("html"), ExitCode::SUCCESS);
        assert_eq!(supports("latex"), ExitCode::FAILURE);
        assert_eq!(supports("markdown"), ExitCode::FAILURE);
        let named = run_preprocessor(&args(&["mdbook-preprocessor", "supports", "html"])).expect("answers");
        assert_eq!(named, ExitCode::SUCCESS);
        assert!(run_preprocessor(&args(&["supports"])).is_err());
        assert!(run_preprocessor(&args(&["bogus", "html"])).is_err());
    }
}
