//! WebSocket frames (RFC 6455, section 5), read from one side of a connection as the bytes come.
//!
//! A frame is two bytes (FIN, three reserved bits and the opcode; MASK and a 7-bit length), then 2 or 8 more
//! bytes of length when the 7 bits say 126 or 127, then a 4-byte masking key if MASK is set, then the payload,
//! XORed with that key. Clients mask every frame and servers none: a browser's frames are masked so that a
//! page cannot put chosen bytes on the wire to confuse a proxy in between. A message is one frame, or a first
//! frame without FIN, continuations, and a last one with FIN; control frames (close, ping, pong) may come
//! between the fragments.

use super::{Side, bytes, engineio, plural, shown, shown_bytes};

/// The most bytes of a payload kept for showing and decoding; the rest is counted.
const KEEP_PAYLOAD: usize = 64 * 1024;

const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// One frame, its payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    /// The three reserved bits; RSV1 is set on a frame compressed with permessage-deflate.
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    /// The payload's length, as the header says.
    pub length: u64,
    /// The payload, unmasked: all of it, or its first [`KEEP_PAYLOAD`] bytes.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The opcode's name, as RFC 6455 spells it.
    pub fn opcode_name(&self) -> &'static str {
        match self.opcode {
            CONTINUATION => "continuation",
            TEXT => "text",
            BINARY => "binary",
            CLOSE => "close",
            PING => "ping",
            PONG => "pong",
            _ => "reserved",
        }
    }

    fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }
}

/// A frame whose header has been read and whose payload is arriving.
struct Partial {
    frame: Frame,
    key: [u8; 4],
    received: u64,
}

/// Reads the frames of one side of a connection, chunk by chunk: a header or a payload split across reads is
/// put back together.
#[derive(Default)]
pub struct FrameReader {
    header: Vec<u8>,
    current: Option<Partial>,
    broken: bool,
}

impl FrameReader {
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    /// Whether a frame could not be read: what comes after it cannot be framed either.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Reads `input`, and returns the frames it completed (or why it stopped).
    pub fn push(&mut self, mut input: &[u8]) -> Vec<Result<Frame, String>> {
        let mut frames = Vec::new();
        while !self.broken {
            if self.current.is_none() {
                loop {
                    let needed = header_size(&self.header);
                    if self.header.len() >= needed {
                        break;
                    }
                    if input.is_empty() {
                        return frames;
                    }
                    let taken = (needed - self.header.len()).min(input.len());
                    self.header.extend_from_slice(&input[..taken]);
                    input = &input[taken..];
                }
                match parse_header(&self.header) {
                    Ok(partial) => self.current = Some(partial),
                    Err(error) => {
                        self.broken = true;
                        frames.push(Err(error));
                        return frames;
                    }
                }
                self.header.clear();
            }
            let Some(partial) = &mut self.current else { break };
            let remaining = partial.frame.length - partial.received;
            let taken = usize::try_from(remaining).unwrap_or(usize::MAX).min(input.len());
            for (offset, byte) in input[..taken].iter().enumerate() {
                let position = partial.received + offset as u64;
                if position < KEEP_PAYLOAD as u64 {
                    partial.frame.payload.push(byte ^ partial.key[(position % 4) as usize]);
                }
            }
            partial.received += taken as u64;
            input = &input[taken..];
            if partial.received < partial.frame.length {
                return frames;
            }
            if let Some(done) = self.current.take() {
                frames.push(Ok(done.frame));
            }
        }
        frames
    }
}

/// How long a header is, judging from the bytes of it there are so far (at least 2 are needed to know).
fn header_size(header: &[u8]) -> usize {
    let Some(second) = header.get(1) else { return 2 };
    let extended = match second & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let key = if second & 0x80 != 0 { 4 } else { 0 };
    2 + extended + key
}

