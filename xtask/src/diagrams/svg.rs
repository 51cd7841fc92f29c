//! Lays out a parsed [`Diagram`] and draws it as one line of inline SVG inside a `<figure>`.
//!
//! Everything is drawn with `currentColor`, so the diagram takes the text colour of whichever mdBook
//! theme is active, light or dark; boxes are `currentColor` at low opacity for the same reason.

use super::parse::{Diagram, Step};
use crate::xml::escape;

const CHAR_WIDTH: f64 = 7.5; // a fair average for the book's 14px sans-serif; nothing here can measure text
const PAD: f64 = 10.0; // between text and the edge of its box
const MARGIN: f64 = 12.0; // around the whole drawing
const BOX_HEIGHT: f64 = 32.0; // participant boxes
const MIN_BOX_WIDTH: f64 = 60.0;
const MIN_GAP: f64 = 120.0; // between lifelines
const ROW: f64 = 36.0; // height of one message, note or divider
const LOOP_WIDTH: f64 = 30.0; // how far a self-message loops out to the right
const NOTE_OVERHANG: f64 = 20.0; // how far a spanning note reaches past its outer lifelines
const DIVIDER_TAIL: f64 = 40.0; // the least length of line either side of a divider's label

/// A note box sits over a lifeline; without an opaque background the dashed line would show through
/// its text. mdBook's themes all define `--bg`. A viewer that knows no CSS variables (an image
/// viewer, a converter) drops the style and keeps `fill="none"`, rather than painting the box black.
const OPAQUE: &str = r#"fill="none" style="fill:var(--bg,none)""#;
const TRANSLUCENT: &str = r#"fill="currentColor" fill-opacity="0.08" stroke="currentColor""#;

/// Draws the figure. `id` must be unique in the page: the arrowhead markers are referenced by it.
///
/// mdBook 0.5 re-serialises HTML blocks and lowercases attribute names on the way (`viewbox`,
/// `refx`); that is harmless, as a browser's HTML parser restores SVG's camelCase names.
pub(super) fn figure(diagram: &Diagram, id: &str) -> String {
    let layout = Layout::new(diagram);
    let mut svg = String::new();
    svg.push_str(&format!(
        r#"<defs><marker id="{id}-solid" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0L10,5L0,10z" fill="currentColor"/></marker><marker id="{id}-open" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0L10,5L0,10" fill="none" stroke="currentColor" stroke-width="1.5"/></marker></defs>"#
    ));

    let top = MARGIN;
    let mut y = top + BOX_HEIGHT + ROW / 2.0;
    let mut rows = String::new();
    for step in &diagram.steps {
        rows.push_str(&layout.step(step, y, id));
        y += ROW;
    }
    let bottom = y - ROW / 2.0 + 8.0;
    for (column, name) in diagram.participants.iter().enumerate() {
        let x = layout.x(column);
        svg.push_str(&format!(
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-opacity="0.6" stroke-dasharray="5 4"/>"#,
            num(x),
            num(top + BOX_HEIGHT),
            num(x),
            num(bottom)
        ));
        for box_top in [top, bottom] {
            svg.push_str(&layout.participant_box(column, name, box_top));
        }
    }
    svg.push_str(&rows);

    let (width, height) = (layout.right - layout.left + 2.0 * MARGIN, bottom + BOX_HEIGHT + MARGIN);
    let caption = match &diagram.title {
        Some(title) if !title.is_empty() => format!("<figcaption>{}</figcaption>", escape(title)),
        _ => String::new(),
    };
    format!(
        r#"<figure class="sequence-diagram"><svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="{x} 0 {w} {h}" role="img" aria-label="{label}" style="max-width:100%;height:auto" font-size="14">{body}</svg>{caption}</figure>"#,
        w = num(width),
        h = num(height),
        x = num(layout.left - MARGIN),
        label = escape(&description(diagram)),
        body = svg,
    )
}

