//! The size limit for product sources: a file over `Rules::size_limit` lines is a problem unless
//! `rules.rs` names it with a reason, and an entry for a file that is gone or back within the limit
//! is stale.

use super::Problem;
use super::rules::{Exception, RULES_FILE};
use super::workspace::SourceFile;

pub(crate) fn check(sources: &[SourceFile], limit: usize, allowed: &[Exception]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for file in sources {
        let lines = file.text.lines().count();
        if lines > limit && !allowed.iter().any(|entry| entry.name == file.path) {
            problems.push(Problem {
                place: file.path.clone(),
                what: format!("{lines} lines, over the {limit}-line limit for product sources"),
                fix: format!(
                    "split it into modules named after what each part does; if it must stay \
                     whole for now, add it with its reason to the oversized files in {RULES_FILE}"
                ),
            });
        }
    }
    for entry in allowed {
        let stale = match sources.iter().find(|file| file.path == entry.name) {
            None => Some("no such product source file".to_owned()),
            Some(file) => {
                let lines = file.text.lines().count();
                (lines <= limit)
                    .then(|| format!("now {lines} lines, within the {limit}-line limit"))
            }
        };
        if let Some(why) = stale {
            problems.push(Problem {
                place: RULES_FILE.to_owned(),
                what: format!(
                    "stale allow-list entry: `{}` may pass the size limit (\"{}\"), but {why}",
                    entry.name, entry.reason
                ),
                fix: format!("remove the entry from the oversized files in {RULES_FILE}"),
            });
        }
    }
    problems
}
