//! Progress bars for long work. They draw only on a terminal; in CI and in pipes they stay silent.

use indicatif::{ProgressBar, ProgressStyle};

pub fn bar(length: u64, prefix: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_prefix(prefix);
    bar
}
