//! RFC 6455 WebSocket framing for the server side of our GraphQL sockets.
//!
//! Writing is ours, so that a per-stream task can write pre-built frames
//! straight to idle sockets with a non-blocking write: an event's payload
//! is rendered once and shared by thousands of sockets, each of which only
//! needs the few header bytes from [`write_header`] in front of it, rather
//! than a sink per socket that copies and frames every message itself.
//! Reading needs no such sharing, and is where untrusted bytes come in:
//! the [`Decoder`] hands them to tungstenite, which turns them into whole
//! client messages and enforces the protocol's rules and our size limit.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use tungstenite::protocol::{Message, Role, WebSocketConfig, WebSocketContext};

/// A complete message from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text message (its UTF-8 already checked), or a binary one: both carry protocol JSON for us.
    Text(Bytes),
    Binary(Bytes),
    /// A ping: answer with a pong carrying the same payload.
    Ping(Bytes),
    Pong,
    /// A close frame, with its code and reason if it had them.
    Close(Option<(u16, String)>),
}

/// Why the client's bytes are not a valid WebSocket stream: the connection is closed with `close_code()`.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum FrameError {
    /// Violates RFC 6455 (unmasked client frame, reserved bits or opcodes, fragmented or oversized control frame, continuation without a start, a new data frame inside a fragmented message, bad close payload (1 byte, or an invalid close code, or a non-UTF-8 reason), a 64-bit length with the top bit set).
    Protocol(&'static str),
    /// A message (all fragments together) or frame larger than the limit.
    TooBig,
    /// A text message that is not UTF-8.
    NotUtf8,
}

impl FrameError {
    /// 1002, 1009, 1007 respectively.
    pub fn close_code(&self) -> u16 {
        match self {
            FrameError::Protocol(_) => 1002,
            FrameError::TooBig => 1009,
            FrameError::NotUtf8 => 1007,
        }
    }

    /// A short reason for the close frame.
    pub fn reason(&self) -> &'static str {
        match self {
            FrameError::Protocol(reason) => reason,
            FrameError::TooBig => "message too big",
            FrameError::NotUtf8 => "text message is not UTF-8",
        }
    }
}

/// Server frames: FIN set, unmasked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}

const FIN_BIT: u8 = 0x80;
/// The 7-bit length values that announce a 16- or 64-bit length instead.
const LENGTH_IN_NEXT_2_BYTES: u8 = 126;
const LENGTH_IN_NEXT_8_BYTES: u8 = 127;
const MAX_CONTROL_PAYLOAD: u8 = 125;
/// 125 bytes of close payload, less the 2 of the code.
const MAX_CLOSE_REASON_BYTES: usize = 123;

/// The header of a server frame of `opcode` carrying `payload_len` bytes: 2, 4 or 10 bytes, written into `out`; returns how many.
pub fn write_header(opcode: Opcode, payload_len: usize, out: &mut [u8; 10]) -> usize {
    out[0] = FIN_BIT | opcode as u8;
    if let Ok(short) = u8::try_from(payload_len)
        && short <= MAX_CONTROL_PAYLOAD
    {
        out[1] = short;
        2
    } else if let Ok(medium) = u16::try_from(payload_len) {
        out[1] = LENGTH_IN_NEXT_2_BYTES;
        out[2..4].copy_from_slice(&medium.to_be_bytes());
        4
    } else {
        out[1] = LENGTH_IN_NEXT_8_BYTES;
        // usize is at most 64 bits on every target Rust supports, so this never saturates.
        let long = u64::try_from(payload_len).unwrap_or(u64::MAX);
        out[2..10].copy_from_slice(&long.to_be_bytes());
        10
    }
}

/// A whole server frame (header + payload) as one buffer.
pub fn encode(opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut header = [0; 10];
    let header_len = write_header(opcode, payload.len(), &mut header);
    let mut frame = Vec::with_capacity(header_len + payload.len());
    frame.extend_from_slice(&header[..header_len]);
    frame.extend_from_slice(payload);
    frame
}

/// A close frame's payload-carrying frame: code (big-endian) + reason, the reason cut to at most 123 bytes on a char boundary.
pub fn close(code: u16, reason: &str) -> Vec<u8> {
    let reason = &reason[..reason.floor_char_boundary(MAX_CLOSE_REASON_BYTES)];
    let mut payload = Vec::with_capacity(2 + reason.len());
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(reason.as_bytes());
    encode(Opcode::Close, &payload)
}

