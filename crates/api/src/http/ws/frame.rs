//! RFC 6455 WebSocket framing for the server side of our GraphQL sockets.
//!
//! We replace tungstenite on the server side so that a per-stream task can
//! write pre-built frames straight to idle sockets with a non-blocking
//! write: an event's payload is rendered once and shared by thousands of
//! sockets, each of which only needs the few header bytes from
//! [`write_header`] in front of it, rather than a sink per socket that
//! copies and frames every message itself. Reading needs no such sharing,
//! so the [`Decoder`] simply turns whatever bytes have arrived into whole
//! client messages, enforcing the protocol's rules and our size limit as
//! early as it can.

use bytes::{Buf, Bytes, BytesMut};

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
const RESERVED_BITS: u8 = 0x70;
const OPCODE_BITS: u8 = 0x0F;
const MASK_BIT: u8 = 0x80;
const SHORT_LENGTH_BITS: u8 = 0x7F;
/// The 7-bit length values that announce a 16- or 64-bit length instead.
const LENGTH_IN_NEXT_2_BYTES: u8 = 126;
const LENGTH_IN_NEXT_8_BYTES: u8 = 127;
const MAX_CONTROL_PAYLOAD: u8 = 125;
/// 125 bytes of close payload, less the 2 of the code.
const MAX_CLOSE_REASON_BYTES: usize = 123;
const MASK_KEY_BYTES: usize = 4;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MessageKind {
    Text,
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    /// The first (perhaps only) frame of a data message.
    Start(MessageKind),
    Continuation,
    Control(Opcode),
}

impl FrameKind {
    fn from_opcode(opcode: u8) -> Result<Self, FrameError> {
        match opcode {
            0x0 => Ok(FrameKind::Continuation),
            0x1 => Ok(FrameKind::Start(MessageKind::Text)),
            0x2 => Ok(FrameKind::Start(MessageKind::Binary)),
            0x8 => Ok(FrameKind::Control(Opcode::Close)),
            0x9 => Ok(FrameKind::Control(Opcode::Ping)),
            0xA => Ok(FrameKind::Control(Opcode::Pong)),
            _ => Err(FrameError::Protocol("reserved opcode")),
        }
    }
}

struct FrameHeader {
    is_final: bool,
    kind: FrameKind,
    header_len: usize,
    payload_len: usize,
    mask_key: [u8; MASK_KEY_BYTES],
}

#[derive(Debug)]
struct FragmentedMessage {
    kind: MessageKind,
    payload_so_far: BytesMut,
}

const CONTINUATION_WITHOUT_START: FrameError =
    FrameError::Protocol("continuation frame without a message to continue");

/// Reassembles client messages from the bytes read off a socket.
#[derive(Debug)]
pub struct Decoder {
    max_message_bytes: usize,
    fragmented: Option<FragmentedMessage>,
}

impl Decoder {
    pub fn new(max_message_bytes: usize) -> Self {
        Decoder {
            max_message_bytes,
            fragmented: None,
        }
    }

