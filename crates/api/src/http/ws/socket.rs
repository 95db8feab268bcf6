//! An upgraded WebSocket connection as two halves: a [`Reader`] for the
//! connection's own task, and a [`Writer`] that other tasks may write to
//! as well.
//!
//! Why not one object owned by the connection (axum's `WebSocket`): a
//! stream's pump ([`super::pump`]) writes each event to thousands of idle
//! sockets itself, without waking their tasks. It can do that only if a
//! write never waits: [`Writer::offer`] writes a whole frame at once or
//! not at all (the socket's buffer has room, or the frame is left to the
//! connection). Frames are written whole and under one lock, so that the
//! pump's frames and the connection's own (replies, pings, the close)
//! never interleave; what the socket does not take at once waits in a
//! backlog that only the connection flushes.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::http::ws::frame::{self, Decoder, FrameError, Incoming, Opcode};

/// How much is read from the socket at a time. Client messages are small;
/// a bigger one takes several reads.
const READ_CHUNK: usize = 4 * 1024;

type BoxedRead = Pin<Box<dyn AsyncRead + Send>>;
type BoxedWrite = Pin<Box<dyn AsyncWrite + Send>>;

/// Splits an upgraded connection into its halves; `max_message_bytes`
/// bounds what a client may send in one message.
pub fn split<Io>(io: Io, max_message_bytes: usize) -> (Reader, Writer)
where
    Io: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, write) = tokio::io::split(io);
    (
        Reader {
            io: Box::pin(read),
            buffer: BytesMut::new(),
            decoder: Decoder::new(max_message_bytes),
        },
        Writer::new(write),
    )
}

/// The client's messages, read and reassembled by the connection's task.
pub struct Reader {
    io: BoxedRead,
    /// Bytes read and not yet decoded. Emptied, and its memory given back,
    /// whenever everything read was decoded: an idle socket holds none.
    buffer: BytesMut,
    decoder: Decoder,
}

impl Reader {
    /// The next message; `None` once the peer is gone (end of stream, or
    /// the socket failed); an error for bytes that are not WebSocket.
    pub fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Incoming, FrameError>>> {
        loop {
            match self.decoder.decode(&mut self.buffer) {
                Ok(Some(message)) => {
                    if self.buffer.is_empty() {
                        self.buffer = BytesMut::new();
                    }
                    return Poll::Ready(Some(Ok(message)));
                }
                Ok(None) => {}
                Err(error) => return Poll::Ready(Some(Err(error))),
            }
            // Read onto the stack first: most polls find nothing, and an
            // idle socket should not hold a buffer.
            let mut chunk = [0; READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            match self.io.as_mut().poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) if read.filled().is_empty() => return Poll::Ready(None),
                Poll::Ready(Ok(())) => self.buffer.extend_from_slice(read.filled()),
                Poll::Ready(Err(_)) => return Poll::Ready(None),
            }
        }
    }
}

impl Reader {
    /// Reads and drops whatever the client still sends, until it closes:
    /// after bytes that are not WebSocket, so that our close frame is not
    /// lost to a reset (closing a socket with unread data resets it).
    pub fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.buffer = BytesMut::new();
        loop {
            let mut chunk = [0; READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            match self.io.as_mut().poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) if !read.filled().is_empty() => {}
                Poll::Ready(_) => return Poll::Ready(()),
            }
        }
    }
}

/// What became of a frame offered to a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// The socket took all of it.
    Written,
    /// The socket took part of it; the rest waits in the backlog for the
    /// connection to flush. The frame will arrive, but the socket is busy.
    Backlogged,
    /// Nothing was written: the socket is busy (something was waiting
    /// before it), closing, or its subscription stopped.
    Refused,
}

/// The sending half of a connection, shared by its task and the pumps of
/// its subscriptions.
pub struct Writer {
    state: Mutex<WriteState>,
}

struct WriteState {
    /// `None` once the connection is over: the socket closes when its
    /// task ends, even while a pump still holds this writer.
    io: Option<BoxedWrite>,
    /// What was accepted and not yet taken by the socket, in order.
    backlog: Vec<u8>,
    /// A close frame was queued (or the socket failed): nothing more is
    /// accepted.
    closed: bool,
    /// A write failed: the connection is gone.
    broken: bool,
}

impl Writer {
    pub fn new(io: impl AsyncWrite + Send + 'static) -> Self {
        Writer {
            state: Mutex::new(WriteState {
                io: Some(Box::pin(io)),
                backlog: Vec::new(),
                closed: false,
                broken: false,
            }),
        }
    }

