//! Retrying retryable failures with exponential backoff.
//!
//! Reads are retried on any [`AutotaskError::is_retryable`] failure. Writes (creates, patches)
//! are only retried when Autotask certainly did not process them
//! ([`AutotaskError::write_was_not_processed`]): a create retried after a timeout could make a
//! duplicate ticket, which the engine resolves by looking up the create marker instead.

use std::future::Future;

use crate::error::AutotaskError;
use crate::settings::RetryPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    Read,
    Write,
}

pub(crate) async fn with_retries<T, F, Fut>(
    policy: RetryPolicy,
    idempotency: Idempotency,
    mut attempt: F,
) -> Result<T, AutotaskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AutotaskError>>,
{
    let mut delay = policy.initial_delay;
    let mut attempts_made = 0;
    loop {
        attempts_made += 1;
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let may_retry = match idempotency {
            Idempotency::Read => error.is_retryable(),
            Idempotency::Write => error.write_was_not_processed(),
        };
        if !may_retry || attempts_made >= policy.max_attempts.max(1) {
            return Err(error);
        }
        tracing::debug!(
            error_kind = error.kind_name(),
            attempt = attempts_made,
            delay_ms = delay.as_millis() as u64,
            "retrying Autotask request"
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(policy.max_delay);
    }
}