    /// Takes the next complete message out of `buf` (bytes read so far; consumed bytes are removed from the front), or `Ok(None)` when `buf` holds no complete frame yet / only part of a fragmented message.
    ///
    /// A frame whose declared length is over the limit is refused as soon
    /// as its length is readable, so a client cannot make us buffer it.
    /// Text is UTF-8-checked only once the message is complete, since
    /// fragments may split a character.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, FrameError> {
        // Loops only over fragments of a data message, which are absorbed
        // into `self.fragmented` rather than returned.
        loop {
            let Some(header) = self.parse_header(buf)? else {
                return Ok(None);
            };
            let frame_len = header
                .header_len
                .checked_add(header.payload_len)
                .ok_or(FrameError::TooBig)?;
            if buf.len() < frame_len {
                return Ok(None);
            }
            buf.advance(header.header_len);
            let mut payload = buf.split_to(header.payload_len);
            unmask(&mut payload, header.mask_key);

            match header.kind {
                FrameKind::Control(opcode) => {
                    return control_message(opcode, payload.freeze()).map(Some);
                }
                FrameKind::Start(kind) if header.is_final => {
                    return data_message(kind, payload.freeze()).map(Some);
                }
                FrameKind::Start(kind) => {
                    self.fragmented = Some(FragmentedMessage {
                        kind,
                        payload_so_far: payload,
                    });
                }
                FrameKind::Continuation => {
                    let Some(mut message) = self.fragmented.take() else {
                        return Err(CONTINUATION_WITHOUT_START);
                    };
                    message.payload_so_far.extend_from_slice(&payload);
                    if header.is_final {
                        return data_message(message.kind, message.payload_so_far.freeze())
                            .map(Some);
                    }
                    self.fragmented = Some(message);
                }
            }
        }
    }

    /// Validates everything the header can tell before the payload is
    /// read; `Ok(None)` until enough of it has arrived to decide.
    fn parse_header(&self, buf: &[u8]) -> Result<Option<FrameHeader>, FrameError> {
        let [first, second, ..] = *buf else {
            return Ok(None);
        };
        if first & RESERVED_BITS != 0 {
            return Err(FrameError::Protocol(
                "reserved bits set without an extension",
            ));
        }
        let is_final = first & FIN_BIT != 0;
        let kind = FrameKind::from_opcode(first & OPCODE_BITS)?;
        if second & MASK_BIT == 0 {
            return Err(FrameError::Protocol("client frame not masked"));
        }
        let short_len = second & SHORT_LENGTH_BITS;

        match kind {
            FrameKind::Control(_) => {
                if !is_final {
                    return Err(FrameError::Protocol("fragmented control frame"));
                }
                if short_len > MAX_CONTROL_PAYLOAD {
                    return Err(FrameError::Protocol("control frame over 125 bytes"));
                }
            }
            FrameKind::Continuation if self.fragmented.is_none() => {
                return Err(CONTINUATION_WITHOUT_START);
            }
            FrameKind::Start(_) if self.fragmented.is_some() => {
                return Err(FrameError::Protocol("new message inside a fragmented one"));
            }
            FrameKind::Continuation | FrameKind::Start(_) => {}
        }

        let (declared_len, length_end) = match short_len {
            LENGTH_IN_NEXT_2_BYTES => {
                let Some(length_bytes) = buf.get(2..).and_then(<[u8]>::first_chunk::<2>) else {
                    return Ok(None);
                };
                (u64::from(u16::from_be_bytes(*length_bytes)), 4)
            }
            LENGTH_IN_NEXT_8_BYTES => {
                let Some(length_bytes) = buf.get(2..).and_then(<[u8]>::first_chunk::<8>) else {
                    return Ok(None);
                };
                let length = u64::from_be_bytes(*length_bytes);
                if length >> 63 != 0 {
                    return Err(FrameError::Protocol("64-bit length with the top bit set"));
                }
                (length, 10)
            }
            short => (u64::from(short), 2),
        };

        // Control frames are already bounded at 125 bytes; the limit is for
        // data, counting the fragments already received.
        if !matches!(kind, FrameKind::Control(_)) {
            let already_received = self
                .fragmented
                .as_ref()
                .map_or(0, |message| message.payload_so_far.len());
            let room_left = self.max_message_bytes.saturating_sub(already_received);
            if declared_len > u64::try_from(room_left).unwrap_or(u64::MAX) {
                return Err(FrameError::TooBig);
            }
        }
        let payload_len = usize::try_from(declared_len).map_err(|_| FrameError::TooBig)?;

        let Some(mask_key) = buf
            .get(length_end..)
            .and_then(<[u8]>::first_chunk::<MASK_KEY_BYTES>)
        else {
            return Ok(None);
        };
        Ok(Some(FrameHeader {
            is_final,
            kind,
            header_len: length_end + MASK_KEY_BYTES,
            payload_len,
            mask_key: *mask_key,
        }))
    }
}