    /// Writes one frame, given in pieces, without waiting: at once if
    /// nothing is queued before it and `stopped` is not set, else not at
    /// all. `stopped` is read under the writer's lock, so that once a
    /// connection has set it and written anything after, no offered frame
    /// follows.
    pub fn offer(&self, frame: &[&[u8]], stopped: &AtomicBool) -> Offer {
        let mut state = self.lock();
        if state.closed || !state.backlog.is_empty() || stopped.load(Ordering::Acquire) {
            return Offer::Refused;
        }
        match state.write_now(frame) {
            Some(written) if written == frame.iter().map(|piece| piece.len()).sum::<usize>() => {
                Offer::Written
            }
            Some(written) => {
                state.keep_from(frame, written);
                Offer::Backlogged
            }
            None => Offer::Refused,
        }
    }

    /// Queues one frame, given in pieces, behind whatever is queued, and
    /// writes what the socket takes now. Ignored once closing.
    pub fn push(&self, frame: &[&[u8]]) {
        self.lock().push(frame);
    }

    /// Queues a text frame.
    pub fn push_text(&self, text: &str) {
        let mut header = [0; 10];
        let len = frame::write_header(Opcode::Text, text.len(), &mut header);
        self.push(&[&header[..len], text.as_bytes()]);
    }

    /// Queues a control frame (a ping or a pong).
    pub fn push_control(&self, opcode: Opcode, payload: &[u8]) {
        self.push(&[&frame::encode(opcode, payload)]);
    }

    /// Queues the close frame: the last thing written.
    pub fn push_close(&self, code: u16, reason: &str) {
        let mut state = self.lock();
        state.push(&[&frame::close(code, reason)]);
        state.closed = true;
    }

    /// Whether a write failed: the connection is gone.
    pub fn is_broken(&self) -> bool {
        self.lock().broken
    }

    /// Whether something waits to be flushed.
    pub fn has_backlog(&self) -> bool {
        !self.lock().backlog.is_empty()
    }

