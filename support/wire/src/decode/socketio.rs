//! Socket.IO packets (protocol version 5), the text inside an Engine.IO message packet.
//!
//! A packet is written `<type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]`: one digit for its type,
//! for the binary types the number of binary attachments that follow it, the namespace when it is not `/`,
//! the acknowledgement id when the sender wants an answer, then the data. So `42["chat message",{"text":"hi"}]`
//! is an Engine.IO message (`4`) holding a Socket.IO EVENT (`2`) on `/`, and `43/admin,7[true]` holds an ACK of
//! the admin namespace answering the event that asked with id 7.

use serde_json::Value;

use super::{Side, shown};

/// The seven packet types, by the digit that starts a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::Connect,
        Kind::Disconnect,
        Kind::Event,
        Kind::Ack,
        Kind::ConnectError,
        Kind::BinaryEvent,
        Kind::BinaryAck,
    ];

    /// The name the protocol's documentation uses.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Connect => "CONNECT",
            Kind::Disconnect => "DISCONNECT",
            Kind::Event => "EVENT",
            Kind::Ack => "ACK",
            Kind::ConnectError => "CONNECT_ERROR",
            Kind::BinaryEvent => "BINARY_EVENT",
            Kind::BinaryAck => "BINARY_ACK",
        }
    }

    /// The digit a packet of this type starts with.
    pub fn digit(self) -> char {
        let index = Kind::ALL.iter().position(|kind| *kind == self).unwrap_or_default();
        char::from(b'0' + index as u8)
    }

    fn is_binary(self) -> bool {
        matches!(self, Kind::BinaryEvent | Kind::BinaryAck)
    }
}

/// One Socket.IO packet, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub kind: Kind,
    /// How many binary attachments follow (binary types only).
    pub attachments: Option<usize>,
    /// `/` unless the packet names another.
    pub namespace: String,
    /// The acknowledgement id: on an EVENT, the sender asks for an answer; on an ACK, the event it answers.
    pub id: Option<u64>,
    pub data: Option<Value>,
}

impl Packet {
    /// An EVENT's name: the first element of its data.
    pub fn event_name(&self) -> Option<&str> {
        match self.kind {
            Kind::Event | Kind::BinaryEvent => self.data.as_ref()?.get(0)?.as_str(),
            _ => None,
        }
    }

    /// An EVENT's arguments (after its name), or an ACK's.
    pub fn args(&self) -> &[Value] {
        let all = self.data.as_ref().and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        match self.kind {
            Kind::Event | Kind::BinaryEvent => all.get(1..).unwrap_or_default(),
            _ => all,
        }
    }
}

/// Reads a Socket.IO packet, or says what is wrong with it.
pub fn parse(text: &str) -> Result<Packet, String> {
    let first = text.chars().next().ok_or("an empty Socket.IO packet")?;
    let kind = first
        .to_digit(10)
        .and_then(|digit| Kind::ALL.get(digit as usize).copied())
        .ok_or_else(|| format!("a Socket.IO packet starts with a type from 0 to 6, not {first:?}"))?;
    let mut rest = &text[1..];

    let mut attachments = None;
    if kind.is_binary() {
        let (count, after) =
            rest.split_once('-').ok_or("a binary packet says how many attachments follow, then '-'")?;
        attachments = Some(count.parse().map_err(|_| format!("not a number of attachments: {count:?}"))?);
        rest = after;
    }

    let mut namespace = "/".to_owned();
    if rest.starts_with('/') {
        let (name, after) = rest.split_once(',').unwrap_or((rest, ""));
        namespace = name.to_owned();
        rest = after;
    }

    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = match digits {
        0 => None,
        _ => Some(rest[..digits].parse().map_err(|_| format!("an acknowledgement id too large: {}", &rest[..digits]))?),
    };
    rest = &rest[digits..];

    let data = match rest {
        "" => None,
        json => Some(serde_json::from_str::<Value>(json).map_err(|error| format!("its data is not JSON ({error})"))?),
    };
    let packet = Packet { kind, attachments, namespace, id, data };
    check(&packet)?;
    Ok(packet)
}

/// What the protocol requires of each type's data.
fn check(packet: &Packet) -> Result<(), String> {
    let data = packet.data.as_ref();
    let fine = match packet.kind {
        Kind::Event | Kind::BinaryEvent => packet.event_name().is_some(),
        Kind::Ack | Kind::BinaryAck => data.is_some_and(Value::is_array) && packet.id.is_some(),
        Kind::Connect => data.is_none_or(Value::is_object),
        Kind::Disconnect => data.is_none(),
        Kind::ConnectError => true,
    };
    if fine {
        Ok(())
    } else {
        let expected = match packet.kind {
            Kind::Event | Kind::BinaryEvent => "an array that starts with the event's name",
            Kind::Ack | Kind::BinaryAck => "an id, then an array of answers",
            Kind::Connect => "an object as its data, or no data",
            _ => "no data",
        };
        Err(format!("a Socket.IO {} must have {expected}", packet.kind.name()))
    }
}

/// Writes a packet the way [`parse`] reads it.
pub fn encode(kind: Kind, namespace: &str, id: Option<u64>, data: Option<&Value>) -> String {
    let mut text = String::from(kind.digit());
    if namespace != "/" {
        text.push_str(namespace);
        text.push(',');
    }
    if let Some(id) = id {
        text.push_str(&id.to_string());
    }
    if let Some(data) = data {
        text.push_str(&data.to_string());
    }
    text
}