/// Reassembles client messages from the bytes read off a socket, with
/// tungstenite doing the parsing: its [`WebSocketContext`] is the most
/// used RFC 6455 implementation in Rust, so the code that reads what
/// strangers send is not ours to get wrong. It checks what a server must
/// (masking, reserved bits and opcodes, control frame rules,
/// fragmentation, UTF-8, close codes) and our size limit, from a frame's
/// header before its payload arrives.
///
/// The context only reads here. What it would write by itself (a pong for
/// a ping, the echo of a close) is dropped: the connection answers those
/// through its own [`crate::http::ws::socket::Writer`], which the pumps
/// share.
pub struct Decoder {
    context: WebSocketContext,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").finish_non_exhaustive()
    }
}

/// Bytes tungstenite reads from its own buffer in one go. Client messages
/// are small; the buffer grows for a bigger one. Kept small because every
/// open socket has one: 10,000 widgets hold 10,000 of them.
const CONTEXT_READ_BYTES: usize = 512;

impl Decoder {
    pub fn new(max_message_bytes: usize) -> Self {
        let config = WebSocketConfig::default()
            .read_buffer_size(CONTEXT_READ_BYTES)
            .max_message_size(Some(max_message_bytes))
            .max_frame_size(Some(max_message_bytes))
            .accept_unmasked_frames(false);
        Decoder {
            context: WebSocketContext::new(Role::Server, Some(config)),
        }
    }

    /// Takes the next complete message out of `buf` (bytes read so far,
    /// consumed from the front), or `Ok(None)` until `buf` has completed
    /// one.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, FrameError> {
        match self.context.read(&mut Feed(buf)) {
            Ok(message) => Ok(incoming(message)),
            Err(tungstenite::Error::Io(error)) if error.kind() == io::ErrorKind::WouldBlock => {
                Ok(None)
            }
            Err(error) => Err(frame_error(&error)),
        }
    }
}

/// What the context reads from: the bytes read off the socket so far
/// ("would block" once they are used up). What it writes is dropped.
struct Feed<'a>(&'a mut BytesMut);

impl io::Read for Feed<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = out.len().min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0.advance(n);
        Ok(n)
    }
}

impl io::Write for Feed<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A message as the connection sees it; `None` for a raw frame, which a
/// context that only reads never yields.
fn incoming(message: Message) -> Option<Incoming> {
    Some(match message {
        Message::Text(text) => Incoming::Text(Bytes::from(text)),
        Message::Binary(bytes) => Incoming::Binary(bytes),
        Message::Ping(payload) => Incoming::Ping(payload),
        Message::Pong(_) => Incoming::Pong,
        Message::Close(frame) => Incoming::Close(
            frame.map(|frame| (u16::from(frame.code), frame.reason.as_str().to_owned())),
        ),
        Message::Frame(_) => return None,
    })
}

