//! The loom runner the models share: every interleaving of `f`, up to a preemption
//! bound (`default_bound` unless `LOOM_MAX_PREEMPTIONS` says otherwise), reporting how
//! many interleavings were explored.

/// Checks `f` under loom; see the module docs.
pub(crate) fn model<F: Fn() + Sync + Send + 'static>(default_bound: usize, f: F) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(default_bound);
    }
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    builder.check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    eprintln!(
        "explored {} interleavings",
        runs.load(std::sync::atomic::Ordering::Relaxed)
    );
}