/// Horizontal geometry, worked out before anything is drawn: evenly spaced lifelines, far enough apart
/// for the widest label, and the left/right extent of everything so the viewBox fits it exactly.
struct Layout {
    gap: f64,
    box_widths: Vec<f64>,
    left: f64,
    right: f64,
}

impl Layout {
    fn new(diagram: &Diagram) -> Layout {
        let box_widths: Vec<f64> =
            diagram.participants.iter().map(|name| (text_width(name) + 2.0 * PAD).max(MIN_BOX_WIDTH)).collect();
        let last_column = box_widths.len().saturating_sub(1);

        let mut gap = MIN_GAP;
        for pair in box_widths.windows(2) {
            gap = gap.max((pair[0] + pair[1]) / 2.0 + 2.0 * PAD);
        }
        for step in &diagram.steps {
            let needed = match step {
                Step::Message { from, to, label, .. } if from == to => {
                    // Only a loop with a lifeline to its right needs room; the last one grows the margin.
                    if *from < last_column { LOOP_WIDTH + text_width(label) + 2.0 * PAD } else { 0.0 }
                }
                Step::Message { from, to, label, .. } => (text_width(label) + 2.0 * PAD) / from.abs_diff(*to) as f64,
                Step::Note { first, last, text } if first == last => text_width(text) + 3.0 * PAD,
                Step::Note { first, last, text } => {
                    (text_width(text) + 2.0 * PAD - 2.0 * NOTE_OVERHANG) / (last - first) as f64
                }
                Step::Divider { .. } => 0.0,
            };
            gap = gap.max(needed);
        }

        let mut layout = Layout { gap, box_widths, left: 0.0, right: 0.0 };
        let (mut left, mut right) = (f64::MAX, f64::MIN);
        let mut include = |from: f64, to: f64| {
            left = left.min(from);
            right = right.max(to);
        };
        for (column, width) in layout.box_widths.iter().enumerate() {
            include(layout.x(column) - width / 2.0, layout.x(column) + width / 2.0);
        }
        for step in &diagram.steps {
            match step {
                Step::Message { from, to, label, .. } if from == to => {
                    let x = layout.x(*from);
                    include(x, x + LOOP_WIDTH + PAD / 2.0 + text_width(label));
                }
                Step::Message { .. } => {}
                Step::Note { first, last, text } => {
                    let (x, width) = layout.note(*first, *last, text);
                    include(x, x + width);
                }
                Step::Divider { label } => {
                    let divider = layout.divider(label);
                    include(divider.start, divider.end);
                }
            }
        }
        (layout.left, layout.right) = (left, right);
        layout
    }

    fn x(&self, column: usize) -> f64 {
        column as f64 * self.gap
    }

    fn centre(&self) -> f64 {
        self.x(self.box_widths.len().saturating_sub(1)) / 2.0
    }

    /// Left edge and width of a note: over one lifeline it is centred on it, over two it reaches a
    /// little past both, and it always grows to fit its text.
    fn note(&self, first: usize, last: usize, text: &str) -> (f64, f64) {
        let text_box = text_width(text) + 2.0 * PAD;
        let (centre, span) = if first == last {
            (self.x(first), text_box.max(MIN_BOX_WIDTH))
        } else {
            let (a, b) = (self.x(first), self.x(last));
            ((a + b) / 2.0, (b - a + 2.0 * NOTE_OVERHANG).max(text_box))
        };
        (centre - span / 2.0, span)
    }

