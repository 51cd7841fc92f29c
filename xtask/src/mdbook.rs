//! The book, built by the pinned mdBook inside this very program.
//!
//! The book must build the same everywhere, so the kit pins one mdBook version, and a fresh machine needs
//! nothing but the Rust toolchain. mdBook 0.5 is a set of library crates (`mdbook-driver` loads and renders a
//! book), and the xtask links them at the pinned version: they share serde, regex and toml with the rest of
//! the kit, so nothing is compiled twice, and there is no second program to install or to find on `PATH`
//! (a `cargo install mdbook` compiled a second copy of everything: 70 s on two cores, measured).
//!
//! The book's own preprocessor, which draws the sequence diagrams and quotes the starters as shipped, runs
//! in this process too. `book.toml` names it as a command (`cargo run ... mdbook-preprocessor`), so that a
//! plain `mdbook build` works as well; here the command is replaced by the same code, called directly.

use std::path::Path;

use anyhow::{Context, Result};
use mdbook_driver::MDBook;
use mdbook_preprocessor::book::Book;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

/// The mdBook version the book is written for, as `xtask/Cargo.toml` pins it.
pub const VERSION: &str = mdbook_preprocessor::MDBOOK_VERSION;

/// The name `book.toml` gives the kit's preprocessor (its `[preprocessor.sequence-diagrams]` table).
const PREPROCESSOR: &str = "sequence-diagrams";

/// Builds the book in `book_dir` into `destination`. On failure, the error says what mdBook could not do.
pub fn build(book_dir: &Path, destination: &Path) -> Result<()> {
    let mut book = MDBook::load(book_dir).map_err(|error| {
        anyhow::anyhow!("{error:#}").context(format!("mdBook {VERSION} cannot load the book in {}", book_dir.display()))
    })?;
    book.config.build.build_dir = destination.to_path_buf();
    // Put in the place that `book.toml` gives the command (before `links`), not added after the others.
    if book.config.contains_key(&format!("preprocessor.{PREPROCESSOR}")) {
        book.with_preprocessor(KitPreprocessor);
    }
    book.build().map_err(|error| anyhow::anyhow!("{error:#}")).context("mdBook could not build the book")
}

/// `xtask mdbook-preprocessor`, without a process of its own.
struct KitPreprocessor;

impl Preprocessor for KitPreprocessor {
    fn name(&self) -> &str {
        PREPROCESSOR
    }

    fn run(&self, context: &PreprocessorContext, book: Book) -> Result<Book> {
        // The diagrams work on the book as the command protocol hands it over: its JSON.
        let mut json = serde_json::to_value(&book).context("cannot turn the book into JSON")?;
        crate::diagrams::rewrite(&mut json, Some(&context.root))?;
        serde_json::from_value(json).context("the book with its diagrams drawn is no longer a book")
    }

    fn supports_renderer(&self, renderer: &str) -> Result<bool> {
        Ok(crate::diagrams::supports(renderer))
    }
}
