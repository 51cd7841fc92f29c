//! What a typed line means to `wire talk --socket-io`.
//!
//! The rule for an event's name is made for the kit's events, whose names have spaces (`chat message`):
//! the name is everything before the first `{`, `[` or `"`, where JSON arguments start, unless the name
//! itself is written as a JSON string (`"add" 1 2`), which is how to pass arguments that start otherwise.

use serde_json::Value;

/// One thing to do, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Send an event; with `ack`, ask the server for an acknowledgement.
    Emit {
        event: String,
        args: Vec<Value>,
        ack: bool,
    },
    /// Answer an event of the server's that asked for the acknowledgement `id`.
    Reply {
        id: u64,
        args: Vec<Value>,
    },
    /// Send this text as it is, as one Engine.IO packet.
    Raw(String),
    Help,
}

/// Reads one typed line; `Ok(None)` for a blank one.
pub fn parse(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim_start();
    let command = match word {
        "emit" | "ack" => {
            let (event, args) = event_and_args(rest)?;
            Command::Emit { event, args, ack: word == "ack" }
        }
        "reply" => {
            let (id, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let id = id
                .parse()
                .map_err(|_| format!("reply takes the acknowledgement id first, as in reply 3 \"ok\", not {id:?}"))?;
            Command::Reply { id, args: json_values(args)? }
        }
        "raw" if !rest.is_empty() => Command::Raw(rest.to_owned()),
        "raw" => return Err("raw takes the packet to send, as in raw 42[\"chat message\",\"hi\"]".to_owned()),
        "help" | "?" => Command::Help,
        other => return Err(format!("{other:?} is not a command: emit, ack, reply, raw or help")),
    };
    Ok(Some(command))
}

/// `chat message {"text":"hi"}` → `("chat message", [{"text":"hi"}])`; `"add" 1 2` → `("add", [1, 2])`.
fn event_and_args(text: &str) -> Result<(String, Vec<Value>), String> {
    let (event, args) = if text.starts_with('"') {
        let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        let name = match values.next() {
            Some(Ok(Value::String(name))) => name,
            _ => return Err(format!("the event's name is not a JSON string: {text}")),
        };
        (name, &text[values.byte_offset()..])
    } else {
        let start = text.find(['{', '[', '"']).unwrap_or(text.len());
        (text[..start].trim().to_owned(), &text[start..])
    };
    if event.is_empty() {
        return Err("which event? as in emit chat message {\"text\":\"hi\"}".to_owned());
    }
    Ok((event, json_values(args)?))
}

/// Zero or more JSON values separated by spaces.
fn json_values(text: &str) -> Result<Vec<Value>, String> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .map_err(|error| format!("not JSON ({error}): nothing sent"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn emit(event: &str, args: Vec<Value>, ack: bool) -> Option<Command> {
        Some(Command::Emit { event: event.to_owned(), args, ack })
    }

    #[test]
    fn event_names_may_have_spaces() {
        assert_eq!(
            parse(r#"emit chat message {"text":"hi"}"#),
            Ok(emit("chat message", vec![json!({"text": "hi"})], false))
        );
        assert_eq!(
            parse(r#"ack chat message "hi" [1, 2]"#),
            Ok(emit("chat message", vec![json!("hi"), json!([1, 2])], true))
        );
        assert_eq!(parse("emit typing"), Ok(emit("typing", vec![], false)));
        assert_eq!(parse(r#"emit "add" 1 2 true"#), Ok(emit("add", vec![json!(1), json!(2), json!(true)], false)));
        assert_eq!(
            parse(r#"emit "chat message"{"text":"x"}"#),
            Ok(emit("chat message", vec![json!({"text": "x"})], false))
        );
    }

    #[test]
    fn replies_raw_packets_and_blank_lines() {
        assert_eq!(parse("reply 7 {\"ok\":true}"), Ok(Some(Command::Reply { id: 7, args: vec![json!({"ok": true})] })));
        assert_eq!(parse("reply 7"), Ok(Some(Command::Reply { id: 7, args: vec![] })));
        assert_eq!(parse("raw 2"), Ok(Some(Command::Raw("2".to_owned()))));
        assert_eq!(parse("   "), Ok(None));
        assert_eq!(parse("help"), Ok(Some(Command::Help)));
    }

    #[test]
    fn mistakes_are_refused_with_a_reason() {
        for (line, words) in [
            (r#"emit chat message {"text":}"#, "not JSON"),
            (r#"emit chat message {"text":"hi"} oops"#, "not JSON"),
            (r#"emit {"text":"hi"}"#, "which event"),
            ("emit", "which event"),
            ("emit \"unfinished", "not a JSON string"),
            ("reply x", "acknowledgement id"),
            ("raw", "raw takes"),
            ("hello there", "not a command"),
        ] {
            let error = parse(line).unwrap_err();
            assert!(error.contains(words), "{line:?}: {error}");
        }
    }
}