/// Why the bytes are refused, with the close code RFC 6455 gives it.
fn frame_error(error: &tungstenite::Error) -> FrameError {
    use tungstenite::error::{CapacityError, ProtocolError as P};
    match error {
        tungstenite::Error::Capacity(CapacityError::MessageTooLong { .. }) => FrameError::TooBig,
        tungstenite::Error::Utf8(_) => FrameError::NotUtf8,
        tungstenite::Error::Protocol(protocol) => FrameError::Protocol(match protocol {
            P::NonZeroReservedBits => "reserved bits set without an extension",
            P::UnmaskedFrameFromClient => "client frame not masked",
            P::FragmentedControlFrame => "fragmented control frame",
            P::ControlFrameTooBig => "control frame over 125 bytes",
            P::UnknownControlFrameType(_) | P::UnknownDataFrameType(_) | P::InvalidOpcode(_) => {
                "reserved opcode"
            }
            P::UnexpectedContinueFrame => "continuation frame without a message to continue",
            P::ExpectedFragment(_) => "new message inside a fragmented one",
            P::InvalidCloseSequence => "invalid close frame",
            P::ReceivedAfterClosing => "frame after the close frame",
            _ => "not a valid WebSocket frame",
        }),
        _ => FrameError::Protocol("not a valid WebSocket frame"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTINUATION: u8 = 0x0;
    const TEXT: u8 = 0x1;
    const BINARY: u8 = 0x2;
    const CLOSE: u8 = 0x8;
    const PING: u8 = 0x9;
    const PONG: u8 = 0xA;
    const KEY: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];
    const LIMIT: usize = 1 << 20;

    /// A frame laid out by hand, so tests can also build what a
    /// well-behaved client never sends; masked with `mask_key` if given.
    fn raw_frame(first_byte: u8, mask_key: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let mask_bit = if mask_key.is_some() { 0x80 } else { 0 };
        let mut frame = vec![first_byte];
        match payload.len() {
            len if len <= 125 => frame.push(mask_bit | len as u8),
            len if len <= 0xFFFF => {
                frame.push(mask_bit | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                frame.push(mask_bit | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        match mask_key {
            Some(key) => {
                frame.extend_from_slice(&key);
                frame.extend(
                    payload
                        .iter()
                        .enumerate()
                        .map(|(i, byte)| byte ^ key[i % 4]),
                );
            }
            None => frame.extend_from_slice(payload),
        }
        frame
    }

    /// A frame as a client sends it: masked.
    fn client_frame(is_final: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let fin = if is_final { 0x80 } else { 0 };
        raw_frame(fin | opcode, Some(KEY), payload)
    }

    fn decode_one(decoder: &mut Decoder, bytes: &[u8]) -> Result<Option<Incoming>, FrameError> {
        decoder.decode(&mut BytesMut::from(bytes))
    }

    fn decode_fresh(bytes: &[u8]) -> Result<Option<Incoming>, FrameError> {
        decode_one(&mut Decoder::new(LIMIT), bytes)
    }

    fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason);
        payload
    }

    fn is_protocol_error<T>(result: &Result<T, FrameError>) -> bool {
        matches!(result, Err(FrameError::Protocol(_)))
    }

    #[test]
    fn text_round_trips_with_each_length_encoding() {
        for (len, expected_length_byte) in [(125, 125), (126, 126), (65535, 126), (65536, 127)] {
            let text: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let frame = client_frame(true, TEXT, &text);
            assert_eq!(frame[1] & 0x7F, expected_length_byte, "length {len}");

            let mut buf = BytesMut::from(&frame[..]);
            let decoded = Decoder::new(LIMIT).decode(&mut buf);
            assert_eq!(
                decoded,
                Ok(Some(Incoming::Text(Bytes::from(text)))),
                "length {len}"
            );
            assert!(buf.is_empty(), "length {len}: the whole frame is consumed");
        }
    }

    #[test]
    fn binary_ping_and_pong_decode() {
        assert_eq!(
            decode_fresh(&client_frame(true, BINARY, &[0, 255, 1])),
            Ok(Some(Incoming::Binary(Bytes::from_static(&[0, 255, 1]))))
        );
        assert_eq!(
            decode_fresh(&client_frame(true, PING, b"are you there")),
            Ok(Some(Incoming::Ping(Bytes::from_static(b"are you there"))))
        );
        assert_eq!(
            decode_fresh(&client_frame(true, PONG, b"whatever")),
            Ok(Some(Incoming::Pong))
        );
    }

    #[test]
    fn frame_arriving_byte_by_byte_decodes_only_when_complete() {
        let frame = client_frame(true, TEXT, &[b'x'; 300]);
        let mut decoder = Decoder::new(LIMIT);
        let mut buf = BytesMut::new();
        let (last, all_but_last) = frame.split_last().expect("frame is not empty");
        for byte in all_but_last {
            buf.extend_from_slice(&[*byte]);
            assert_eq!(decoder.decode(&mut buf), Ok(None));
        }
        buf.extend_from_slice(&[*last]);
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Incoming::Text(Bytes::from_static(&[b'x'; 300]))))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn several_frames_in_one_buffer_come_out_in_order() {
        let mut bytes = client_frame(true, TEXT, b"first");
        bytes.extend(client_frame(true, PING, b"p"));
        bytes.extend(client_frame(true, BINARY, b"second"));
        let partial_next = client_frame(true, TEXT, b"third");
        bytes.extend_from_slice(&partial_next[..3]);

        let mut buf = BytesMut::from(&bytes[..]);
        let mut decoder = Decoder::new(LIMIT);
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Incoming::Text(Bytes::from_static(b"first"))))
        );
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Incoming::Ping(Bytes::from_static(b"p"))))
        );
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Incoming::Binary(Bytes::from_static(b"second"))))
        );
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(None),
            "an incomplete frame waits"
        );
        buf.extend_from_slice(&partial_next[3..]);
        assert!(
            matches!(decoder.decode(&mut buf), Ok(Some(_))),
            "and completes"
        );
    }

    #[test]
    fn fragmented_text_split_inside_a_character_is_reassembled() {
        let text = "naïve €uro";
        let bytes = text.as_bytes();
        // Cut inside 'ï' (2 bytes) and inside '€' (3 bytes).
        let first_cut = text.find('ï').expect("present") + 1;
        let second_cut = text.find('€').expect("present") + 2;
        assert!(!text.is_char_boundary(first_cut) && !text.is_char_boundary(second_cut));

        let mut stream = client_frame(false, TEXT, &bytes[..first_cut]);
        stream.extend(client_frame(
            false,
            CONTINUATION,
            &bytes[first_cut..second_cut],
        ));
        stream.extend(client_frame(true, CONTINUATION, &bytes[second_cut..]));

        let mut buf = BytesMut::from(&stream[..]);
        let mut decoder = Decoder::new(LIMIT);
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Incoming::Text(Bytes::from(text))))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn fragments_arriving_in_separate_reads_wait_for_the_last() {
        let mut decoder = Decoder::new(LIMIT);
        let mut buf = BytesMut::from(&client_frame(false, BINARY, b"ab")[..]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert!(buf.is_empty(), "the fragment is taken out of the buffer");
        buf.extend_from_slice(&client_frame(true, CONTINUATION, b"cd"));
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Incoming::Binary(Bytes::from_static(b"abcd"))))
        );
    }

    #[test]
    fn ping_between_fragments_is_delivered_first() {
        let mut stream = client_frame(false, TEXT, b"hel");
        stream.extend(client_frame(true, PING, b"ping"));
        stream.extend(client_frame(true, CONTINUATION, b"lo"));

        let mut buf = BytesMut::from(&stream[..]);
        let mut decoder = Decoder::new(LIMIT);
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Incoming::Ping(Bytes::from_static(b"ping"))))
        );
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Incoming::Text(Bytes::from_static(b"hello"))))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn unmasked_frame_is_rejected() {
        let result = decode_fresh(&raw_frame(0x80 | TEXT, None, b"hi"));
        assert!(is_protocol_error(&result), "{result:?}");
    }

    #[test]
    fn any_reserved_bit_is_rejected() {
        for reserved_bit in [0x40, 0x20, 0x10] {
            let result = decode_fresh(&raw_frame(0x80 | reserved_bit | TEXT, Some(KEY), b"hi"));
            assert!(
                is_protocol_error(&result),
                "bit {reserved_bit:#x}: {result:?}"
            );
        }
    }

    #[test]
    fn reserved_opcodes_are_rejected() {
        for opcode in (0x3..=0x7).chain(0xB..=0xF) {
            let result = decode_fresh(&client_frame(true, opcode, b""));
            assert!(is_protocol_error(&result), "opcode {opcode:#x}: {result:?}");
        }
    }

    #[test]
    fn continuation_without_start_is_rejected() {
        let result = decode_fresh(&client_frame(true, CONTINUATION, b"orphan"));
        assert!(is_protocol_error(&result), "{result:?}");
    }

    #[test]
    fn new_data_frame_inside_a_fragmented_message_is_rejected() {
        for opcode in [TEXT, BINARY] {
            let mut stream = client_frame(false, TEXT, b"start");
            stream.extend(client_frame(true, opcode, b"intruder"));
            let result = decode_fresh(&stream);
            assert!(is_protocol_error(&result), "opcode {opcode:#x}: {result:?}");
        }
    }

    #[test]
    fn control_frame_over_125_bytes_is_rejected() {
        assert!(decode_fresh(&client_frame(true, PING, &[0; 125])).is_ok());
        for opcode in [PING, PONG, CLOSE] {
            let result = decode_fresh(&client_frame(true, opcode, &[0; 126]));
            assert!(is_protocol_error(&result), "opcode {opcode:#x}: {result:?}");
        }
    }

    #[test]
    fn fragmented_control_frame_is_rejected() {
        for opcode in [PING, PONG, CLOSE] {
            let result = decode_fresh(&client_frame(false, opcode, b""));
            assert!(is_protocol_error(&result), "opcode {opcode:#x}: {result:?}");
        }
    }

    #[test]
    fn declared_length_over_the_limit_is_rejected_from_the_header_alone() {
        let limit = 1000;
        // 16-bit length: the header and mask key, none of the payload.
        let just_over = [
            0x80 | TEXT,
            0x80 | 126,
            0x03,
            0xE9,
            KEY[0],
            KEY[1],
            KEY[2],
            KEY[3],
        ];
        assert_eq!(
            Decoder::new(limit).decode(&mut BytesMut::from(&just_over[..])),
            Err(FrameError::TooBig)
        );
        // 64-bit length.
        let mut huge = vec![0x80 | BINARY, 0x80 | 127];
        huge.extend_from_slice(&(1u64 << 40).to_be_bytes());
        huge.extend_from_slice(&KEY);
        assert_eq!(
            Decoder::new(limit).decode(&mut BytesMut::from(&huge[..])),
            Err(FrameError::TooBig)
        );
        // 7-bit length.
        let short = [0x80 | TEXT, 0x80 | 101, KEY[0], KEY[1], KEY[2], KEY[3]];
        assert_eq!(
            Decoder::new(100).decode(&mut BytesMut::from(&short[..])),
            Err(FrameError::TooBig)
        );
        // Exactly the limit merely waits for the rest.
        let at_limit = [
            0x80 | TEXT,
            0x80 | 126,
            0x03,
            0xE8,
            KEY[0],
            KEY[1],
            KEY[2],
            KEY[3],
        ];
        assert_eq!(
            Decoder::new(limit).decode(&mut BytesMut::from(&at_limit[..])),
            Ok(None)
        );
    }

    #[test]
    fn sixty_four_bit_length_with_top_bit_set_is_rejected() {
        let mut header = vec![0x80 | BINARY, 0x80 | 127];
        header.extend_from_slice(&(1u64 << 63).to_be_bytes());
        header.extend_from_slice(&KEY);
        // (With no frame limit at all, tungstenite would try to make room
        // for 2^63 bytes and panic: the limit is what refuses this.)
        let result = Decoder::new(LIMIT).decode(&mut BytesMut::from(&header[..]));
        assert_eq!(result, Err(FrameError::TooBig));
    }

    #[test]
    fn fragments_summing_over_the_limit_are_rejected() {
        let mut decoder = Decoder::new(10);
        let mut buf = BytesMut::from(&client_frame(false, TEXT, b"123456")[..]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        // The next fragment: 6 + 5 > 10. (Each fragment alone is bounded
        // by the limit from its header; their sum once they are in.)
        buf.extend_from_slice(&client_frame(false, CONTINUATION, b"12345"));
        assert_eq!(decoder.decode(&mut buf), Err(FrameError::TooBig));

        let mut stream = client_frame(false, TEXT, b"123456");
        stream.extend(client_frame(true, CONTINUATION, b"7890"));
        assert_eq!(
            decode_one(&mut Decoder::new(10), &stream),
            Ok(Some(Incoming::Text(Bytes::from_static(b"1234567890")))),
            "exactly the limit is allowed"
        );
    }

    #[test]
    fn invalid_utf8_text_is_rejected() {
        assert_eq!(
            decode_fresh(&client_frame(true, TEXT, &[b'a', 0xFF, b'b'])),
            Err(FrameError::NotUtf8)
        );

        // A character left unfinished by the last fragment.
        let euro = "€".as_bytes();
        let mut stream = client_frame(false, TEXT, &euro[..1]);
        stream.extend(client_frame(true, CONTINUATION, &euro[1..2]));
        assert_eq!(decode_fresh(&stream), Err(FrameError::NotUtf8));

        assert_eq!(
            decode_fresh(&client_frame(true, BINARY, &[0xFF])),
            Ok(Some(Incoming::Binary(Bytes::from_static(&[0xFF])))),
            "binary is not checked"
        );
    }

    #[test]
    fn close_with_code_and_reason() {
        assert_eq!(
            decode_fresh(&client_frame(
                true,
                CLOSE,
                &close_payload(1000, "bye ✓".as_bytes())
            )),
            Ok(Some(Incoming::Close(Some((1000, "bye ✓".to_owned())))))
        );
        assert_eq!(
            decode_fresh(&client_frame(true, CLOSE, &close_payload(4001, b""))),
            Ok(Some(Incoming::Close(Some((4001, String::new())))))
        );
    }

    #[test]
    fn empty_close_has_no_code() {
        assert_eq!(
            decode_fresh(&client_frame(true, CLOSE, b"")),
            Ok(Some(Incoming::Close(None)))
        );
    }

    #[test]
    fn one_byte_close_is_rejected() {
        let result = decode_fresh(&client_frame(true, CLOSE, &[0x03]));
        assert!(is_protocol_error(&result), "{result:?}");
    }

    #[test]
    fn close_codes_are_checked() {
        // A code no peer may send is a protocol error: the connection
        // answers it with 1002, as if the client had closed with that.
        // (1014, registered after RFC 6455, is among them for tungstenite.)
        for code in [
            0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 2000, 2999, 5000, 65535,
        ] {
            let result = decode_fresh(&client_frame(true, CLOSE, &close_payload(code, b"")));
            assert!(
                matches!(&result, Ok(Some(Incoming::Close(Some((1002, _)))))),
                "code {code}: {result:?}"
            );
        }
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 3000, 4999,
        ] {
            let result = decode_fresh(&client_frame(true, CLOSE, &close_payload(code, b"")));
            assert_eq!(
                result,
                Ok(Some(Incoming::Close(Some((code, String::new()))))),
                "code {code}"
            );
        }
    }

    #[test]
    fn close_reason_that_is_not_utf8_is_rejected() {
        let result = decode_fresh(&client_frame(
            true,
            CLOSE,
            &close_payload(1000, &[0xC3, 0x28]),
        ));
        assert_eq!(result, Err(FrameError::NotUtf8));
    }

    #[test]
    fn write_header_follows_the_rfc_layout() {
        let cases: [(Opcode, usize, &[u8]); 5] = [
            (Opcode::Text, 0, &[0x81, 0]),
            (Opcode::Binary, 125, &[0x82, 125]),
            (Opcode::Text, 126, &[0x81, 126, 0x00, 0x7E]),
            (Opcode::Ping, 65535, &[0x89, 126, 0xFF, 0xFF]),
            (Opcode::Text, 65536, &[0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ];
        for (opcode, len, expected) in cases {
            let mut out = [0xEE; 10];
            let written = write_header(opcode, len, &mut out);
            assert_eq!(&out[..written], expected, "{opcode:?} of {len} bytes");
        }
        let mut out = [0; 10];
        assert_eq!(write_header(Opcode::Pong, 1, &mut out), 2);
        assert_eq!(out[0], 0x8A);
        assert_eq!(write_header(Opcode::Close, 2, &mut out), 2);
        assert_eq!(out[0], 0x88);
    }

    #[test]
    fn encode_puts_the_header_before_the_payload() {
        assert_eq!(encode(Opcode::Text, b"hi"), [0x81, 2, b'h', b'i']);
        let long = encode(Opcode::Binary, &[7; 200]);
        assert_eq!(&long[..4], &[0x82, 126, 0, 200]);
        assert_eq!(&long[4..], &[7; 200]);
    }

    #[test]
    fn close_frame_carries_code_and_reason() {
        assert_eq!(
            close(1000, "done"),
            [0x88, 6, 0x03, 0xE8, b'd', b'o', b'n', b'e']
        );
        assert_eq!(close(1001, ""), [0x88, 2, 0x03, 0xE9]);
    }

    #[test]
    fn close_truncates_long_reasons_on_a_char_boundary() {
        // 'é' occupies bytes 122..124, straddling the 123-byte cut.
        let reason = format!("{}é and more", "a".repeat(122));
        let frame = close(1011, &reason);
        assert_eq!(frame[0], 0x88);
        assert_eq!(usize::from(frame[1]), frame.len() - 2);
        assert_eq!(&frame[2..4], &1011u16.to_be_bytes());
        assert_eq!(&frame[4..], "a".repeat(122).as_bytes());

        let exactly_fits = "b".repeat(123);
        assert_eq!(&close(1000, &exactly_fits)[4..], exactly_fits.as_bytes());
        let over = "c".repeat(200);
        assert_eq!(
            close(1000, &over).len(),
            2 + 125,
            "a close frame stays a valid control frame"
        );
    }

    #[test]
    fn server_close_frames_decode_once_masked() {
        let frame = close(1008, "policy");
        let payload = &frame[2..];
        assert_eq!(
            decode_fresh(&client_frame(true, CLOSE, payload)),
            Ok(Some(Incoming::Close(Some((1008, "policy".to_owned())))))
        );
    }

    #[test]
    fn errors_map_to_close_codes() {
        assert_eq!(FrameError::Protocol("x").close_code(), 1002);
        assert_eq!(FrameError::TooBig.close_code(), 1009);
        assert_eq!(FrameError::NotUtf8.close_code(), 1007);
        assert_eq!(FrameError::Protocol("why").reason(), "why");
        for error in [
            FrameError::TooBig,
            FrameError::NotUtf8,
            FrameError::Protocol("y"),
        ] {
            assert!(
                !error.reason().is_empty() && error.reason().len() <= 123,
                "{error:?}"
            );
        }
    }
}
