//! Peak resident memory of this process, from the OS.

/// Peak resident set size in KiB (`VmHWM` of `/proc/self/status`); `None` off Linux.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
