//! `floor`: what the fan-out's traffic costs this machine with no server in
//! the way, the figure to read `fanout` against.
//!
//! N loopback TCP connections; each round, plain threads write one
//! message of `--bytes` to every connection (as many threads as cores: the
//! most a server could use), or, with `--writers tasks`, a tokio task per
//! connection woken through a broadcast channel (a server built like
//! politmaster's). A child process reads them with a tokio task per socket,
//! as the `fanout` subscribers do but without WebSocket, then reports on a
//! control connection. The time runs from just
//! before the first write until the control message arrives. What is left
//! is the kernel's TCP work on both ends, the reader's wake-ups and one
//! extra round trip: no WebSocket framing, no JSON, no GraphQL.
//!
//! The reader is a child process so that each side's sockets count against
//! its own open-files limit, as with `fanout`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, broadcast};

use crate::procfs::{CpuSample, CpuUse, check_fd_limit};
use crate::round::median;

/// The pause before each round, so that rounds do not overlap.
const SETTLE: Duration = Duration::from_millis(300);

/// How long a round may take before the run is given up.
const ROUND_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(clap::Args, Debug)]
pub struct Args {
    /// How many connections to write to.
    #[arg(long)]
    sockets: usize,
    /// How many measured rounds (after one warm-up round).
    #[arg(long, default_value_t = 10)]
    rounds: u32,
    /// The size of each message; a `fanout` result is about 300 bytes.
    #[arg(long, default_value_t = 300)]
    bytes: usize,
    /// Who writes: plain threads (the floor), or a tokio task per
    /// connection woken through a broadcast channel (the floor of a server
    /// built like politmaster's, a task per connection).
    #[arg(long, value_enum, default_value_t = Writers::Threads)]
    writers: Writers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Writers {
    Threads,
    Tasks,
}

/// The reader's side, run by `floor` in a child process.
#[derive(clap::Args, Debug)]
pub struct ReaderArgs {
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long)]
    sockets: usize,
    #[arg(long)]
    bytes: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.sockets == 0 || args.bytes == 0 {
        bail!("--sockets and --bytes must be at least 1");
    }
    check_fd_limit(args.sockets)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut reader = Command::new(std::env::current_exe()?)
        .args(["floor-reader", "--addr", &addr.to_string()])
        .args(["--sockets", &args.sockets.to_string()])
        .args(["--bytes", &args.bytes.to_string()])
        .stdin(Stdio::null())
        .spawn()
        .context("starting the reader process")?;
    let measured = measure(&listener, &args, reader.id());
    let _ = reader.kill();
    let _ = reader.wait();
    let rounds = measured?;
    let writers = match args.writers {
        Writers::Threads => format!("{} writer threads", cores()),
        Writers::Tasks => format!("a tokio task per connection on {} workers", cores()),
    };
    println!(
        "politmaster-bench floor: {} loopback connections, {} bytes each, {writers}",
        args.sockets, args.bytes
    );
    println!("    round       time   cpu writers  cpu reader      steal");
    for (number, round) in rounds.iter().enumerate() {
        let label = if number == 0 {
            "warm-up".to_owned()
        } else {
            number.to_string()
        };
        let cpu =
            |used: Option<Duration>| used.map_or("–".to_owned(), |d| format!("{:.1} ms", ms(d)));
        println!(
            "  {label:>7}  {:6.1} ms  {:>11}  {:>10}  {:>9}",
            ms(round.time),
            cpu(round.cpu.bench),
            cpu(round.cpu.server),
            cpu(round.cpu.steal)
        );
    }
    let mut times: Vec<Duration> = rounds.iter().skip(1).map(|round| round.time).collect();
    times.sort();
    if let (Some(median), Some(min), Some(max)) = (median(&times), times.first(), times.last()) {
        println!(
            "  time until every message was read: {:.1} ms (median of {} rounds; min {:.1} ms, max {:.1} ms)",
            ms(median),
            times.len(),
            ms(*min),
            ms(*max)
        );
    }
    Ok(())
}

/// One round: its time, and the CPU the writing side (this process) and
/// the reader used meanwhile.
struct Round {
    time: Duration,
    cpu: CpuUse,
}

/// Accepts the reader's control connection, then its data connections, and
/// times each round.
fn measure(listener: &TcpListener, args: &Args, reader: u32) -> anyhow::Result<Vec<Round>> {
    let (mut control, _) = listener
        .accept()
        .context("accepting the control connection")?;
    // A reader connection or writer that died would otherwise hang the run.
    control.set_read_timeout(Some(ROUND_TIMEOUT))?;
    let mut sockets = Vec::with_capacity(args.sockets);
    for _ in 0..args.sockets {
        let (socket, _) = listener.accept().context("accepting a connection")?;
        socket.set_nodelay(true)?;
        sockets.push(socket);
    }
    let message: Arc<[u8]> = vec![b'x'; args.bytes].into();
    let mut write_round: Box<dyn FnMut() -> std::io::Result<()>> = match args.writers {
        Writers::Threads => Box::new(move || write_with_threads(&mut sockets, &message)),
        Writers::Tasks => {
            let tasks = Tasks::start(sockets)?;
            Box::new(move || tasks.write(message.clone()))
        }
    };
    let mut rounds = Vec::new();
    for _ in 0..=args.rounds {
        std::thread::sleep(SETTLE);
        let cpu = CpuSample::take(Some(reader));
        let t0 = Instant::now();
        write_round().context("writing a round's messages")?;
        let mut done = [0_u8];
        control
            .read_exact(&mut done)
            .context("the reader stopped")?;
        let mut cpu = CpuSample::take(Some(reader)).since(cpu);
        if args.writers == Writers::Threads {
            // The writer threads have ended, and /proc counts live threads
            // only: their CPU is not in the sample.
            cpu.bench = None;
        }
        rounds.push(Round {
            time: t0.elapsed(),
            cpu,
        });
    }
    Ok(rounds)
}