fn parse_header(header: &[u8]) -> Result<Partial, String> {
    let (first, second) = (header[0], header[1]);
    let fin = first & 0x80 != 0;
    let rsv = (first >> 4) & 0x7;
    let opcode = first & 0x0F;
    let masked = second & 0x80 != 0;
    let (length, rest) = match second & 0x7F {
        126 => (u64::from(u16::from_be_bytes([header[2], header[3]])), &header[4..]),
        127 => {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&header[2..10]);
            (u64::from_be_bytes(bytes), &header[10..])
        }
        short => (u64::from(short), &header[2..]),
    };
    if length >> 63 != 0 {
        return Err("a 64-bit length with its top bit set".to_owned());
    }
    if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
        return Err(format!("the reserved opcode {opcode:#x}"));
    }
    if opcode & 0x8 != 0 && (!fin || length > 125) {
        return Err("a control frame must be one frame of at most 125 bytes".to_owned());
    }
    let key = if masked { [rest[0], rest[1], rest[2], rest[3]] } else { [0; 4] };
    let payload = Vec::with_capacity(usize::try_from(length).unwrap_or(KEEP_PAYLOAD).min(KEEP_PAYLOAD));
    Ok(Partial { frame: Frame { fin, rsv, opcode, masked, length, payload }, key, received: 0 })
}

/// A text or binary message that came in several frames, put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: bool,
    pub payload: Vec<u8>,
    pub length: u64,
    pub fragments: usize,
}

/// Puts fragmented messages back together. A message of one frame is described by its frame alone.
#[derive(Default)]
pub struct Messages {
    assembling: Option<Message>,
}

impl Messages {
    /// Takes the next frame; returns the message it completes, if it is the last of several.
    pub fn push(&mut self, frame: &Frame) -> Option<Message> {
        if frame.is_control() {
            return None;
        }
        if frame.opcode != CONTINUATION {
            self.assembling = (!frame.fin).then(|| Message {
                text: frame.opcode == TEXT,
                payload: Vec::new(),
                length: 0,
                fragments: 0,
            });
        }
        let message = self.assembling.as_mut()?;
        let room = KEEP_PAYLOAD.saturating_sub(message.payload.len());
        message.payload.extend(frame.payload.iter().take(room));
        message.length += frame.length;
        message.fragments += 1;
        if frame.fin { self.assembling.take() } else { None }
    }
}

/// One frame in words: its opcode, flags and length, and its payload decoded where it is one message.
pub fn describe_frame(frame: &Frame, side: Side, engine_io: bool) -> String {
    let mut flags = vec![if frame.fin { "fin" } else { "not fin: more fragments follow" }];
    if frame.rsv & 0x4 != 0 {
        flags.push("rsv1: compressed");
    }
    flags.push(if frame.masked { "masked" } else { "unmasked" });
    let length = bytes(frame.length);
    let mut line = format!("ws {} [{}, {length}]", frame.opcode_name(), flags.join(", "));
    let cut = if (frame.payload.len() as u64) < frame.length { " (only its start kept)" } else { "" };
    match frame.opcode {
        _ if frame.rsv & 0x4 != 0 => line.push_str("  (compressed with permessage-deflate: not decoded)"),
        TEXT | BINARY if frame.fin => {
            line.push_str(&describe_payload(frame.opcode == TEXT, &frame.payload, side, engine_io));
            line.push_str(cut);
        }
        TEXT | CONTINUATION => {
            if !frame.payload.is_empty() {
                line.push_str(&format!("  {}", shown_bytes(&frame.payload)));
            }
        }
        BINARY => line.push_str(&format!("  {}", hex(&frame.payload))),
        CLOSE => line.push_str(&format!("  {}", describe_close(&frame.payload))),
        _ => {
            if !frame.payload.is_empty() {
                line.push_str(&format!("  {}", shown_bytes(&frame.payload)));
            }
        }
    }
    line
}

/// A message put back together from its fragments, in words.
pub fn describe_message(message: &Message, side: Side, engine_io: bool) -> String {
    let kind = if message.text { "text" } else { "binary" };
    let count = message.fragments;
    format!(
        "ws {kind} message of {count} fragment{}, {}{}",
        plural(count),
        bytes(message.length),
        describe_payload(message.text, &message.payload, side, engine_io)
    )
}

