//! Bytes a WebSocket client sends, arriving in pieces of any size: the
//! decoder never panics, never yields more than the limit, and never
//! yields text that is not UTF-8.
#![no_main]

use api::http::ws::frame::{Decoder, Incoming};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 64 * 1024;

fuzz_target!(|input: &[u8]| {
    // The first byte picks how the bytes are cut into reads.
    let Some((&cut, bytes)) = input.split_first() else {
        return;
    };
    let piece = usize::from(cut).max(1);
    let mut decoder = Decoder::new(LIMIT);
    let mut buffer = BytesMut::new();
    for chunk in bytes.chunks(piece) {
        buffer.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buffer) {
                Ok(Some(message)) => {
                    match &message {
                        Incoming::Text(text) => {
                            assert!(text.len() <= LIMIT);
                            assert!(std::str::from_utf8(text).is_ok());
                        }
                        Incoming::Binary(data) => assert!(data.len() <= LIMIT),
                        Incoming::Ping(payload) => assert!(payload.len() <= 125),
                        Incoming::Pong | Incoming::Close(_) => {}
                    }
                    if matches!(message, Incoming::Close(_)) {
                        return;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    assert!(matches!(error.close_code(), 1002 | 1007 | 1009));
                    return;
                }
            }
        }
    }
});
