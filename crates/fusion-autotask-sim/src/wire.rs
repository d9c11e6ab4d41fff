//! Response shapes shared by every handler (`{"errors":[…]}`, ASP.NET `{"Message":…}`, the empty 401) and
//! the wire date format (UTC, milliseconds, no `Z` by default).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Canonical stored form of a date-time: `2026-11-27T01:43:57.123` (fixed width, so lexical order is
/// chronological order, which keeps date filters cheap).
pub(crate) fn format_date_time(moment: OffsetDateTime) -> String {
    let moment = moment.to_offset(time::UtcOffset::UTC);
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]");
    moment.format(&format).unwrap_or_default()
}

/// Parses a wire date-time with or without `Z`/offset, with or without fractions; naive values are UTC.
pub(crate) fn parse_date_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(moment) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(moment.to_offset(time::UtcOffset::UTC));
    }
    let naive = text.trim_end_matches('Z');
    let with_fraction =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    let without_fraction = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let date_only = format_description!("[year]-[month]-[day]");
    if let Ok(moment) = time::PrimitiveDateTime::parse(naive, &with_fraction) {
        return Some(moment.assume_utc());
    }
    if let Ok(moment) = time::PrimitiveDateTime::parse(naive, &without_fraction) {
        return Some(moment.assume_utc());
    }
    if let Ok(date) = time::Date::parse(naive, &date_only) {
        return Some(date.midnight().assume_utc());
    }
    None
}

/// Normalises a date-time text to the canonical stored form, if it parses.
pub(crate) fn canonical_date_time(text: &str) -> Option<String> {
    if is_canonical(text) {
        return Some(text.to_owned());
    }
    parse_date_time(text).map(format_date_time)
}

/// `YYYY-MM-DDTHH:MM:SS.mmm` exactly (the common case for seeds and clients echoing our values).
fn is_canonical(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 23
        && bytes
            .iter()
            .enumerate()
            .all(|(position, byte)| match position {
                4 | 7 => *byte == b'-',
                10 => *byte == b'T',
                13 | 16 => *byte == b':',
                19 => *byte == b'.',
                _ => byte.is_ascii_digit(),
            })
        && text
            .get(5..7)
            .is_some_and(|month| ("01"..="12").contains(&month))
        && text
            .get(8..10)
            .is_some_and(|day| ("01"..="31").contains(&day))
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    json_text_response(status, body.to_string())
}

pub(crate) fn json_text_response(status: StatusCode, text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// The vendor's business/validation error shape.
pub(crate) fn errors_response(status: StatusCode, messages: &[String]) -> Response {
    json_response(status, &json!({ "errors": messages }))
}

pub(crate) fn error_response(status: StatusCode, message: &str) -> Response {
    errors_response(status, &[message.to_owned()])
}

/// ASP.NET framework error shape (404 / 405).
pub(crate) fn message_response(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "Message": message }))
}

pub(crate) fn no_route(uri: &str) -> Response {
    message_response(
        StatusCode::NOT_FOUND,
        &format!("No HTTP resource was found that matches the request URI '{uri}'."),
    )
}

pub(crate) fn method_not_allowed(method: &str) -> Response {
    message_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("The requested resource does not support http method '{method}'."),
    )
}

/// 2026 behaviour for every authentication failure: 401, empty body, a Basic realm naming the zone host.
pub(crate) fn unauthorized(host: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    if let Ok(value) = HeaderValue::from_str(&format!("Basic Realm=\"{host}\"")) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

pub(crate) fn status_from_code(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_with_and_without_zone_and_format_without_z() {
        let with_z = parse_date_time("2026-11-27T01:43:57.123Z").expect("with Z");
        let without = parse_date_time("2026-11-27T01:43:57.123").expect("without Z");
        assert_eq!(with_z, without);
        assert_eq!(format_date_time(with_z), "2026-11-27T01:43:57.123");
        assert_eq!(
            canonical_date_time("2026-11-27").as_deref(),
            Some("2026-11-27T00:00:00.000")
        );
    }
}
