//! What a process has used so far, from Linux's `/proc`.

/// Clock ticks per second of `/proc/PID/stat`'s times (`getconf CLK_TCK`; 100 on Linux everywhere).
const TICKS_PER_SECOND: f64 = 100.0;

/// The CPU time (user and system, all threads) `pid` has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command's name, in parentheses, may hold spaces: the fields start after its last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / TICKS_PER_SECOND)
}

/// The memory `pid` holds now (its resident set), in bytes.
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu_and_holds_some_memory() {
        let pid = std::process::id();
        let spin: u64 = (0..5_000_000u64).fold(0, |sum, n| sum.wrapping_add(n * n));
        assert!(spin > 0);
        assert!(cpu_seconds(pid).is_some_and(|seconds| seconds >= 0.0));
        assert!(resident_bytes(pid).is_some_and(|bytes| bytes > 1024 * 1024));
    }
}
