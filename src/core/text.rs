//! Text shown to people: network strings made safe for a terminal, and
//! times as "5s ago" / "in 3m". Used by the terminal UI and the CLI.

use chrono::{DateTime, Utc};

/// Strips control characters (and so the escape sequences they start) from
/// text that came over the network, before it reaches the terminal.
pub fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// "5s ago", "3m ago", "2h ago", "4d ago", or "never".
pub fn ago(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        Some(at) => format!(
            "{} ago",
            short_duration((now - at).num_milliseconds() as f64 / 1000.0)
        ),
        None => "never".to_string(),
    }
}

/// "in 5m" / "5m ago" for a moment that may be past or future.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (at - now).num_milliseconds() as f64 / 1000.0;
    if seconds >= 0.0 {
        format!("in {}", short_duration(seconds))
    } else {
        format!("{} ago", short_duration(-seconds))
    }
}

/// 42s, 3m, 2h5m, 4d3h: the two largest units, rounded down.
pub fn short_duration(seconds: f64) -> String {
    let secs = seconds.max(0.0) as u64;
    let with = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit}{small}{small_unit}")
        }
    };
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => with(secs / 3600, "h", secs % 3600 / 60, "m"),
        _ => with(secs / 86_400, "d", secs % 86_400 / 3600, "h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_survive() {
        assert_eq!(clean("ok\u{1b}[31mred\u{7}\r\n\u{9b}2J"), "ok[31mred2J");
    }
}