    /// Writes the backlog; ready once it is all written. Only the
    /// connection's task calls this: its waker is the one the socket wakes.
    pub fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.lock();
        let WriteState { io, backlog, .. } = &mut *state;
        let Some(io) = io else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        while !backlog.is_empty() {
            match io.as_mut().poll_write(cx, backlog) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    backlog.drain(..n);
                }
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
        // Give the memory of a big backlog back.
        if backlog.capacity() > READ_CHUNK {
            *backlog = Vec::new();
        }
        io.as_mut().poll_flush(cx)
    }

    /// Ends the connection's side: nothing more is written, and the socket
    /// closes once the reading half is gone too.
    pub fn release(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.io = None;
    }

    fn lock(&self) -> MutexGuard<'_, WriteState> {
        // Every critical section leaves the state consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WriteState {
    fn push(&mut self, frame: &[&[u8]]) {
        if self.closed {
            return;
        }
        if self.backlog.is_empty() {
            if let Some(written) = self.write_now(frame) {
                self.keep_from(frame, written);
            }
        } else {
            self.keep_from(frame, 0);
        }
    }

    /// Writes as much of `frame` as the socket takes without waiting; how
    /// much that was, or `None` if the socket failed (it is then closed).
    fn write_now(&mut self, frame: &[&[u8]]) -> Option<usize> {
        let io = self.io.as_mut()?;
        // Nobody waits on this attempt: a socket that is not ready leaves
        // the rest to the connection, whose flush registers its own waker.
        let mut cx = Context::from_waker(Waker::noop());
        if let [whole] = frame {
            // One buffer is one `send`, cheaper in the kernel than `writev`.
            let mut written = 0;
            while written < whole.len() {
                match io.as_mut().poll_write(&mut cx, &whole[written..]) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                        self.closed = true;
                        self.broken = true;
                        return None;
                    }
                    Poll::Ready(Ok(n)) => written += n,
                    Poll::Pending => break,
                }
            }
            return Some(written);
        }
        // A frame comes in a few pieces (header, prefix, payload, suffix):
        // no allocation per write for those.
        let mut few = [IoSlice::new(&[]); 4];
        let mut many = Vec::new();
        let slices = if frame.len() <= few.len() {
            for (slice, piece) in few.iter_mut().zip(frame) {
                *slice = IoSlice::new(piece);
            }
            &mut few[..frame.len()]
        } else {
            many.extend(frame.iter().map(|piece| IoSlice::new(piece)));
            &mut many[..]
        };
        let mut remaining = slices;
        let mut written = 0;
        while !remaining.is_empty() {
            match io.as_mut().poll_write_vectored(&mut cx, remaining) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                    self.closed = true;
                    self.broken = true;
                    return None;
                }
                Poll::Ready(Ok(n)) => {
                    written += n;
                    IoSlice::advance_slices(&mut remaining, n);
                }
                Poll::Pending => break,
            }
        }
        Some(written)
    }

    /// Keeps what follows the first `written` bytes of `frame`.
    fn keep_from(&mut self, frame: &[&[u8]], mut written: usize) {
        for piece in frame {
            let skip = written.min(piece.len());
            self.backlog.extend_from_slice(&piece[skip..]);
            written -= skip;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn stopped() -> AtomicBool {
        AtomicBool::new(false)
    }

    #[tokio::test]
    async fn an_offer_is_written_whole_or_left_to_the_connection() {
        // A pipe that holds 16 bytes before its reader reads.
        let (ours, mut theirs) = tokio::io::duplex(16);
        let writer = Writer::new(ours);
        assert_eq!(
            writer.offer(&[b"0123", b"4567"], &stopped()),
            Offer::Written
        );
        assert_eq!(
            writer.offer(&[b"abcdef", b"ghijklmn"], &stopped()),
            Offer::Backlogged,
            "8 of 14 bytes fit"
        );
        assert!(writer.has_backlog());
        assert_eq!(writer.offer(&[b"x"], &stopped()), Offer::Refused, "busy");
        let mut read = vec![0; 16];
        theirs.read_exact(&mut read).await.unwrap();
        assert_eq!(&read, b"01234567abcdefgh");
        std::future::poll_fn(|cx| writer.poll_flush(cx))
            .await
            .unwrap();
        let mut rest = vec![0; 6];
        theirs.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"ijklmn");
        assert_eq!(
            writer.offer(&[b"z"], &stopped()),
            Offer::Written,
            "idle again"
        );
    }

    #[tokio::test]
    async fn nothing_is_offered_after_a_stop_or_the_close() {
        let (ours, mut theirs) = tokio::io::duplex(1024);
        let writer = Writer::new(ours);
        let flag = stopped();
        flag.store(true, Ordering::Release);
        assert_eq!(writer.offer(&[b"late"], &flag), Offer::Refused);
        writer.push_close(1012, "bye");
        assert_eq!(writer.offer(&[b"late"], &stopped()), Offer::Refused);
        writer.push_text("late");
        writer.release();
        let mut all = Vec::new();
        theirs.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, frame::close(1012, "bye"), "the close, then nothing");
    }

    #[tokio::test]
    async fn a_failed_write_breaks_the_writer() {
        let (ours, theirs) = tokio::io::duplex(16);
        drop(theirs);
        let writer = Writer::new(ours);
        assert!(!writer.is_broken());
        assert_eq!(writer.offer(&[b"x"], &stopped()), Offer::Refused);
        assert!(writer.is_broken());
        assert!(!writer.has_backlog());
    }

    #[tokio::test]
    async fn pushed_frames_queue_behind_the_backlog_in_order() {
        let (ours, mut theirs) = tokio::io::duplex(4);
        let writer = Writer::new(ours);
        writer.push(&[b"abcdef"]);
        writer.push(&[b"gh"]);
        let reading = tokio::spawn(async move {
            let mut all = vec![0; 8];
            theirs.read_exact(&mut all).await.unwrap();
            all
        });
        std::future::poll_fn(|cx| writer.poll_flush(cx))
            .await
            .unwrap();
        assert_eq!(&reading.await.unwrap(), b"abcdefgh");
    }

    #[tokio::test]
    async fn the_reader_reassembles_messages_across_reads_and_gives_its_buffer_back() {
        let (ours, mut theirs) = tokio::io::duplex(1024);
        let (mut reader, _writer) = split(ours, 1 << 20);
        // A masked client text frame, "hello", sent in two writes.
        let key = [1u8, 2, 3, 4];
        let mut frame = vec![0x81, 0x80 | 5];
        frame.extend_from_slice(&key);
        frame.extend(b"hello".iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        use tokio::io::AsyncWriteExt;
        theirs.write_all(&frame[..4]).await.unwrap();
        let first = std::future::poll_fn(|cx| match reader.poll_next(cx) {
            Poll::Pending => Poll::Ready(None),
            ready => ready,
        })
        .await;
        assert!(first.is_none(), "half a frame is not a message");
        theirs.write_all(&frame[4..]).await.unwrap();
        let message = std::future::poll_fn(|cx| reader.poll_next(cx)).await;
        assert_eq!(
            message,
            Some(Ok(Incoming::Text(bytes::Bytes::from_static(b"hello"))))
        );
        assert_eq!(reader.buffer.capacity(), 0);
        drop(theirs);
        assert_eq!(std::future::poll_fn(|cx| reader.poll_next(cx)).await, None);
    }
}