/// A packet in words, for the line after `=`; `side` is who sent it.
pub fn describe(packet: &Packet, side: Side) -> String {
    let on = if packet.namespace == "/" { String::new() } else { format!(" on {}", packet.namespace) };
    let mut words = format!("socket.io {}{on}", packet.kind.name());
    match packet.kind {
        Kind::Connect => {
            let sid = packet.data.as_ref().and_then(|data| data.get("sid")).and_then(Value::as_str);
            match (side, &packet.data, sid) {
                (Side::Server, _, Some(sid)) => words.push_str(&format!(" accepted, sid {sid:?}")),
                (_, Some(data), _) => words.push_str(&format!(" with auth {}", shown(&data.to_string()))),
                (_, None, _) => {}
            }
            if packet.namespace == "/" {
                words.push_str(" (namespace /)");
            }
        }
        Kind::Disconnect => {}
        Kind::Event | Kind::BinaryEvent => {
            words.push_str(&format!(" {:?}", packet.event_name().unwrap_or_default()));
            words.push_str(&shown_args(packet.args()));
            if let Some(id) = packet.id {
                words.push_str(&format!(", asks for ack {id}"));
            }
        }
        Kind::Ack | Kind::BinaryAck => {
            words.push_str(&format!(" {}", packet.id.unwrap_or_default()));
            words.push_str(&shown_args(packet.args()));
        }
        Kind::ConnectError => {
            let message = packet.data.as_ref().map(|data| match data.get("message").and_then(Value::as_str) {
                Some(message) => format!("{message:?}"),
                None => data.to_string(),
            });
            words.push_str(&format!(": {}", shown(&message.unwrap_or_default())));
        }
    }
    if let Some(count) = packet.attachments {
        words.push_str(&format!(
            " ({count} binary attachment{} follow{})",
            super::plural(count),
            if count == 1 { "s" } else { "" }
        ));
    }
    words
}

/// Arguments as compact JSON after a space each, cut if long.
fn shown_args(args: &[Value]) -> String {
    args.iter().map(|arg| format!(" {}", shown(&arg.to_string()))).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_event_with_its_name_and_arguments() {
        let packet = parse(r#"2["chat message",{"text":"hi"},3]"#).unwrap();
        assert_eq!(packet.kind, Kind::Event);
        assert_eq!(packet.namespace, "/");
        assert_eq!(packet.id, None);
        assert_eq!(packet.event_name(), Some("chat message"));
        assert_eq!(packet.args(), [json!({"text": "hi"}), json!(3)]);
        assert_eq!(describe(&packet, Side::Client), r#"socket.io EVENT "chat message" {"text":"hi"} 3"#);
    }

    #[test]
    fn ack_ids_and_namespaces() {
        let packet = parse(r#"2/admin,12["kick","bob"]"#).unwrap();
        assert_eq!((packet.namespace.as_str(), packet.id), ("/admin", Some(12)));
        assert_eq!(describe(&packet, Side::Server), r#"socket.io EVENT on /admin "kick" "bob", asks for ack 12"#);

        let packet = parse(r#"3/admin,12[{"ok":true}]"#).unwrap();
        assert_eq!((packet.kind, packet.id), (Kind::Ack, Some(12)));
        assert_eq!(describe(&packet, Side::Client), r#"socket.io ACK on /admin 12 {"ok":true}"#);

        let packet = parse(r#"07["x"]"#).unwrap_err();
        assert!(packet.contains("CONNECT"), "{packet}");
        assert_eq!(parse("1/admin,").unwrap().namespace, "/admin");
        assert_eq!(parse("1/admin").unwrap().namespace, "/admin");
    }

    #[test]
    fn connect_both_ways_and_its_error() {
        let ask = parse(r#"0{"name":"ann"}"#).unwrap();
        assert_eq!(describe(&ask, Side::Client), r#"socket.io CONNECT with auth {"name":"ann"} (namespace /)"#);
        let answer = parse(r#"0{"sid":"x1"}"#).unwrap();
        assert_eq!(describe(&answer, Side::Server), r#"socket.io CONNECT accepted, sid "x1" (namespace /)"#);
        let refused = parse(r#"4/admin,{"message":"not allowed"}"#).unwrap();
        assert_eq!(describe(&refused, Side::Server), r#"socket.io CONNECT_ERROR on /admin: "not allowed""#);
        assert_eq!(describe(&parse("1").unwrap(), Side::Client), "socket.io DISCONNECT");
    }

    #[test]
    fn binary_packets_say_how_many_attachments_follow() {
        let packet = parse(r#"51-["upload",{"_placeholder":true,"num":0}]"#).unwrap();
        assert_eq!(packet.attachments, Some(1));
        assert!(describe(&packet, Side::Client).ends_with("(1 binary attachment follows)"));
        let packet = parse(r#"62-/admin,4[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#).unwrap();
        assert_eq!((packet.kind, packet.id, packet.attachments), (Kind::BinaryAck, Some(4), Some(2)));
    }

    #[test]
    fn broken_packets_are_refused_with_a_reason() {
        for (text, reason) in [
            ("", "empty"),
            ("9", "from 0 to 6"),
            ("2[1,2]", "event's name"),
            ("2[\"x\"", "not JSON"),
            ("3[1]", "an id"),
            ("5[\"x\"]", "attachments"),
            ("299999999999999999999999[\"x\"]", "too large"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(reason), "{text:?}: {error}");
        }
    }

    #[test]
    fn encoding_is_the_other_way_round() {
        let data = json!(["chat message", {"text": "hi"}]);
        assert_eq!(encode(Kind::Event, "/", Some(3), Some(&data)), r#"23["chat message",{"text":"hi"}]"#);
        assert_eq!(encode(Kind::Connect, "/admin", None, Some(&json!({}))), "0/admin,{}");
        let packet = parse(&encode(Kind::Ack, "/admin", Some(5), Some(&json!([1])))).unwrap();
        assert_eq!((packet.namespace.as_str(), packet.id), ("/admin", Some(5)));
    }
}