    /// A divider crosses every participant box, and reaches well past its label if that is wider.
    /// It stops at the boxes otherwise: a self-message's label may stick out further right, and the
    /// line need not cross it.
    fn divider(&self, label: &str) -> Divider {
        let half_label = if label.is_empty() { 0.0 } else { text_width(label) / 2.0 + PAD };
        let first_box = self.box_widths.first().map_or(0.0, |width| width / 2.0);
        let last_box = self.box_widths.last().map_or(0.0, |width| width / 2.0);
        let last_x = self.x(self.box_widths.len().saturating_sub(1));
        let centre = self.centre();
        Divider {
            start: (-first_box).min(centre - half_label - DIVIDER_TAIL),
            label_start: centre - half_label,
            label_end: centre + half_label,
            end: (last_x + last_box).max(centre + half_label + DIVIDER_TAIL),
        }
    }

    fn participant_box(&self, column: usize, name: &str, top: f64) -> String {
        let (x, width) = (self.x(column), self.box_widths[column]);
        format!(
            r#"<rect x="{}" y="{}" width="{}" height="{}" rx="4" {TRANSLUCENT}/>{}"#,
            num(x - width / 2.0),
            num(top),
            num(width),
            num(BOX_HEIGHT),
            text(x, top + BOX_HEIGHT / 2.0 + 5.0, "middle", name)
        )
    }

