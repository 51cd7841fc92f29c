//! The command line: which tool, and its options. Read by hand, so that the kit needs no argument parser.
//!
//! A mistake in the arguments is one line that says what was wrong and where the help is; the caller exits
//! with 2, the usual code for "used wrongly", and keeps 1 for what goes wrong at run time.

use serde_json::Value;

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Print this help text, and stop.
    Help(&'static str),
    Spy(SpyOptions),
    Talk(TalkOptions),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpyOptions {
    /// The port of the server on 127.0.0.1.
    pub to: u16,
    /// The port the spy listens on; 0 for any free one.
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TalkOptions {
    pub url: Url,
    /// Speak Socket.IO (over Engine.IO's WebSocket transport) rather than raw WebSocket messages.
    pub socket_io: bool,
    /// The Socket.IO handshake's auth payload.
    pub auth: Option<Value>,
}

/// The parts of a `ws://` or `http://` URL the tools need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// The path and query, starting with `/`.
    pub path: String,
}

pub const HELP: &str = "\
wire: see what goes over the wire between a browser (or any client) and your server

usage:
  wire spy --to PORT [--port PORT]             a proxy that shows the traffic it passes on
  wire talk ws://HOST:PORT/PATH                a WebSocket client: lines in, messages out
  wire talk --socket-io http://HOST:PORT [--auth JSON]
                                               a Socket.IO client, showing every packet

  wire spy --help, wire talk --help            more about each

Run them through cargo from the kit's folder: cargo run -p kit-wire -- spy --to 3000
";

pub const SPY_HELP: &str = "\
wire spy: a proxy on 127.0.0.1 that passes every byte on unchanged and shows what they mean

usage: wire spy --to PORT [--port PORT]

  --to PORT     the port your server listens on, on 127.0.0.1 (the one it printed)
  --port PORT   the port the spy listens on; 0 (the default) lets the system pick a free one

The spy prints its URL: open that one in the browser instead of your server's. Then every connection gets
a number (#1, #2, ...) and every line an arrow: → from the client to the server, ← back. It shows HTTP
requests and responses (the start line, the headers that matter here, the body), and after a
`101 Switching Protocols`, each WebSocket frame, with its Engine.IO and Socket.IO packets decoded.

The page's own address is then the spy's, so a kit server refuses its WebSocket and Socket.IO requests
as coming from another origin, unless you start the server with --allow-origin and the spy's URL, as in
  cargo run -p ex04-socket-io -- --port 3000 --allow-origin http://127.0.0.1:4000
  cargo run -p kit-wire -- spy --to 3000 --port 4000
";

pub const TALK_HELP: &str = "\
wire talk: a terminal client that shows every message it receives

usage:
  wire talk ws://HOST:PORT/PATH
      a raw WebSocket: each line you type is sent as a text message; every message that arrives is
      printed (a binary one as its length, a close with its code and reason). End of input (Ctrl-D)
      closes the connection politely.

  wire talk --socket-io http://HOST:PORT[/NAMESPACE] [--auth JSON]
      a Socket.IO client on Engine.IO's WebSocket transport, written by hand so that you see the
      protocol: it opens ws://HOST:PORT/socket.io/?EIO=4&transport=websocket, reads the OPEN packet,
      sends CONNECT (40, with --auth's JSON object, as in --auth '{\"name\":\"ann\"}'), answers each
      PING (2) with a PONG (3), and prints every packet both ways, decoded. Then type:

        emit EVENT [JSON...]   send an event:  emit chat message {\"text\":\"hi\"}
        ack EVENT [JSON...]    the same, asking for an acknowledgement; its answer is printed
        reply ID [JSON...]     answer an event of the server's that asked for acknowledgement ID
        raw TEXT               send TEXT as it is, one Engine.IO packet:  raw 42[\"chat message\",\"hi\"]
        help                   this list; end of input (Ctrl-D) disconnects

      EVENT is everything before the first {, [ or \" (so it may have spaces), or a quoted JSON string:
      emit \"add\" 1 2 when the first argument is a number, true, false or null. The arguments are JSON
      values separated by spaces; a line that is not JSON is refused and nothing is sent.
";

/// Reads the arguments after the program's name. An error starts with the tool's name (`spy: ...`), so that
/// `wire ` before it makes a whole sentence.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((first, rest)) = args.split_first() else { return Ok(Command::Help(HELP)) };
    match first.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help(HELP)),
        "spy" if wants_help(rest) => Ok(Command::Help(SPY_HELP)),
        "talk" if wants_help(rest) => Ok(Command::Help(TALK_HELP)),
        "spy" => parse_spy(rest).map(Command::Spy).map_err(|error| format!("spy: {error} (see wire spy --help)")),
        "talk" => parse_talk(rest).map(Command::Talk).map_err(|error| format!("talk: {error} (see wire talk --help)")),
        other => Err(format!("{other}: no such tool; the tools are spy and talk (see wire --help)")),
    }
}

fn wants_help(args: &[String]) -> bool {
    args.iter().any(|arg| arg == "-h" || arg == "--help")
}

/// Options as `--name value` or `--name=value`, and the other arguments, in order.
struct Options<'a> {
    args: std::slice::Iter<'a, String>,
}

enum Arg<'a> {
    Option { name: &'a str, inline: Option<&'a str> },
    Plain(&'a str),
}

impl<'a> Options<'a> {
    fn next(&mut self) -> Option<Arg<'a>> {
        let arg = self.args.next()?;
        Some(match arg.strip_prefix("--") {
            Some(option) => match option.split_once('=') {
                Some((name, value)) => Arg::Option { name, inline: Some(value) },
                None => Arg::Option { name: option, inline: None },
            },
            None => Arg::Plain(arg),
        })
    }

    fn value(&mut self, name: &str, inline: Option<&'a str>, example: &str) -> Result<&'a str, String> {
        match inline {
            Some(value) => Ok(value),
            None => match self.args.next() {
                Some(value) if !value.starts_with("--") => Ok(value),
                _ => Err(format!("--{name} needs a value, as in --{name} {example}")),
            },
        }
    }
}

fn parse_spy(args: &[String]) -> Result<SpyOptions, String> {
    let mut options = Options { args: args.iter() };
    let (mut to, mut port) = (None, 0);
    while let Some(arg) = options.next() {
        match arg {
            Arg::Option { name: "to", inline } => {
                to = Some(parse_port("to", options.value("to", inline, "3000")?, false)?)
            }
            Arg::Option { name: "port", inline } => {
                port = parse_port("port", options.value("port", inline, "4000")?, true)?
            }
            Arg::Option { name, .. } => return Err(format!("no option --{name}; the options are --to and --port")),
            Arg::Plain(arg) => return Err(format!("unexpected {arg:?}; give the server's port as --to PORT")),
        }
    }
    let to = to.ok_or("which server? give its port, as in --to 3000")?;
    Ok(SpyOptions { to, port })
}

fn parse_port(name: &str, value: &str, zero_allowed: bool) -> Result<u16, String> {
    let lowest = if zero_allowed { 0 } else { 1 };
    match value.parse::<u16>() {
        Ok(port) if port >= lowest => Ok(port),
        _ => Err(format!("--{name} takes a port from {lowest} to 65535, not {value:?}")),
    }
}

fn parse_talk(args: &[String]) -> Result<TalkOptions, String> {
    let mut options = Options { args: args.iter() };
    let (mut url, mut socket_io, mut auth) = (None, false, None);
    while let Some(arg) = options.next() {
        match arg {
            Arg::Option { name: "socket-io", inline: None } => socket_io = true,
            Arg::Option { name: "auth", inline } => {
                let text = options.value("auth", inline, "'{\"name\":\"ann\"}'")?;
                match serde_json::from_str::<Value>(text) {
                    Ok(value) if value.is_object() => auth = Some(value),
                    _ => {
                        return Err(format!(
                            "--auth takes a JSON object, as in --auth '{{\"name\":\"ann\"}}', not {text:?}"
                        ));
                    }
                }
            }
            Arg::Option { name, .. } => {
                return Err(format!("no option --{name}; the options are --socket-io and --auth"));
            }
            Arg::Plain(text) if url.is_none() => url = Some(text),
            Arg::Plain(text) => return Err(format!("one URL only; {text:?} is one too many")),
        }
    }
    let url = url.ok_or("which server? give its URL, as in ws://127.0.0.1:3000/ws")?;
    if auth.is_some() && !socket_io {
        return Err("--auth is Socket.IO's handshake: add --socket-io".to_owned());
    }
    let url = parse_url(url, socket_io)?;
    Ok(TalkOptions { url, socket_io, auth })
}

/// Reads `ws://HOST[:PORT][/PATH]`, or for Socket.IO `http://...` (or `ws://...`, the same server).
pub fn parse_url(text: &str, socket_io: bool) -> Result<Url, String> {
    let expected = if socket_io {
        "http://HOST:PORT, as in http://127.0.0.1:3000"
    } else {
        "ws://HOST:PORT/PATH, as in ws://127.0.0.1:3000/ws"
    };
    let (scheme, rest) = text.split_once("://").ok_or_else(|| format!("{text:?} is not a URL; expected {expected}"))?;
    match scheme.to_ascii_lowercase().as_str() {
        "ws" => {}
        "http" if socket_io => {}
        "https" | "wss" => {
            return Err(format!(
                "{scheme}:// needs TLS, which wire does not speak; the kit's servers are plain http:// and ws://"
            ));
        }
        _ => return Err(format!("{text:?} is not a URL this tool opens; expected {expected}")),
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(index) => (&rest[..index], &rest[index..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => {
            let port = port.parse::<u16>().ok().filter(|port| *port > 0);
            (host, port.ok_or_else(|| format!("{text:?} has a bad port; a port is from 1 to 65535"))?)
        }
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("{text:?} has no host; expected {expected}"));
    }
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_owned() };
    Ok(Url { host: host.to_owned(), port, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Result<Command, String> {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        parse(&args)
    }

    #[test]
    fn spy_options_in_both_spellings() {
        assert_eq!(parsed("spy --to 3000"), Ok(Command::Spy(SpyOptions { to: 3000, port: 0 })));
        assert_eq!(parsed("spy --port=4000 --to=3000"), Ok(Command::Spy(SpyOptions { to: 3000, port: 4000 })));
        assert_eq!(parsed("spy --help"), Ok(Command::Help(SPY_HELP)));
        assert_eq!(parsed(""), Ok(Command::Help(HELP)));
    }

    #[test]
    fn spy_mistakes_say_what_is_wrong() {
        for (line, words) in [
            ("spy", "--to 3000"),
            ("spy --to", "needs a value"),
            ("spy --to 0", "from 1 to 65535"),
            ("spy --to 70000", "from 1 to 65535"),
            ("spy --to x", "not \"x\""),
            ("spy --to 3000 --port -1", "from 0 to 65535"),
            ("spy --to 3000 --verbose", "no option --verbose"),
            ("spy 3000", "--to PORT"),
            ("listen", "listen: no such tool"),
        ] {
            let error = parsed(line).unwrap_err();
            assert!(error.contains(words), "{line:?}: {error}");
            assert!(!error.contains('\n'), "one line: {error}");
        }
    }

    #[test]
    fn talk_urls() {
        let Ok(Command::Talk(options)) = parsed("talk ws://127.0.0.1:3000/ws") else { panic!() };
        assert_eq!(options.url, Url { host: "127.0.0.1".to_owned(), port: 3000, path: "/ws".to_owned() });
        assert!(!options.socket_io);
        let Ok(Command::Talk(options)) = parsed("talk --socket-io http://localhost:3000 --auth {\"name\":\"ann\"}")
        else {
            panic!()
        };
        assert_eq!((options.url.port, options.url.path.as_str()), (3000, "/"));
        assert_eq!(options.auth, Some(serde_json::json!({"name": "ann"})));
        assert_eq!(parse_url("ws://example.com", false).map(|url| url.port), Ok(80));
        assert_eq!(parse_url("http://h:1/admin", true).map(|url| url.path), Ok("/admin".to_owned()));
        assert_eq!(parse_url("ws://h:1?x=1", false).map(|url| url.path), Ok("/?x=1".to_owned()));
    }

    #[test]
    fn talk_mistakes_say_what_is_wrong() {
        for (line, words) in [
            ("talk", "give its URL"),
            ("talk 127.0.0.1:3000", "not a URL"),
            ("talk http://127.0.0.1:3000", "not a URL this tool opens"),
            ("talk wss://example.com", "TLS"),
            ("talk ws://127.0.0.1:99999/ws", "bad port"),
            ("talk ws://:3000/ws", "no host"),
            ("talk ws://a/ ws://b/", "one too many"),
            ("talk --socket-io http://a --auth name", "JSON object"),
            ("talk ws://a/ --auth {}", "add --socket-io"),
        ] {
            let error = parsed(line).unwrap_err();
            assert!(error.contains(words), "{line:?}: {error}");
        }
    }
}
