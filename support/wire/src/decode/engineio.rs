//! Engine.IO packets (protocol version 4), the layer under Socket.IO.
//!
//! A packet is one digit for its type, then its data: `0` OPEN (the session's settings, as JSON), `1` CLOSE,
//! `2` PING and `3` PONG (the server pings, the client answers; with the data `probe` while the client tests a
//! WebSocket before moving the session onto it), `4` MESSAGE (the data is the application's: a Socket.IO
//! packet), `5` UPGRADE, `6` NOOP. Over a WebSocket, each text message is one packet and each binary message a
//! binary MESSAGE. Over HTTP long-polling, one body carries several packets separated by the record separator
//! (`\x1e`), and a binary one is written `b` and base64.

use serde_json::Value;

use super::{Side, shown, socketio};

/// What separates the packets of a long-polling body.
pub const RECORD_SEPARATOR: char = '\x1e';

/// The packets of a long-polling body.
pub fn split_payload(body: &str) -> impl Iterator<Item = &str> {
    body.split(RECORD_SEPARATOR)
}

/// One Engine.IO packet, borrowed from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    Open(&'a str),
    Close,
    Ping(&'a str),
    Pong(&'a str),
    Message(&'a str),
    Upgrade,
    Noop,
}

/// Reads an Engine.IO packet from a WebSocket text message or one piece of a polling body.
pub fn parse(text: &str) -> Result<Packet<'_>, String> {
    let first = text.chars().next().ok_or("an empty Engine.IO packet")?;
    let data = &text[first.len_utf8()..];
    match first {
        '0' => Ok(Packet::Open(data)),
        '1' => Ok(Packet::Close),
        '2' => Ok(Packet::Ping(data)),
        '3' => Ok(Packet::Pong(data)),
        '4' => Ok(Packet::Message(data)),
        '5' => Ok(Packet::Upgrade),
        '6' => Ok(Packet::Noop),
        other => Err(format!("an Engine.IO packet starts with a type from 0 to 6, not {other:?}")),
    }
}

/// A packet in words, for the part of a line after `=`. A message's Socket.IO packet is described in its stead.
pub fn describe(text: &str, side: Side) -> String {
    match parse(text) {
        Ok(Packet::Open(settings)) => describe_open(settings),
        Ok(Packet::Close) => "engine.io CLOSE".to_owned(),
        Ok(Packet::Ping("probe")) => "engine.io PING probe (testing the WebSocket before the upgrade)".to_owned(),
        Ok(Packet::Pong("probe")) => "engine.io PONG probe (the WebSocket works)".to_owned(),
        Ok(Packet::Ping(data)) => format!("engine.io PING{}", with_data(data)),
        Ok(Packet::Pong(data)) => format!("engine.io PONG{}", with_data(data)),
        Ok(Packet::Message(data)) => match socketio::parse(data) {
            Ok(packet) => socketio::describe(&packet, side),
            Err(error) => format!("engine.io MESSAGE {} (not Socket.IO: {error})", shown(data)),
        },
        Ok(Packet::Upgrade) => "engine.io UPGRADE (the session moves onto this WebSocket)".to_owned(),
        Ok(Packet::Noop) => "engine.io NOOP".to_owned(),
        Err(error) => format!("not Engine.IO: {error}"),
    }
}

/// Like [`describe`], for a packet of a long-polling body, where a binary one is written `b` and base64.
pub fn describe_polled(text: &str, side: Side) -> String {
    match text.strip_prefix('b') {
        Some(base64) => format!("engine.io binary MESSAGE, {} bytes in base64", base64.len() / 4 * 3),
        None => describe(text, side),
    }
}

fn with_data(data: &str) -> String {
    if data.is_empty() { String::new() } else { format!(" {}", shown(data)) }
}

/// The OPEN packet's settings, the ones that say how the session behaves.
fn describe_open(settings: &str) -> String {
    let Ok(settings) = serde_json::from_str::<Value>(settings) else {
        return "engine.io OPEN (its settings are not JSON)".to_owned();
    };
    let mut parts = Vec::new();
    if let Some(sid) = settings.get("sid").and_then(Value::as_str) {
        parts.push(format!("sid {sid:?}"));
    }
    if let Some(upgrades) = settings.get("upgrades") {
        parts.push(format!("upgrades {upgrades}"));
    }
    if let Some(interval) = settings.get("pingInterval") {
        parts.push(format!("ping every {interval} ms"));
    }
    if let Some(timeout) = settings.get("pingTimeout") {
        parts.push(format!("timeout {timeout} ms"));
    }
    if let Some(max) = settings.get("maxPayload") {
        parts.push(format!("max payload {max} bytes"));
    }
    format!("engine.io OPEN {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_polling_body_splits_at_the_record_separator() {
        let body = "2\u{1e}42[\"chat message\",{\"text\":\"hi\"}]\u{1e}6";
        let packets: Vec<&str> = split_payload(body).collect();
        assert_eq!(packets, ["2", "42[\"chat message\",{\"text\":\"hi\"}]", "6"]);
        assert_eq!(split_payload("40").count(), 1);
    }

    #[test]
    fn every_type_in_words() {
        let open =
            r#"0{"sid":"s1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":16384}"#;
        assert_eq!(
            describe(open, Side::Server),
            r#"engine.io OPEN sid "s1", upgrades ["websocket"], ping every 25000 ms, timeout 20000 ms, max payload 16384 bytes"#
        );
        assert_eq!(describe("1", Side::Client), "engine.io CLOSE");
        assert_eq!(describe("2", Side::Server), "engine.io PING");
        assert_eq!(describe("3", Side::Client), "engine.io PONG");
        assert!(describe("2probe", Side::Client).starts_with("engine.io PING probe"));
        assert!(describe("3probe", Side::Server).starts_with("engine.io PONG probe"));
        assert!(describe("5", Side::Client).starts_with("engine.io UPGRADE"));
        assert_eq!(describe("6", Side::Server), "engine.io NOOP");
        assert_eq!(describe("42[\"x\",1]", Side::Client), "socket.io EVENT \"x\" 1");
        assert!(describe("4hello", Side::Client).starts_with("engine.io MESSAGE hello (not Socket.IO"));
        assert!(describe("x", Side::Client).starts_with("not Engine.IO"));
        assert!(describe("", Side::Client).contains("empty"));
        assert_eq!(describe_polled("bAQID", Side::Server), "engine.io binary MESSAGE, 3 bytes in base64");
    }

    #[test]
    fn parse_borrows_the_data() {
        assert_eq!(parse("4abc"), Ok(Packet::Message("abc")));
        assert_eq!(parse("0{}"), Ok(Packet::Open("{}")));
    }
}