    /// One row, whose vertical middle is `y`.
    fn step(&self, step: &Step, y: f64, id: &str) -> String {
        match step {
            Step::Message { from, to, label, dashed } => {
                let (marker, dash) = if *dashed { ("open", r#" stroke-dasharray="6 4""#) } else { ("solid", "") };
                let stroke = format!(
                    r#"fill="none" stroke="currentColor" stroke-width="1.5"{dash} marker-end="url(#{id}-{marker})""#
                );
                let (x1, x2) = (self.x(*from), self.x(*to));
                if from == to {
                    // A small loop out to the right and back, its label beside it.
                    let (y1, y2) = (y - 8.0, y + 8.0);
                    format!(
                        r#"<path d="M{},{}H{}V{}H{}" {stroke}/>{}"#,
                        num(x1),
                        num(y1),
                        num(x1 + LOOP_WIDTH),
                        num(y2),
                        num(x1),
                        text(x1 + LOOP_WIDTH + PAD / 2.0, y + 5.0, "start", label)
                    )
                } else {
                    let arrow_y = y + 8.0;
                    format!(
                        r#"<line x1="{}" y1="{}" x2="{}" y2="{}" {stroke}/>{}"#,
                        num(x1),
                        num(arrow_y),
                        num(x2),
                        num(arrow_y),
                        text((x1 + x2) / 2.0, arrow_y - 6.0, "middle", label)
                    )
                }
            }
            Step::Note { first, last, text: note } => {
                let (x, width) = self.note(*first, *last, note);
                let (top, height) = (y - 13.0, 26.0);
                let rect = |paint: &str| {
                    format!(
                        r#"<rect x="{}" y="{}" width="{}" height="{}" rx="2" {paint}/>"#,
                        num(x),
                        num(top),
                        num(width),
                        num(height)
                    )
                };
                format!("{}{}{}", rect(OPAQUE), rect(TRANSLUCENT), text(x + width / 2.0, y + 5.0, "middle", note))
            }
            Step::Divider { label } => {
                // The line is drawn in two pieces, leaving a gap for the label rather than painting over it.
                let divider = self.divider(label);
                let segment = |from: f64, to: f64| {
                    format!(
                        r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-width="1.5"/>"#,
                        num(from),
                        num(y),
                        num(to),
                        num(y)
                    )
                };
                let mut drawn = segment(divider.start, divider.label_start);
                drawn.push_str(&segment(divider.label_end, divider.end));
                if !label.is_empty() {
                    drawn.push_str(&text(self.centre(), y + 5.0, "middle", label));
                }
                drawn
            }
        }
    }
}

/// The horizontal line of a divider, with a gap for its label.
struct Divider {
    start: f64,
    label_start: f64,
    label_end: f64,
    end: f64,
}

fn text(x: f64, baseline: f64, anchor: &str, content: &str) -> String {
    if content.is_empty() {
        return String::new();
    }
    format!(
        r#"<text x="{}" y="{}" text-anchor="{anchor}" fill="currentColor">{}</text>"#,
        num(x),
        num(baseline),
        escape(content)
    )
}

/// What a screen reader says instead of the picture: the whole diagram, in order.
fn description(diagram: &Diagram) -> String {
    let names = &diagram.participants;
    let mut parts = vec![match &diagram.title {
        Some(title) if !title.is_empty() => format!("Sequence diagram: {title}"),
        _ => format!("Sequence diagram between {}", names.join(", ")),
    }];
    for step in &diagram.steps {
        parts.push(match step {
            Step::Message { from, to, label, dashed } => {
                let verb = if *dashed { "replies to" } else { "to" };
                format!("{} {verb} {}: {label}", names[*from], names[*to])
            }
            Step::Note { first, last, text } if first == last => {
                format!("note over {}: {text}", names[*first])
            }
            Step::Note { first, last, text } => {
                format!("note over {} and {}: {text}", names[*first], names[*last])
            }
            Step::Divider { label } => format!("then: {label}"),
        });
    }
    parts.join(". ")
}

fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR_WIDTH
}

/// Coordinates with at most one decimal: enough for a screen, and short.
fn num(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == rounded.trunc() { format!("{}", rounded as i64) } else { format!("{rounded:.1}") }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    fn draw(source: &str) -> String {
        figure(&parse(source).expect("valid diagram"), "seq-test")
    }

    #[test]
    fn figure_is_one_line_with_caption_and_label() {
        let html = draw("title: HTTP & you\nBrowser -> Server: GET /health\nServer --> Browser: 200 OK");
        assert!(!html.contains('\n'), "Markdown must see one HTML line");
        assert!(html.starts_with(r#"<figure class="sequence-diagram"><svg "#));
        assert!(html.ends_with("</svg><figcaption>HTTP &amp; you</figcaption></figure>"));
        assert!(html.contains(r#"aria-label="Sequence diagram: HTTP &amp; you. Browser to Server: GET /health. Server replies to Browser: 200 OK""#));
        assert!(html.contains(r#"marker-end="url(#seq-test-solid)""#));
        assert!(html.contains(r#"stroke-dasharray="6 4" marker-end="url(#seq-test-open)""#));
    }

    #[test]
    fn no_title_means_no_caption() {
        let html = draw("A -> B: hi");
        assert!(!html.contains("figcaption"));
        assert!(html.contains(r#"aria-label="Sequence diagram between A, B. A to B: hi""#));
    }

    #[test]
    fn text_is_escaped_everywhere() {
        let html = draw("title: <b>\"x\"</b>\n<script> -> B: <script>alert('x')</script>\nnote B: a & b");
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("a &amp; b"));
    }

    #[test]
    fn columns_widen_for_long_labels() {
        let short = Layout::new(&parse("A -> B: hi").expect("valid"));
        assert_eq!(short.gap, MIN_GAP);
        let label = "x".repeat(40);
        let long = Layout::new(&parse(&format!("A -> B: {label}\nB -> C: hi")).expect("valid"));
        assert!(long.gap >= text_width(&label), "gap {} too small", long.gap);
        // Spread over two gaps, the same label needs only half the room.
        let spread = Layout::new(&parse(&format!("participants: A, B, C\nA -> C: {label}")).expect("valid"));
        assert!(spread.gap < long.gap);
    }

    #[test]
    fn the_view_box_fits_everything() {
        let layout = Layout::new(&parse("A -> A: a long self message on the last column").expect("valid"));
        assert!(layout.right >= LOOP_WIDTH + text_width("a long self message on the last column"));
        let layout = Layout::new(&parse("A -> B: hi\n== a very long divider label that is wide ==").expect("valid"));
        assert!(layout.right - layout.left >= text_width("a very long divider label that is wide"));
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(-3.24), "-3.2");
        assert_eq!(num(7.56), "7.6");
    }
}
