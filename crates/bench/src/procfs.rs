//! What Linux tells about processes under /proc: the open-files limit
//! checked before a run, the CPU used during each round, and the peak
//! memory reported after it. Elsewhere these are unknown, and the bench
//! says so rather than failing.

use std::time::Duration;

use anyhow::bail;

/// /proc/stat counts in USER_HZ, which the kernel fixes at 100 for
/// userspace whatever its internal tick rate: 10 ms a tick.
const TICK_MS: u64 = 10;

/// Fails early, with a clear message, when `subscribers` sockets cannot be
/// opened: each costs this process one file descriptor (and a spawned
/// server another, under the same inherited limit). The limit cannot be
/// raised from here without libc, so the user raises it with `ulimit -n`.
pub fn check_fd_limit(subscribers: usize) -> anyhow::Result<()> {
    // Headroom for the runtime, the HTTP client, the log and the database.
    const SPARE: usize = 100;
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| soft_open_files(&limits));
    let Some(limit) = limit else {
        eprintln!("warning: could not read the open-files limit from /proc/self/limits");
        return Ok(());
    };
    let needed = subscribers.saturating_add(SPARE);
    if needed > limit {
        bail!(
            "{subscribers} subscribers need about {needed} open files, but the soft limit is \
             {limit}: raise it first (`ulimit -n {needed}`; the hard limit caps it, see \
             /proc/self/limits)"
        );
    }
    Ok(())
}

/// The peak resident memory of a process (`VmHWM`, in bytes), this one's
/// when `pid` is `None`.
pub fn peak_rss_bytes(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    vm_hwm(&std::fs::read_to_string(path).ok()?)
}

/// The resident memory of a process now (`VmRSS`, in bytes).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    status_kib(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmRSS:",
    )
}

/// The anonymous resident memory of a process now (`RssAnon`, in bytes):
/// its own, without the files it maps (a memory-mapped database counts in
/// `VmRSS` but is the OS cache's).
pub fn anon_rss_bytes(pid: u32) -> Option<u64> {
    status_kib(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "RssAnon:",
    )
}

/// CPU time used so far, by this process, the server and the machine.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    bench: Option<Duration>,
    server: Option<Duration>,
    machine: Option<MachineTime>,
}

/// CPU time used between two samples. On a machine the bench shares with
/// the server (and perhaps with builds), this tells whether a slow round
/// was the server's doing. `others` is coarse: /proc/stat counts in 10 ms
/// ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuUse {
    pub bench: Option<Duration>,
    pub server: Option<Duration>,
    /// Every other process, and the kernel's interrupt work charged to no
    /// process; unknown without the server's.
    pub others: Option<Duration>,
    /// Time the hypervisor gave this VM's cores to someone else: a round
    /// with much of it ran on a slower machine.
    pub steal: Option<Duration>,
}

/// Time of all cores from the `cpu` line of /proc/stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MachineTime {
    /// Busy: user, nice, system, irq and softirq (guest time is part of
    /// user).
    busy: Duration,
    /// Stolen by the hypervisor.
    steal: Duration,
}

impl CpuSample {
    /// Samples now; `server` is the spawned server's pid, if any.
    pub fn take(server: Option<u32>) -> Self {
        CpuSample {
            bench: process_cpu("self"),
            server: server.and_then(|pid| process_cpu(&pid.to_string())),
            machine: std::fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|stat| machine_time(&stat)),
        }
    }

    pub fn since(self, earlier: CpuSample) -> CpuUse {
        let delta =
            |now: Option<Duration>, then: Option<Duration>| Some(now?.saturating_sub(then?));
        let bench = delta(self.bench, earlier.bench);
        let server = delta(self.server, earlier.server);
        let busy = delta(
            self.machine.map(|m| m.busy),
            earlier.machine.map(|m| m.busy),
        );
        let steal = delta(
            self.machine.map(|m| m.steal),
            earlier.machine.map(|m| m.steal),
        );
        let others = (|| Some(busy?.saturating_sub(bench?).saturating_sub(server?)))();
        CpuUse {
            bench,
            server,
            others,
            steal,
        }
    }
}

/// The CPU time of a process's threads: the first field of each
/// /proc/PID/task/TID/schedstat, in nanoseconds (exact, unlike the
/// tick-counted /proc/PID/stat).
fn process_cpu(pid: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        // A thread that ended between the listing and the read.
        let Ok(schedstat) = std::fs::read_to_string(task.ok()?.path().join("schedstat")) else {
            continue;
        };
        let nanos: u64 = schedstat.split_whitespace().next()?.parse().ok()?;
        total += Duration::from_nanos(nanos);
    }
    Some(total)
}

fn machine_time(stat: &str) -> Option<MachineTime> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    let sum = |fields: &[usize]| -> Duration {
        let total: u64 = fields
            .iter()
            .map(|&i| ticks.get(i).copied().unwrap_or(0))
            .sum();
        Duration::from_millis(total.saturating_mul(TICK_MS))
    };
    Some(MachineTime {
        busy: sum(&[0, 1, 2, 5, 6]),
        steal: sum(&[7]),
    })
}

/// The soft `Max open files` of a /proc/PID/limits text ("unlimited"
/// counts as no limit).
fn soft_open_files(limits: &str) -> Option<usize> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    if soft == "unlimited" {
        return Some(usize::MAX);
    }
    soft.parse().ok()
}

/// `VmHWM` of a /proc/PID/status text, in bytes.
fn vm_hwm(status: &str) -> Option<u64> {
    status_kib(status, "VmHWM:")
}

/// A `kB` field of a /proc/PID/status text, in bytes.
fn status_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: u64 = line
        .trim_start_matches(field)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units
Max processes             94602                94602                processes
Max open files            20000                524288               files
Max locked memory         8388608              8388608              bytes
";

    #[test]
    fn reads_the_soft_open_files_limit() {
        assert_eq!(soft_open_files(LIMITS), Some(20000));
        let unlimited = LIMITS.replace("20000  ", "unlimited");
        assert_eq!(soft_open_files(&unlimited), Some(usize::MAX));
        assert_eq!(soft_open_files("Limit Soft Hard\n"), None);
    }

    #[test]
    fn reads_the_peak_resident_memory() {
        let status =
            "Name:\tpolitmaster\nVmPeak:\t  400000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(vm_hwm(status), Some(12345 * 1024));
        assert_eq!(vm_hwm("Name:\tx\n"), None);
    }

    #[test]
    fn reads_the_machines_busy_and_stolen_time() {
        let stat = "cpu  100 5 50 9000 20 3 2 7 0 0\ncpu0 50 2 25 4500 10 1 1 0 0 0\n";
        // user + nice + system + irq + softirq, and steal, in 10 ms ticks.
        assert_eq!(
            machine_time(stat),
            Some(MachineTime {
                busy: Duration::from_millis(1600),
                steal: Duration::from_millis(70),
            })
        );
        assert_eq!(machine_time("intr 1 2\n"), None);
    }

    #[test]
    fn this_process_has_a_peak() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes(None).is_some_and(|bytes| bytes > 0));
            assert!(process_cpu("self").is_some_and(|cpu| cpu > Duration::ZERO));
        }
    }
}
