//! A minimal GraphQL-over-WebSocket subscriber, speaking both protocols the
//! server offers: `graphql-transport-ws` and the legacy `graphql-ws`
//! (`subscriptions-transport-ws`), over its own RFC 6455 client: the
//! handshake (with the server's accept key checked), masked frames out,
//! unmasked frames in, pings answered.
//!
//! Why not tungstenite, as the e2e suite's client: the subscribers share two
//! cores with the server they measure, and a general WebSocket library costs
//! them more per message than the server spends writing it (a zeroed read
//! buffer, a payload copy and two waker registrations per frame). This
//! client reads frames in place from one small buffer per socket, takes the
//! arrival time of every result before any parsing, and allocates nothing
//! per message it recognises.
//!
//! Each result also carries the kernel's receive timestamp
//! (`SO_TIMESTAMPNS`): when its bytes reached the subscriber's socket, as
//! opposed to when the subscriber's task got round to reading them. On
//! loopback the former is when the server's write completed; the latter
//! also holds the wait for a core the subscribers share with the server.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use nix::sys::time::TimeSpec;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How long the server may take to answer `connection_init`. Generous: with
/// thousands of sockets opening at once, the server is busy.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// The read buffer of a socket, grown only for a bigger message. Results
/// are a few hundred bytes, and 10,000 sockets share the machine with the
/// server.
const READ_BUFFER: usize = 4 * 1024;

/// The largest message accepted from the server.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// `graphql-transport-ws` (the `graphql-ws` JavaScript library)
    Transport,
    /// legacy `graphql-ws` (`subscriptions-transport-ws`)
    Legacy,
}

impl Protocol {
    /// The `Sec-WebSocket-Protocol` value; the server refuses an upgrade
    /// without one.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Protocol::Transport => "graphql-transport-ws",
            Protocol::Legacy => "graphql-ws",
        }
    }
}

/// What arrived on a subscription socket.
#[derive(Debug)]
pub enum Incoming {
    /// A result (`next`, or `data` on the legacy protocol), with when it
    /// arrived.
    Result { payload: Value, at: Arrival },
    /// A message the caller's `take_raw` took care of, unparsed.
    Recognised,
    /// Any other protocol message, parsed.
    Other(Value),
    /// An operation error (`error`).
    Error(Value),
    /// The server completed the operation.
    Complete,
    /// The socket closed, with the close frame's code and reason if any.
    Closed(Option<(u16, String)>),
}

/// When a message arrived.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// When the subscriber read it off its socket.
    pub read: Instant,
    /// When the kernel received its last bytes on the subscriber's socket,
    /// if it stamped them.
    pub landed: Option<SystemTime>,
}

pub struct Socket {
    stream: TcpStream,
    protocol: Protocol,
    /// Bytes read: `buffer[start..filled]` is not consumed yet.
    buffer: Vec<u8>,
    start: usize,
    filled: usize,
    /// The receive timestamp of the last bytes read.
    landed: Option<SystemTime>,
    /// Room for the timestamp's control message, reused by every read.
    control: Vec<u8>,
    /// The state of the masking keys' generator (xorshift).
    mask_state: u32,
}

/// A frame from the server: its opcode and where its payload is in the
/// read buffer.
struct Frame {
    opcode: u8,
    payload: std::ops::Range<usize>,
}

