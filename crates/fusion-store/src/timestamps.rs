//! The store's notion of "now" and of timestamp precision.
//!
//! Both backends keep timestamps in UTC to the microsecond (PostgreSQL's `TIMESTAMPTZ`
//! resolution), so every timestamp is cut to microseconds before it is written: a value read back
//! equals the value written on either backend.

use time::{OffsetDateTime, UtcOffset};

/// The current time in UTC at storage precision.
pub(crate) fn now() -> OffsetDateTime {
    to_storage_precision(OffsetDateTime::now_utc())
}

/// `timestamp` in UTC with its nanoseconds cut to whole microseconds.
pub(crate) fn to_storage_precision(timestamp: OffsetDateTime) -> OffsetDateTime {
    let utc = timestamp.to_offset(UtcOffset::UTC);
    let whole_microseconds = utc.nanosecond() / 1_000 * 1_000;
    utc.replace_nanosecond(whole_microseconds).unwrap_or(utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_are_cut_to_microseconds_in_utc() {
        let local = datetime!(2026-11-27 03:43:57.123456789 +02:00);
        assert_eq!(
            to_storage_precision(local),
            datetime!(2026-11-27 01:43:57.123456 UTC)
        );
    }
}
