//! What `cargo xtask tidy` enforces beyond the crate graph, and every exception to it, each with its
//! reason. This is the one allow-list: an entry that no longer matches anything is reported as
//! stale, so remove entries when their reason goes away.

/// The rules `tidy` checks. `RULES` is the project's; tests build their own.
#[derive(Debug)]
pub(crate) struct Rules {
    /// Dependencies that belong to one crate, with the crates excused from it.
    pub(crate) confinements: &'static [Confinement],
    /// Most lines a product source file (`crates/*/src/**/*.rs`) may have.
    pub(crate) size_limit: usize,
    /// Product source files allowed over `size_limit`, by path from the project root.
    pub(crate) oversized_files: &'static [Exception],
}

/// A dependency only `owner` may use: neither in another crate's `[dependencies]` nor as
/// `dependency::` in another crate's sources (dev-dependencies and `tests/` are not checked).
#[derive(Debug)]
pub(crate) struct Confinement {
    pub(crate) dependency: &'static str,
    pub(crate) owner: &'static str,
    /// The architecture invariant it protects, quoted in every message.
    pub(crate) invariant: &'static str,
    /// Other crates that may use it anyway, by crate name.
    pub(crate) allowed: &'static [Exception],
}

/// One allow-list entry: what is excused and why.
#[derive(Debug)]
pub(crate) struct Exception {
    pub(crate) name: &'static str,
    pub(crate) reason: &'static str,
}

/// Where these tables live, named in messages that ask for an entry to be added or removed.
pub(crate) const RULES_FILE: &str = "xtask/src/tidy/rules.rs";

pub(crate) const RULES: Rules = Rules {
    confinements: &[
        Confinement {
            dependency: "sqlx",
            owner: "fusion-store",
            invariant: "no SQL leaves `fusion-store`",
            // The binary uses sqlx only in its tests (dev-dependency); its `main` merely mentions
            // sqlx in a comment about the rustls provider, which is installed through rustls.
            allowed: &[],
        },
        Confinement {
            dependency: "reqwest",
            owner: "fusion-autotask",
            invariant: "only the Autotask adapter makes HTTP calls",
            allowed: &[
                Exception {
                    name: "fusion-autotask-sim",
                    reason: "the simulator delivers webhook callouts to subscribers' URLs, as \
                             Autotask does (`webhooks/delivery.rs`); it shares no code with the \
                             adapter on purpose",
                },
                Exception {
                    name: "fusion-notify",
                    reason: "the notification adapter posts organisations' outgoing webhooks \
                             (`webhook.rs`), behind its own SSRF guard; it is an adapter of the \
                             core's `NotificationChannels` port, not of a platform",
                },
            ],
        },
    ],
    // The product's files tail off below 1,000 lines (the largest within the limit is the planner,
    // 973, whose tests already live in `planner_tests.rs`); the few files above it each mix several
    // responsibilities, so 1,000 is where a file should be split by what its parts do.
    size_limit: 1_000,
    oversized_files: &[],
};