impl Socket {
    /// Connects to `ws://{addr}/graphql` and completes `connection_init`,
    /// anonymously, as a reader's live-blog widget does.
    pub async fn open(addr: SocketAddr, protocol: Protocol) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await.context("TCP connect")?;
        // Results are small and latency is what we measure.
        stream.set_nodelay(true)?;
        setsockopt(&stream, sockopt::ReceiveTimestampns, &true)
            .context("turning on receive timestamps")?;
        let nonce = uuid::Uuid::new_v4();
        let mut socket = Socket {
            stream,
            protocol,
            buffer: vec![0; READ_BUFFER],
            start: 0,
            filled: 0,
            landed: None,
            control: nix::cmsg_space!(TimeSpec),
            mask_state: u32::from_le_bytes(nonce.as_bytes()[..4].try_into()?) | 1,
        };
        socket
            .handshake(addr, &STANDARD.encode(nonce.as_bytes()))
            .await?;
        socket
            .send(json!({ "type": "connection_init", "payload": {} }))
            .await?;
        let deadline = Instant::now() + ACK_TIMEOUT;
        loop {
            let message = tokio::time::timeout_at(deadline, socket.next(|_, _| false))
                .await
                .context("no connection_ack in time")??;
            let Incoming::Other(message) = message else {
                bail!("no connection_ack but {message:?}");
            };
            match message["type"].as_str() {
                Some("connection_ack") => return Ok(socket),
                Some("ka") => {}
                _ => bail!("connection refused: {message}"),
            }
        }
    }

    /// The opening handshake (RFC 6455 §4.1), checking the server's answer.
    async fn handshake(&mut self, addr: SocketAddr, key: &str) -> anyhow::Result<()> {
        let request = format!(
            "GET /graphql HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {}\r\n\r\n",
            self.protocol.subprotocol()
        );
        self.stream.write_all(request.as_bytes()).await?;
        let end = loop {
            let head = &self.buffer[..self.filled];
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            self.read_more().await.context("WebSocket handshake")?;
        };
        let head = std::str::from_utf8(&self.buffer[..end]).context("handshake answer")?;
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or_default();
        ensure!(
            status.starts_with("HTTP/1.1 101"),
            "handshake refused: {head}"
        );
        let mut sha1 = Sha1::new();
        sha1.update(key.as_bytes());
        sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
        let expected = STANDARD.encode(sha1.finalize());
        let accepted = lines
            .filter_map(|line| line.split_once(':'))
            .any(|(name, value)| {
                name.eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == expected
            });
        ensure!(accepted, "the server's accept key is wrong: {head}");
        self.start = end + 4;
        Ok(())
    }

    /// Starts the socket's one subscription (operation id `1`). Neither
    /// protocol acknowledges a subscription: it is live once the server has
    /// processed this message.
    pub async fn subscribe(&mut self, query: &str, variables: Value) -> anyhow::Result<()> {
        let kind = match self.protocol {
            Protocol::Transport => "subscribe",
            Protocol::Legacy => "start",
        };
        self.send(json!({
            "id": "1",
            "type": kind,
            "payload": { "query": query, "variables": variables },
        }))
        .await
    }

    /// The next message about the subscription, answering and skipping
    /// keep-alives (ping frames, and the protocols' own pings and `ka`).
    /// `take_raw` sees each message's raw text and arrival first; a
    /// message it takes care of (returning true) is
    /// [`Incoming::Recognised`], without being parsed.
    pub async fn next(
        &mut self,
        take_raw: impl Fn(&str, Arrival) -> bool,
    ) -> anyhow::Result<Incoming> {
        loop {
            let frame = self.next_frame().await?;
            let payload = &self.buffer[frame.payload.clone()];
            match frame.opcode {
                OPCODE_TEXT => {}
                OPCODE_CLOSE => {
                    let close = (payload.len() >= 2).then(|| {
                        let code = u16::from_be_bytes([payload[0], payload[1]]);
                        (code, String::from_utf8_lossy(&payload[2..]).into_owned())
                    });
                    return Ok(Incoming::Closed(close));
                }
                OPCODE_PING => {
                    let payload = payload.to_vec();
                    self.write_frame(OPCODE_PONG, &payload).await?;
                    continue;
                }
                OPCODE_PONG => continue,
                other => bail!("unexpected frame with opcode {other:#x}"),
            }
            // Taken before parsing, so that the client's own JSON work does
            // not count against the server.
            let at = Arrival {
                read: Instant::now(),
                landed: self.landed,
            };
            let text = std::str::from_utf8(payload).context("a text frame that is not UTF-8")?;
            if take_raw(text, at) {
                return Ok(Incoming::Recognised);
            }
            let mut message: Value = serde_json::from_str(text)?;
            return Ok(match message["type"].as_str() {
                Some("next" | "data") => Incoming::Result {
                    payload: message["payload"].take(),
                    at,
                },
                Some("error") => Incoming::Error(message["payload"].take()),
                Some("complete") => Incoming::Complete,
                Some("ping") => {
                    self.send(json!({ "type": "pong" })).await?;
                    continue;
                }
                Some("ka" | "pong") => continue,
                _ => Incoming::Other(message),
            });
        }
    }

    /// The next whole frame in the buffer, reading as needed. The server
    /// sends whole messages, never fragments.
    async fn next_frame(&mut self) -> anyhow::Result<Frame> {
        loop {
            if let Some((frame, end)) = parse_frame(&self.buffer[self.start..self.filled])? {
                let frame = Frame {
                    opcode: frame.opcode,
                    payload: self.start + frame.payload.start..self.start + frame.payload.end,
                };
                self.start += end;
                return Ok(frame);
            }
            self.read_more().await?;
        }
    }

    /// Reads more bytes, first making room behind what is unconsumed.
    async fn read_more(&mut self) -> anyhow::Result<()> {
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        if self.filled == self.buffer.len() {
            ensure!(
                self.buffer.len() < MAX_MESSAGE,
                "a message over {MAX_MESSAGE} bytes"
            );
            self.buffer.resize(self.buffer.len() * 2, 0);
        }
        let Socket {
            stream,
            buffer,
            filled,
            control,
            ..
        } = self;
        let fd = stream.as_raw_fd();
        let (read, landed) = stream
            .async_io(Interest::READABLE, || {
                recv_stamped(fd, &mut buffer[*filled..], control)
            })
            .await?;
        ensure!(
            read > 0,
            "the server closed the connection without a close frame"
        );
        self.filled += read;
        self.landed = landed;
        Ok(())
    }

    async fn send(&mut self, message: Value) -> anyhow::Result<()> {
        self.write_frame(OPCODE_TEXT, message.to_string().as_bytes())
            .await
    }

    /// Writes one frame, masked as a client must (RFC 6455 §5.3).
    async fn write_frame(&mut self, opcode: u8, payload: &[u8]) -> anyhow::Result<()> {
        // xorshift32: masking keys need not be secret here, only varied.
        self.mask_state ^= self.mask_state << 13;
        self.mask_state ^= self.mask_state >> 17;
        self.mask_state ^= self.mask_state << 5;
        let mask = self.mask_state.to_le_bytes();
        let mut frame = Vec::with_capacity(payload.len() + 14);
        frame.push(0x80 | opcode);
        match payload.len() {
            len @ 0..=125 => frame.push(0x80 | len as u8),
            len @ 126..=0xFFFF => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await?;
        Ok(())
    }
}

