//! A shutdown signal every task can wait on: Ctrl-C, SIGTERM, or a trigger
//! (tests, and the demo's `--once`).

use tokio::sync::watch;

#[derive(Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

#[derive(Clone)]
pub struct ShutdownTrigger {
    sender: std::sync::Arc<watch::Sender<bool>>,
}

pub fn shutdown_pair() -> (ShutdownTrigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (ShutdownTrigger { sender: std::sync::Arc::new(sender) }, Shutdown { receiver })
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        let _ = self.sender.send(true);
    }

    /// Triggers on the first Ctrl-C or SIGTERM.
    pub async fn trigger_on_signals(self) {
        wait_for_signal().await;
        eprintln!("shutting down: finishing in-flight batches");
        self.trigger();
    }
}

impl Shutdown {
    pub fn is_triggered(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves once shutdown is triggered (or its trigger is dropped).
    pub async fn wait(&mut self) {
        let _ = self.receiver.wait_for(|stop| *stop).await;
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_trigger() {
        let (trigger, shutdown) = shutdown_pair();
        let mut a = shutdown.clone();
        let waiter = tokio::spawn(async move { a.wait().await });
        assert!(!shutdown.is_triggered());
        trigger.trigger();
        waiter.await.unwrap();
        assert!(shutdown.is_triggered());
    }
}