/// XORs the client's masking key over the payload, a u64 at a time.
fn unmask(payload: &mut [u8], mask_key: [u8; MASK_KEY_BYTES]) {
    let [k0, k1, k2, k3] = mask_key;
    // Eight bytes hold the key twice, so every word starts at key byte 0.
    let key_word = u64::from_ne_bytes([k0, k1, k2, k3, k0, k1, k2, k3]);
    let (words, tail) = payload.as_chunks_mut::<8>();
    for word in words {
        *word = (u64::from_ne_bytes(*word) ^ key_word).to_ne_bytes();
    }
    for (byte, key_byte) in tail.iter_mut().zip(mask_key.iter().cycle()) {
        *byte ^= key_byte;
    }
}

fn data_message(kind: MessageKind, payload: Bytes) -> Result<Incoming, FrameError> {
    match kind {
        MessageKind::Text => {
            if std::str::from_utf8(&payload).is_err() {
                return Err(FrameError::NotUtf8);
            }
            Ok(Incoming::Text(payload))
        }
        MessageKind::Binary => Ok(Incoming::Binary(payload)),
    }
}

fn control_message(opcode: Opcode, payload: Bytes) -> Result<Incoming, FrameError> {
    match opcode {
        Opcode::Ping => Ok(Incoming::Ping(payload)),
        Opcode::Pong => Ok(Incoming::Pong),
        Opcode::Close => close_message(&payload),
        // `FrameKind::from_opcode` never yields these as control frames.
        Opcode::Text | Opcode::Binary => Err(FrameError::Protocol("data opcode as control frame")),
    }
}

fn close_message(payload: &[u8]) -> Result<Incoming, FrameError> {
    match payload {
        [] => Ok(Incoming::Close(None)),
        [_] => Err(FrameError::Protocol("close payload of one byte")),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !is_valid_received_close_code(code) {
                return Err(FrameError::Protocol("invalid close code"));
            }
            let reason = std::str::from_utf8(reason)
                .map_err(|_| FrameError::Protocol("close reason is not UTF-8"))?;
            Ok(Incoming::Close(Some((code, reason.to_owned()))))
        }
    }
}

/// RFC 6455 §7.4: 1004–1006 and 1015 are reserved or must never be sent
/// on the wire, and 1012–1014 are registered with IANA since, so a peer may
/// legitimately use them.
fn is_valid_received_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
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
    fn unmask_matches_bytewise_xor_for_every_tail_length() {
        for len in 0..=33 {
            let original: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut payload = original.clone();
            unmask(&mut payload, KEY);
            let expected: Vec<u8> = original
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ KEY[i % 4])
                .collect();
            assert_eq!(payload, expected, "length {len}");
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
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert_eq!(
            &buf[..],
            &partial_next[..3],
            "an incomplete frame is left in place"
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
        // 16-bit length, without even the mask key.
        let just_over = [0x80 | TEXT, 0x80 | 126, 0x03, 0xE9];
        assert_eq!(
            Decoder::new(limit).decode(&mut BytesMut::from(&just_over[..])),
            Err(FrameError::TooBig)
        );
        // 64-bit length.
        let mut huge = vec![0x80 | BINARY, 0x80 | 127];
        huge.extend_from_slice(&(1u64 << 40).to_be_bytes());
        assert_eq!(
            Decoder::new(limit).decode(&mut BytesMut::from(&huge[..])),
            Err(FrameError::TooBig)
        );
        // 7-bit length.
        assert_eq!(
            Decoder::new(100).decode(&mut BytesMut::from(&[0x80 | TEXT, 0x80 | 101][..])),
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
        let result = Decoder::new(usize::MAX).decode(&mut BytesMut::from(&header[..]));
        assert!(is_protocol_error(&result), "{result:?}");
    }

    #[test]
    fn fragments_summing_over_the_limit_are_rejected() {
        let mut decoder = Decoder::new(10);
        let mut buf = BytesMut::from(&client_frame(false, TEXT, b"123456")[..]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        // Only the header of the next fragment: 6 + 5 > 10.
        buf.extend_from_slice(&[CONTINUATION, 0x80 | 5]);
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
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535,
        ] {
            let result = decode_fresh(&client_frame(true, CLOSE, &close_payload(code, b"")));
            assert!(is_protocol_error(&result), "code {code}: {result:?}");
        }
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
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
        assert!(is_protocol_error(&result), "{result:?}");
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
