//! Reads made on behalf of background work — indicators computed for an
//! audience other than policy — are marked with a task-local flag, so that
//! a store can give them less of the server than everyone else's reads:
//! ClickHouse runs them at a lower query priority (paused while a
//! foreground query runs) on one thread. The flag travels with the task,
//! not through every signature.

use std::future::Future;

tokio::task_local! {
    static BACKGROUND: ();
}

/// Runs `work` with its store reads marked as background.
pub async fn scope<F: Future>(work: F) -> F::Output {
    BACKGROUND.scope((), work).await
}

/// Whether the current task's reads are background reads.
pub fn active() -> bool {
    BACKGROUND.try_with(|_| ()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_flag_holds_inside_the_scope_only() {
        assert!(!active());
        assert!(scope(async { active() }).await);
        assert!(!active());
    }
}
