//! What the benchmark reads about its own process: resident memory (current and peak) and CPU
//! time, from Linux's `/proc/self`. Elsewhere every reading is `None` and reported as null.
//!
//! The peak (`VmHWM`) is reset before each measured phase by writing `5` to
//! `/proc/self/clear_refs`, so each phase reports its own peak, not an earlier phase's.

use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/self/stat` (`USER_HZ`, 100 on every Linux ABI in use).
const USER_HZ: f64 = 100.0;

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Resident memory now, in MiB.
pub fn rss_mb() -> Option<f64> {
    status_kib("VmRSS").map(mib)
}

/// Peak resident memory since start or since the last [`reset_peak_rss`], in MiB.
pub fn peak_rss_mb() -> Option<f64> {
    status_kib("VmHWM").map(mib)
}

/// Starts a new peak. Ignored where the kernel does not allow it (the peak then covers more).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// User + system CPU time of the whole process (every thread).
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; fields after its closing ')' are plain.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, so 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) / USER_HZ))
}

/// Wall time and CPU time of one measured stretch.
#[derive(Debug)]
pub struct Stopwatch {
    started: Instant,
    cpu_at_start: Option<Duration>,
}

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch {
            started: Instant::now(),
            cpu_at_start: cpu_time(),
        }
    }

    pub fn wall(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn cpu(&self) -> Option<Duration> {
        Some(cpu_time()?.saturating_sub(self.cpu_at_start?))
    }
}

/// The machine, for the report: cores and CPU model.
pub fn machine() -> (usize, String) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".to_owned());
    (cores, model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_plausible_on_linux() {
        if !std::path::Path::new("/proc/self/status").exists() {
            return;
        }
        let rss = rss_mb().expect("VmRSS is readable");
        assert!(rss > 0.0);
        assert!(peak_rss_mb().expect("VmHWM is readable") >= rss * 0.5);
        assert!(cpu_time().is_some());
    }
}