/// The reader: connects, reads each round's message on every connection,
/// and says so on the control connection once all of them have it.
pub async fn read(args: ReaderArgs) -> anyhow::Result<()> {
    let mut control = tokio::net::TcpStream::connect(args.addr).await?;
    control.set_nodelay(true)?;
    let received = Arc::new(AtomicUsize::new(0));
    let all_in = Arc::new(Notify::new());
    for _ in 0..args.sockets {
        let mut socket = tokio::net::TcpStream::connect(args.addr).await?;
        socket.set_nodelay(true)?;
        let (received, all_in) = (received.clone(), all_in.clone());
        let (bytes, sockets) = (args.bytes, args.sockets);
        tokio::spawn(async move {
            let mut buffer = vec![0; 4096];
            let mut messages = Messages::of(bytes);
            while let Ok(n @ 1..) = socket.read(&mut buffer).await {
                for _ in 0..messages.read(n) {
                    // The last connection of the round to complete a
                    // message ends it. Rounds do not overlap: the next
                    // starts only after this one is reported.
                    if received.fetch_add(1, Ordering::AcqRel) + 1 == sockets {
                        received.store(0, Ordering::Release);
                        all_in.notify_one();
                    }
                }
            }
        });
    }
    let mut closed = [0_u8];
    loop {
        tokio::select! {
            () = all_in.notified() => control.write_all(&[1]).await?,
            // The measuring side never writes: this is its exit (or death).
            _ = control.read(&mut closed) => return Ok(()),
        }
    }
}

/// Whole messages of a fixed size in a byte stream read in chunks.
struct Messages {
    size: usize,
    /// Bytes still missing from the current message.
    missing: usize,
}

impl Messages {
    fn of(size: usize) -> Self {
        Messages {
            size,
            missing: size,
        }
    }

    /// Takes `n` more bytes; returns how many messages they completed.
    fn read(&mut self, mut n: usize) -> usize {
        let mut completed = 0;
        while n >= self.missing {
            n -= self.missing;
            self.missing = self.size;
            completed += 1;
        }
        self.missing -= n;
        completed
    }
}

/// Writes `message` to every socket, from as many threads as cores.
fn write_with_threads(sockets: &mut [TcpStream], message: &[u8]) -> std::io::Result<()> {
    let share = sockets.len().div_ceil(cores()).max(1);
    std::thread::scope(|scope| {
        let writing: Vec<_> = sockets
            .chunks_mut(share)
            .map(|share| {
                scope.spawn(move || share.iter_mut().try_for_each(|s| s.write_all(message)))
            })
            .collect();
        writing.into_iter().try_for_each(|writer| {
            writer
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a writer thread panicked")))
        })
    })
}

/// A tokio task per socket, each woken by a broadcast to write the
/// message it carries.
struct Tasks {
    messages: broadcast::Sender<Arc<[u8]>>,
    _runtime: tokio::runtime::Runtime,
}

impl Tasks {
    fn start(sockets: Vec<TcpStream>) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores())
            .enable_io()
            .build()?;
        let (messages, _) = broadcast::channel::<Arc<[u8]>>(16);
        for socket in sockets {
            socket.set_nonblocking(true)?;
            let mut socket = {
                let _entered = runtime.enter();
                tokio::net::TcpStream::from_std(socket)?
            };
            let mut received = messages.subscribe();
            runtime.spawn(async move {
                while let Ok(message) = received.recv().await {
                    if socket.write_all(&message).await.is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Tasks {
            messages,
            _runtime: runtime,
        })
    }

    /// Wakes every task to write `message`; the writes happen meanwhile.
    fn write(&self, message: Arc<[u8]>) -> std::io::Result<()> {
        self.messages
            .send(message)
            .map(drop)
            .map_err(|_| std::io::Error::other("every writer task ended"))
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_counted_across_chunk_boundaries() {
        let mut messages = Messages::of(300);
        assert_eq!(messages.read(100), 0);
        assert_eq!(messages.read(250), 1, "300 in, 50 over");
        assert_eq!(messages.read(850), 3, "900 in");
        assert_eq!(messages.read(299), 0);
        assert_eq!(messages.read(1), 1);
    }
}