/// A whole message's payload: shown, and decoded as an Engine.IO packet on an Engine.IO WebSocket.
fn describe_payload(text: bool, payload: &[u8], side: Side, engine_io: bool) -> String {
    match (text, std::str::from_utf8(payload)) {
        (true, Ok(text)) if engine_io => format!("  {}  = {}", shown(text), engineio::describe(text, side)),
        (true, Ok(text)) => format!("  {}", shown(text)),
        (true, Err(_)) => "  (not UTF-8: a text message must be)".to_owned(),
        (false, _) if engine_io => format!("  {}  = engine.io binary MESSAGE", hex(payload)),
        (false, _) => format!("  {}", hex(payload)),
    }
}

/// A close frame's payload: a 2-byte code, then a reason in UTF-8 (RFC 6455, section 5.5.1).
fn describe_close(payload: &[u8]) -> String {
    match payload {
        [] => "no code".to_owned(),
        [_] => "a 1-byte payload: not a close code".to_owned(),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            let mut words = format!("code {code} ({})", close_code_name(code));
            if !reason.is_empty() {
                words.push_str(&format!(", reason {:?}", String::from_utf8_lossy(reason)));
            }
            words
        }
    }
}

/// What a close code means (RFC 6455, section 7.4.1).
pub fn close_code_name(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 => "no code given",
        1006 => "closed without a close frame",
        1007 => "invalid payload data",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "an extension is missing",
        1011 => "the server met an error",
        3000..=3999 => "for libraries and frameworks",
        4000..=4999 => "for the application",
        _ => "unassigned",
    }
}