const OPCODE_TEXT: u8 = 0x1;
const OPCODE_CLOSE: u8 = 0x8;
const OPCODE_PING: u8 = 0x9;
const OPCODE_PONG: u8 = 0xA;

/// The frame at the start of `bytes` and where it ends, if it is all there.
/// Reads what `fd` has into `buffer`, with the kernel's receive timestamp
/// of the last bytes read.
fn recv_stamped(
    fd: RawFd,
    buffer: &mut [u8],
    control: &mut [u8],
) -> io::Result<(usize, Option<SystemTime>)> {
    let mut iov = [IoSliceMut::new(buffer)];
    let message = recvmsg::<()>(fd, &mut iov, Some(control), MsgFlags::empty())?;
    let landed = message.cmsgs()?.find_map(|cmsg| match cmsg {
        ControlMessageOwned::ScmTimestampns(at) => {
            let since_epoch = Duration::new(
                u64::try_from(at.tv_sec()).ok()?,
                u32::try_from(at.tv_nsec()).ok()?,
            );
            Some(UNIX_EPOCH + since_epoch)
        }
        _ => None,
    });
    Ok((message.bytes, landed))
}

fn parse_frame(bytes: &[u8]) -> anyhow::Result<Option<(Frame, usize)>> {
    let [first, second, ..] = *bytes else {
        return Ok(None);
    };
    ensure!(first & 0x80 != 0, "a fragmented message");
    ensure!(first & 0x70 == 0, "reserved bits set");
    ensure!(second & 0x80 == 0, "a masked frame from the server");
    let (len, header) = match second & 0x7F {
        126 if bytes.len() >= 4 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
        127 if bytes.len() >= 10 => {
            let len = u64::from_be_bytes(bytes[2..10].try_into()?);
            ensure!(len <= MAX_MESSAGE as u64, "a message of {len} bytes");
            (len as usize, 10)
        }
        126 | 127 => return Ok(None),
        len => (usize::from(len), 2),
    };
    if bytes.len() < header + len {
        return Ok(None);
    }
    let frame = Frame {
        opcode: first & 0x0F,
        payload: header..header + len,
    };
    Ok(Some((frame, header + len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_parsed_only_when_whole() {
        let mut frame = vec![0x81, 126, 0x01, 0x00];
        frame.extend(std::iter::repeat_n(b'x', 256));
        for cut in [0, 1, 3, 4, 259] {
            assert!(parse_frame(&frame[..cut]).unwrap().is_none(), "{cut} bytes");
        }
        let (parsed, end) = parse_frame(&frame).unwrap().unwrap();
        assert_eq!((parsed.opcode, parsed.payload, end), (1, 4..260, 260));
        let short = [0x89, 0x02, b'h', b'i', 0x81];
        let (ping, end) = parse_frame(&short).unwrap().unwrap();
        assert_eq!((ping.opcode, ping.payload, end), (9, 2..4, 4));
    }

    #[test]
    fn frames_a_server_must_not_send_are_refused() {
        assert!(parse_frame(&[0x01, 0x00]).is_err(), "fragment");
        assert!(parse_frame(&[0xC1, 0x00]).is_err(), "reserved bit");
        assert!(parse_frame(&[0x81, 0x80, 0, 0, 0, 0]).is_err(), "masked");
    }
}