/// The first bytes of a binary payload in hexadecimal.
fn hex(payload: &[u8]) -> String {
    let mut text: Vec<String> = payload.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
    if payload.len() > 16 {
        text.push("…".to_owned());
    }
    text.join(" ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A masked frame with FIN set, as a client sends it.
    pub(crate) fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        frame(true, opcode, Some(KEY), payload)
    }

    fn frame(fin: bool, opcode: u8, key: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![if fin { 0x80 } else { 0 } | opcode];
        let mask_bit = if key.is_some() { 0x80 } else { 0 };
        match payload.len() {
            length @ 0..=125 => bytes.push(mask_bit | length as u8),
            length @ 126..=0xFFFF => {
                bytes.push(mask_bit | 126);
                bytes.extend_from_slice(&(length as u16).to_be_bytes());
            }
            length => {
                bytes.push(mask_bit | 127);
                bytes.extend_from_slice(&(length as u64).to_be_bytes());
            }
        }
        match key {
            Some(key) => {
                bytes.extend_from_slice(&key);
                bytes.extend(payload.iter().enumerate().map(|(i, byte)| byte ^ key[i % 4]));
            }
            None => bytes.extend_from_slice(payload),
        }
        bytes
    }

    fn read_all(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut reader = FrameReader::new();
        let frames = chunks.iter().flat_map(|chunk| reader.push(chunk)).collect::<Result<Vec<_>, _>>();
        frames.unwrap()
    }

    #[test]
    fn the_rfc_examples() {
        // RFC 6455, section 5.7: "Hello", unmasked then masked.
        let frames = read_all(&[b"\x81\x05\x48\x65\x6c\x6c\x6f", b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"]);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].payload, b"Hello");
        assert_eq!((frames[1].payload.as_slice(), frames[1].masked), (b"Hello".as_slice(), true));
        assert_eq!(describe_frame(&frames[1], Side::Client, false), "ws text [fin, masked, 5 bytes]  Hello");
    }

    #[test]
    fn sixteen_and_sixty_four_bit_lengths() {
        let medium = vec![b'a'; 300];
        let large = vec![b'b'; 70_000];
        let mut bytes = frame(true, BINARY, None, &medium);
        assert_eq!(&bytes[1..4], &[126, 0x01, 0x2c]);
        bytes.extend(frame(true, BINARY, Some(KEY), &large));
        let frames = read_all(&[&bytes]);
        assert_eq!(frames[0].length, 300);
        assert_eq!(frames[0].payload, medium);
        assert_eq!(frames[1].length, 70_000);
        assert_eq!(frames[1].payload.len(), KEEP_PAYLOAD, "only the start of a large payload is kept");
        assert!(frames[1].payload.iter().all(|byte| *byte == b'b'), "the kept part is unmasked right");
        assert!(describe_frame(&frames[1], Side::Client, false).ends_with("… (only its start kept)"));
    }

    #[test]
    fn any_split_across_reads_gives_the_same_frames() {
        let mut bytes = masked_frame(TEXT, b"42[\"chat message\",{\"text\":\"hi\"}]");
        bytes.extend(frame(true, PING, None, b""));
        bytes.extend(frame(true, TEXT, None, &[b'x'; 200]));
        let whole = read_all(&[&bytes]);
        assert_eq!(whole.len(), 3);
        for split in 0..bytes.len() {
            let (first, second) = bytes.split_at(split);
            assert_eq!(read_all(&[first, second]), whole, "split at {split}");
        }
        let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(read_all(&one_by_one), whole);
    }

    #[test]
    fn fragments_are_put_back_together_around_a_control_frame() {
        let mut bytes = frame(false, TEXT, Some(KEY), b"42[\"chat ");
        bytes.extend(frame(true, PING, Some(KEY), b"hi"));
        bytes.extend(frame(false, CONTINUATION, Some(KEY), b"message\","));
        bytes.extend(frame(true, CONTINUATION, Some(KEY), b"{}]"));
        let frames = read_all(&[&bytes]);
        let mut messages = Messages::default();
        let assembled: Vec<Message> = frames.iter().filter_map(|frame| messages.push(frame)).collect();
        assert_eq!(assembled.len(), 1);
        assert_eq!(assembled[0].payload, b"42[\"chat message\",{}]");
        assert_eq!(
            describe_message(&assembled[0], Side::Client, true),
            "ws text message of 3 fragments, 21 bytes  42[\"chat message\",{}]  = socket.io EVENT \"chat message\" {}"
        );
        assert_eq!(
            describe_frame(&frames[0], Side::Client, true),
            "ws text [not fin: more fragments follow, masked, 9 bytes]  42[\"chat "
        );
        assert_eq!(describe_frame(&frames[1], Side::Client, true), "ws ping [fin, masked, 2 bytes]  hi");
    }

    #[test]
    fn close_frames_say_their_code_and_reason() {
        let mut payload = 1000u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        let frames = read_all(&[&frame(true, CLOSE, None, &payload), &frame(true, CLOSE, None, b"")]);
        assert_eq!(
            describe_frame(&frames[0], Side::Server, false),
            "ws close [fin, unmasked, 5 bytes]  code 1000 (normal closure), reason \"bye\""
        );
        assert_eq!(describe_frame(&frames[1], Side::Server, false), "ws close [fin, unmasked, 0 bytes]  no code");
    }

    #[test]
    fn broken_frames_stop_the_reader() {
        let mut reader = FrameReader::new();
        let results = reader.push(&[0x83, 0x00, 0x81, 0x00]);
        assert!(matches!(&results[..], [Err(error)] if error.contains("reserved opcode")), "{results:?}");
        assert!(reader.is_broken());
        assert!(reader.push(&[0x81, 0x00]).is_empty());
        let mut reader = FrameReader::new();
        let results = reader.push(&[0x09, 0x00]);
        assert!(matches!(&results[..], [Err(error)] if error.contains("control frame")), "{results:?}");
    }

    #[test]
    fn binary_and_compressed_payloads() {
        let frames = read_all(&[&frame(true, BINARY, None, &[1, 2, 3]), &[0xC1, 0x01, 0x00]]);
        assert_eq!(
            describe_frame(&frames[0], Side::Server, true),
            "ws binary [fin, unmasked, 3 bytes]  01 02 03  = engine.io binary MESSAGE"
        );
        assert!(describe_frame(&frames[1], Side::Server, true).contains("compressed with permessage-deflate"));
    }
}
